// Preloaded (NODE_OPTIONS --require, set by cli/stack.ts) into the node that Pulumi's language host
// starts for the program, before Pulumi's own entry script runs. Two things make that start 0.5 s
// shorter on 2 cores:
//  - ts-node off. The program is JavaScript (Pulumi.yaml: typescript: false), but the language host
//    built here (see ../shared/TOOLCHAIN-NOTES.md) never receives that option from the newer CLI, so
//    it sets PULUMI_NODEJS_TYPESCRIPT=true and the entry script loads the TypeScript compiler and
//    registers ts-node for nothing.
//  - The TypeScript compiler deferred (deferred-modules.js).
"use strict";
process.env.PULUMI_NODEJS_TYPESCRIPT = "false";
require("./deferred-modules").deferTypeScript();
