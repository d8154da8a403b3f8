// Pulumi's entry point for this project (Pulumi.yaml `main`): index.ts and components/, compiled once
// per content of their sources (compiled-entry.js), so Pulumi itself loads no TypeScript.
"use strict";
const { root, runCompiled } = require("./compiled-entry");

// Pulumi starts a `main` in that file's directory; the program reads the project's files (the app
// description, production's manifests) from the working directory, the project's as with index.ts.
process.chdir(root);
// The program's exports are the stack's outputs: Pulumi reads them from this, its main module.
module.exports = runCompiled("index.ts", ["index.ts", "components"]);
