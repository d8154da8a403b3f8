// Preloaded (NODE_OPTIONS --require, set by cli/stack.ts) into the node that Pulumi's language host
// starts for the program, before Pulumi's own entry script runs. Three things make a run 0.9 s
// shorter on 2 cores:
//  - ts-node off. The program is JavaScript (Pulumi.yaml: typescript: false), but the language host
//    built here (v3.68.0, the newest the Go module proxy serves: local/parts/pulumi.sh) never receives
//    that option from the newer CLI, so it sets PULUMI_NODEJS_TYPESCRIPT=true and the entry script
//    loads the TypeScript compiler and registers ts-node for nothing.
//  - The function serializer's TypeScript compiler and npm arborist deferred, and no
//    source-map-support (deferred-modules.js).
"use strict";
const { deferFunctionSerializer, skipSourceMapSupport } = require("./deferred-modules");

process.env.PULUMI_NODEJS_TYPESCRIPT = "false";
deferFunctionSerializer();
skipSourceMapSupport();
