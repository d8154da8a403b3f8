#!/usr/bin/env node
// The `prod-mirror` command: runs cli/main.ts through ts-node, transpile-only (with swc, set in
// tsconfig.json), so there is no build step between a change and its use; `npm run typecheck`
// is where the types are checked.
"use strict";
const path = require("path");
require("ts-node").register({ project: path.join(__dirname, "..", "tsconfig.json"), transpileOnly: true });
require("../cli/main.ts");
