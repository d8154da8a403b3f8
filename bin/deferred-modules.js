// Modules of the Pulumi SDK that a process loads at start and never uses, deferred to their first
// use: a require of them returns a stand-in that loads the real module the first time anything of it
// is asked for. Nothing changes but when the module loads.
//  - The CLI (bin/prod-mirror.js): the automation API's stack.js requires "../runtime" at load time,
//    which pulls in the function serializer (the TypeScript compiler, npm's arborist, sigstore): about
//    0.45 s of every command on 2 cores. stack.js uses the runtime only for inline programs, and the
//    CLI runs programs with the `pulumi` binary.
//  - The program (bin/program-preload.js): the runtime's function serializer requires the TypeScript
//    compiler and npm's arborist (0.35 s); the program serializes no function. And one module is
//    left out altogether: see skipSourceMapSupport.
"use strict";
const Module = require("module");

/**
 * A stand-in for a module that loads it (with `load`) the first time anything of it is asked for.
 * `namedOnly`: the stand-in says it is an ES module, so that TypeScript's `__importStar` hands it
 * over as it is rather than copying every key of it (which would load it); right only for a
 * consumer that reads the module's named exports and never its `default`.
 */
function deferredModule(load, namedOnly = false) {
    let real;
    const module = () => (real ??= load());
    // Every trap answers from the real module; descriptors are reported configurable, as a proxy of
    // an empty target must (the real module's own properties stay what they are).
    return new Proxy(Object.create(null), {
        get: (_target, key) => (namedOnly && key === "__esModule" ? true : module()[key]),
        has: (_target, key) => key in module(),
        ownKeys: () => Reflect.ownKeys(module()),
        getOwnPropertyDescriptor: (_target, key) => {
            const descriptor = Reflect.getOwnPropertyDescriptor(module(), key);
            return descriptor === undefined ? undefined : { ...descriptor, configurable: true };
        },
    });
}

/**
 * From now on, `require(request)` from a module whose file matches `parentFile` returns
 * `standIn(load)`, where `load()` would load the real module.
 */
function replaceRequire(request, parentFile, standIn) {
    const load = Module._load;
    Module._load = function (wanted, parent, isMain) {
        if (wanted === request && parent !== undefined && parent !== null && parentFile.test(parent.filename ?? "")) {
            return standIn(() => load.call(Module, wanted, parent, isMain));
        }
        return load.apply(this, arguments);
    };
}

/** From now on, `require(request)` from a module whose file matches `parentFile` returns a deferredModule. */
function deferRequire(request, parentFile, namedOnly = false) {
    replaceRequire(request, parentFile, (load) => deferredModule(load, namedOnly));
}

/** For the CLI: the automation API without the runtime behind it until an inline program needs it. */
function deferPulumiRuntime() {
    deferRequire("../runtime", /[\\/]@pulumi[\\/]pulumi[\\/]automation[\\/]stack\.js$/);
}

/**
 * For the program: what only serializing a function needs, loaded when a function is serialized:
 * the TypeScript compiler (0.2 s), and npm's arborist with its dependencies (0.15 s), which the
 * serializer's code-path search reads as `arborist.Arborist` alone.
 */
function deferFunctionSerializer() {
    deferRequire("typescript", /[\\/]@pulumi[\\/]pulumi[\\/]typescript-shim\.js$/);
    deferRequire("@npmcli/arborist", /[\\/]@pulumi[\\/]pulumi[\\/]runtime[\\/]closure[\\/]codePaths\.js$/, true);
}

/**
 * For the program: Pulumi's entry script (cmd/run) installs source-map-support, and the SDK reads
 * `new Error().stack` at every resource's construction (its source position), which
 * source-map-support then maps frame by frame through the source maps of the SDK's own files: 0.2 s
 * of every run here. The program itself is compiled without source maps (compiled-entry.js), so all
 * that is lost is the SDK's frames in a stack trace naming its .js lines rather than its .ts ones.
 */
function skipSourceMapSupport() {
    replaceRequire("source-map-support/register", /[\\/]@pulumi[\\/]pulumi[\\/]cmd[\\/]run[\\/]index\.js$/, () => ({}));
}

module.exports = { deferFunctionSerializer, deferPulumiRuntime, deferredModule, skipSourceMapSupport };
