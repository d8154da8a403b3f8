// Runs a TypeScript entry point of this project compiled to JavaScript: with the swc that ts-node
// uses and the same options, once per content of its sources, into
// node_modules/.cache/prod-mirror-compiled/<hash>/. A start then loads neither the TypeScript
// compiler nor ts-node, nor transpiles each file again (0.3-0.5 s per `pulumi` run or CLI command on
// 2 cores). The hash covers every byte of every source, so a changed file is always compiled anew:
// a stale build never runs. Where that cache cannot be written, the entry runs through ts-node.
// Used by bin/pulumi-program.js (the program) and bin/prod-mirror.js (the CLI).
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
// PROD_MIRROR_COMPILED_CACHE: another place, for the tests of this file.
const CACHE = process.env.PROD_MIRROR_COMPILED_CACHE || path.join(root, "node_modules", ".cache", "prod-mirror-compiled");
/** Builds kept besides the newest: other branches' checkouts share node_modules. */
const KEEP = 8;

/** swc's options as ts-node derives them from tsconfig.json (ES2022, CommonJS, esModuleInterop, strict). */
const SWC_OPTIONS = {
    swcrc: false,
    sourceMaps: false,
    module: { type: "commonjs", noInterop: false, strictMode: true, ignoreDynamic: false },
    jsc: {
        parser: { syntax: "typescript", tsx: false, dynamicImport: true },
        target: "es2022",
        keepClassNames: true,
        transform: { useDefineForClassFields: true },
    },
};

/** The files under `sources` (files or directories, relative to the project), tests and declarations left out. */
function sourceFiles(sources) {
    const files = [];
    const walk = (relative) => {
        const stat = fs.statSync(path.join(root, relative));
        if (!stat.isDirectory()) {
            files.push(relative);
            return;
        }
        for (const name of fs.readdirSync(path.join(root, relative)).sort()) {
            if (!name.endsWith(".test.ts") && !name.endsWith(".d.ts")) {
                walk(path.join(relative, name));
            }
        }
    };
    sources.forEach(walk);
    return files;
}

/** The cache key: swc's version, the options and every file's path and bytes. */
function buildKey(files) {
    const hash = crypto.createHash("sha256").update(`${require("@swc/core/package.json").version}\0${JSON.stringify(SWC_OPTIONS)}\0`);
    for (const file of files) {
        hash.update(`${file}\0`).update(fs.readFileSync(path.join(root, file))).update("\0");
    }
    return hash.digest("hex").slice(0, 32);
}

/** Compiles into a private directory, then renames it into place: a reader never sees half a build. */
function compile(files, dir) {
    const swc = require("@swc/core");
    const staging = `${dir}.${process.pid}.${crypto.randomBytes(4).toString("hex")}`;
    try {
        for (const file of files) {
            const source = path.join(root, file);
            const target = path.join(staging, file.replace(/\.ts$/, ".js"));
            fs.mkdirSync(path.dirname(target), { recursive: true });
            if (file.endsWith(".ts")) {
                fs.writeFileSync(target, swc.transformSync(fs.readFileSync(source, "utf8"), { ...SWC_OPTIONS, filename: source }).code);
            } else {
                // Files the code reads beside its own (the emulator's creation script).
                fs.copyFileSync(source, target);
            }
        }
        fs.renameSync(staging, dir);
    } catch (err) {
        fs.rmSync(staging, { recursive: true, force: true });
        // Another run compiled the same sources first: use theirs.
        if (!fs.existsSync(dir)) {
            throw err;
        }
    }
    prune(dir);
}

/** Removes all but the KEEP newest builds, never one used in the last hour. */
function prune(current) {
    const hourAgo = Date.now() - 3_600_000;
    const builds = fs.readdirSync(CACHE)
        .filter((name) => /^[0-9a-f]{32}$/.test(name))
        .map((name) => path.join(CACHE, name))
        .filter((p) => p !== current)
        .map((p) => ({ p, mtime: fs.statSync(p).mtimeMs }))
        .sort((a, b) => b.mtime - a.mtime);
    for (const { p, mtime } of builds.slice(KEEP)) {
        if (mtime < hourAgo) {
            fs.rmSync(p, { recursive: true, force: true });
        }
    }
}

/** The build of `sources` (its directory), or undefined where none can be made (a read-only checkout). */
function build(sources) {
    const files = sourceFiles(sources);
    const dir = path.join(CACHE, buildKey(files));
    if (fs.existsSync(dir)) {
        try {
            // Marks it used, for prune.
            const now = new Date();
            fs.utimesSync(dir, now, now);
        } catch {
            // A read-only cache still runs.
        }
        return dir;
    }
    try {
        fs.mkdirSync(CACHE, { recursive: true });
        fs.accessSync(CACHE, fs.constants.W_OK);
    } catch {
        return undefined;
    }
    compile(files, dir);
    return dir;
}

/**
 * Loads `entry` (a .ts file, relative to the project) from the build of `sources`, which must hold
 * it, and returns its exports; through ts-node where no build can be made.
 */
function runCompiled(entry, sources) {
    const dir = build(sources);
    if (dir === undefined) {
        require("ts-node").register({ project: path.join(root, "tsconfig.json"), transpileOnly: true });
        return require(path.join(root, entry));
    }
    return require(path.join(dir, entry.replace(/\.ts$/, ".js")));
}

module.exports = { runCompiled, root };
