// Defers the Pulumi SDK's runtime for the CLI. The automation API's stack.js requires "../runtime" at
// load time, and that pulls in the function serializer: the TypeScript compiler, npm's arborist and
// sigstore, about 0.45 s of every `prod-mirror` command on 2 cores. The CLI runs programs with the
// `pulumi` binary (a local program), so stack.js touches the runtime only for inline programs, which
// it never starts: that one require gets a stand-in that loads the real module on first use.
"use strict";
const Module = require("module");

const STACK_MODULE = /[\\/]@pulumi[\\/]pulumi[\\/]automation[\\/]stack\.js$/;

/** A stand-in for a module that loads it (with `load`) the first time anything of it is asked for. */
function deferredModule(load) {
    let real;
    const module = () => (real ??= load());
    // Every trap answers from the real module; descriptors are reported configurable, as a proxy of
    // an empty target must (the real module's own properties stay what they are).
    return new Proxy(Object.create(null), {
        get: (_target, key) => module()[key],
        has: (_target, key) => key in module(),
        ownKeys: () => Reflect.ownKeys(module()),
        getOwnPropertyDescriptor: (_target, key) => {
            const descriptor = Reflect.getOwnPropertyDescriptor(module(), key);
            return descriptor === undefined ? undefined : { ...descriptor, configurable: true };
        },
    });
}

/** From now on, automation/stack.js's require of "../runtime" returns a deferredModule of it. */
function deferPulumiRuntime() {
    const load = Module._load;
    Module._load = function (request, parent, isMain) {
        if (request === "../runtime" && parent !== undefined && parent !== null && STACK_MODULE.test(parent.filename ?? "")) {
            return deferredModule(() => load.call(Module, request, parent, isMain));
        }
        return load.apply(this, arguments);
    };
}

module.exports = { deferPulumiRuntime, deferredModule };
