// Pulumi's entry point for this project (Pulumi.yaml `main`): runs index.ts compiled to JavaScript.
// Compiled once per content of the program's sources (index.ts, components/), with the swc that
// ts-node uses and the same options, into node_modules/.cache/prod-mirror-program/<hash>/: every
// `pulumi up`, `preview` and `destroy` then starts without loading the TypeScript compiler and
// ts-node and transpiling each file again (0.5 s of each run on 2 cores). The hash covers every
// byte of every source, so a changed file is always compiled anew: a stale program never runs.
// Where that cache cannot be written, the program runs through ts-node as before.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
// PROD_MIRROR_PROGRAM_CACHE: another place, for the tests of this file.
const CACHE = process.env.PROD_MIRROR_PROGRAM_CACHE || path.join(root, "node_modules", ".cache", "prod-mirror-program");
/** Compiled programs kept besides the newest: other branches' checkouts share node_modules. */
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

/** The program's files, relative to the project: index.ts and everything under components/ but tests. */
function programFiles() {
    const files = ["index.ts"];
    const walk = (dir) => {
        for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
            const relative = path.join(dir, entry.name);
            if (entry.isDirectory()) {
                walk(relative);
            } else if (!entry.name.endsWith(".test.ts") && !entry.name.endsWith(".d.ts")) {
                files.push(relative);
            }
        }
    };
    walk("components");
    return files;
}

/** The cache key: swc's version, the options and every file's path and bytes. */
function programKey(swcVersion, files) {
    const hash = crypto.createHash("sha256").update(`${swcVersion}\0${JSON.stringify(SWC_OPTIONS)}\0`);
    for (const file of files) {
        hash.update(`${file}\0`).update(fs.readFileSync(path.join(root, file))).update("\0");
    }
    return hash.digest("hex").slice(0, 32);
}

/** Compiles into a private directory, then renames it into place: a reader never sees half a program. */
function compile(swc, files, dir) {
    const staging = `${dir}.${process.pid}.${crypto.randomBytes(4).toString("hex")}`;
    try {
        for (const file of files) {
            const source = path.join(root, file);
            const target = path.join(staging, file.endsWith(".ts") ? file.replace(/\.ts$/, ".js") : file);
            fs.mkdirSync(path.dirname(target), { recursive: true });
            if (file.endsWith(".ts")) {
                fs.writeFileSync(target, swc.transformSync(fs.readFileSync(source, "utf8"), { ...SWC_OPTIONS, filename: source }).code);
            } else {
                // Files the program reads beside its own (the emulator's creation script).
                fs.copyFileSync(source, target);
            }
        }
        fs.renameSync(staging, dir);
    } catch (err) {
        fs.rmSync(staging, { recursive: true, force: true });
        // Another run compiled the same program first: use theirs.
        if (!fs.existsSync(path.join(dir, "index.js"))) {
            throw err;
        }
    }
    prune(dir);
}

/** Removes all but the KEEP newest compiled programs, never one used in the last hour. */
function prune(current) {
    const hourAgo = Date.now() - 3_600_000;
    const entries = fs.readdirSync(CACHE)
        .map((name) => path.join(CACHE, name))
        .filter((p) => p !== current && /^[0-9a-f]{32}$/.test(path.basename(p)))
        .map((p) => ({ p, mtime: fs.statSync(p).mtimeMs }))
        .sort((a, b) => b.mtime - a.mtime);
    for (const { p, mtime } of entries.slice(KEEP)) {
        if (mtime < hourAgo) {
            fs.rmSync(p, { recursive: true, force: true });
        }
    }
}

/** The compiled program's index.js, or undefined where it cannot be made (a read-only checkout). */
function compiledProgram() {
    const swc = require("@swc/core");
    const files = programFiles();
    const dir = path.join(CACHE, programKey(require("@swc/core/package.json").version, files));
    const index = path.join(dir, "index.js");
    if (fs.existsSync(index)) {
        try {
            // Marks it used, for prune.
            const now = new Date();
            fs.utimesSync(dir, now, now);
        } catch {
            // A read-only cache still runs.
        }
        return index;
    }
    try {
        fs.mkdirSync(CACHE, { recursive: true });
        fs.accessSync(CACHE, fs.constants.W_OK);
    } catch {
        return undefined;
    }
    compile(swc, files, dir);
    return index;
}

// Pulumi starts a `main` in that file's directory; the program reads the project's files (the app
// description, production's manifests) from the working directory, the project's as with index.ts.
process.chdir(root);
// The program's exports are the stack's outputs: Pulumi reads them from this, its main module.
const program = compiledProgram();
if (program === undefined) {
    require("ts-node").register({ project: path.join(root, "tsconfig.json"), transpileOnly: true });
    module.exports = require(path.join(root, "index.ts"));
} else {
    module.exports = require(program);
}
