#!/usr/bin/env node
// The `prod-mirror` command: cli/main.ts, compiled once per content of cli/ and components/
// (compiled-entry.js), so there is no build step between a change and its use, and no TypeScript
// compiler at each start; `npm run typecheck` is where the types are checked.
"use strict";
const { root, runCompiled } = require("./compiled-entry");
const { deferPulumiRuntime } = require("./deferred-modules");

deferPulumiRuntime();

// A compiled copy runs from the cache: it learns the project's directory from here (cli/local-environment.ts).
process.env.PROD_MIRROR_PROJECT_DIR = root;
runCompiled("cli/main.ts", ["cli", "components"]);
