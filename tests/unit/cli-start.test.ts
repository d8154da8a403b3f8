import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { repoRoot } from "../../cli/local-environment";

import { programNodeOptions } from "../../cli/stack";

// What every `prod-mirror` command loads before it does anything: the automation API without the
// Pulumi runtime behind it, no TypeScript compiler, no AWS SDK; and what the program's node loads
// with bin/program-preload.js (bin/deferred-modules.js).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { deferredModule } = require("../../bin/deferred-modules") as { deferredModule: <T extends object>(load: () => T) => T };

describe("the CLI's and the program's start (bin/deferred-modules.js)", function () {
    this.timeout(60_000);

    it("loads nothing of a deferred module until something of it is asked for, then answers as the module does", () => {
        let loads = 0;
        const real = { channel: { "grpc.max_receive_message_length": 4 }, run: (x: number) => x * 2 };
        const stand = deferredModule(() => {
            loads += 1;
            return real;
        });
        assert.strictEqual(loads, 0);
        assert.deepStrictEqual({ ...stand.channel }, real.channel);
        assert.strictEqual(stand.run(21), 42);
        assert.ok("run" in stand && !("other" in stand));
        assert.deepStrictEqual(Object.keys(stand).sort(), ["channel", "run"]);
        assert.deepStrictEqual({ ...stand }, real);
        assert.strictEqual(loads, 1);
    });

    /** The modules a fresh `node <args>` has loaded, those under node_modules as package-relative paths. */
    function loadedAfter(args: string[], cwd = repoRoot, extraEnv: NodeJS.ProcessEnv = {}): string[] {
                const out = fs.mkdtempSync(path.join(os.tmpdir(), "pm-cli-start-"));
        try {
            const file = path.join(out, "loaded.json");
            const preload = path.join(out, "report.js");
            fs.writeFileSync(preload, `process.on("exit", () => require("fs").writeFileSync(${JSON.stringify(file)}, JSON.stringify(Object.keys(require.cache))));`);
            execFileSync("node", ["-r", preload, ...args], { cwd, stdio: "ignore", env: { ...process.env, ...extraEnv } });
            return (JSON.parse(fs.readFileSync(file, "utf8")) as string[]).map((m) => m.replace(/^.*node_modules[\\/]/, ""));
        } finally {
            fs.rmSync(out, { recursive: true, force: true });
        }
    }

    const typescript = (loaded: string[]): boolean => loaded.some((m) => /^typescript[\\/]/.test(m));
    const arborist = (loaded: string[]): boolean => loaded.some((m) => /^@npmcli[\\/]arborist[\\/]/.test(m));
    const heavy = (loaded: string[]): string[] => loaded.filter((m) => /^(typescript|@aws-sdk|@npmcli)[\\/]|^@pulumi[\\/]pulumi[\\/](runtime[\\/]index|index)\.js$/.test(m));

    it("`prod-mirror --help` loads neither the Pulumi runtime, nor TypeScript, nor the AWS SDK", () => {
        const loaded = loadedAfter([path.join(repoRoot, "bin", "prod-mirror.js"), "--help"]);
        // It did load the CLI and the automation API: the check looks at a real start.
        assert.ok(loaded.some((m) => /@pulumi[\\/]pulumi[\\/]automation[\\/]stack\.js$/.test(m)), "the automation API was loaded");
        assert.deepStrictEqual(heavy(loaded), []);
    });

    it("without the deferral, the automation API alone loads them (so the check above can fail)", () => {
        assert.notDeepStrictEqual(heavy(loadedAfter(["-e", `require("@pulumi/pulumi/automation")`])), []);
    });

    it("the deferred runtime is the real one once asked for", () => {
        const lazy = path.join(repoRoot, "bin", "deferred-modules.js");
        const code = [
            `require(${JSON.stringify(lazy)}).deferPulumiRuntime();`,
            `require("@pulumi/pulumi/automation");`,
            `const Module = require("module");`,
            `const stack = require.resolve("@pulumi/pulumi/automation/stack.js");`,
            `const stand = Module._load("../runtime", require.cache[stack], false);`,
            `if (require.cache[require.resolve("@pulumi/pulumi/runtime")] !== undefined) throw new Error("loaded early");`,
            `const real = require("@pulumi/pulumi/runtime");`,
            `if (stand.grpcChannelOptions !== real.grpcChannelOptions || stand.grpcChannelOptions === undefined) throw new Error("not the real module");`,
        ].join("\n");
        assert.deepStrictEqual(heavy(loadedAfter(["-e", code])).includes("@pulumi/pulumi/runtime/index.js"), true);
    });

    it("the program's node, with the preload the CLI passes, runs without ts-node and loads the function serializer's TypeScript and arborist only when asked", () => {
        // The preload from a copy of bin/ under a path with a space: NODE_OPTIONS must quote it.
        const spaced = fs.mkdtempSync(path.join(os.tmpdir(), "pm preload "));
        try {
            fs.mkdirSync(path.join(spaced, "bin"));
            for (const file of ["program-preload.js", "deferred-modules.js"]) {
                fs.copyFileSync(path.join(repoRoot, "bin", file), path.join(spaced, "bin", file));
            }
            const options = programNodeOptions("--max-old-space-size=512", spaced);
            assert.match(options, /^--max-old-space-size=512 --require "/);
            const probe = `require("@pulumi/pulumi"); if (process.env.PULUMI_NODEJS_TYPESCRIPT !== "false") throw new Error("ts-node left on");`;
            const started = loadedAfter(["-e", probe], repoRoot, { NODE_OPTIONS: options, PULUMI_NODEJS_TYPESCRIPT: "true" });
            assert.ok(started.some((m) => /^@pulumi[\\/]pulumi[\\/]runtime[\\/]closure[\\/]codePaths\.js$/.test(m)), "the function serializer was loaded");
            assert.deepStrictEqual([typescript(started), arborist(started)], [false, false]);
            // Asked for (the function serializer's parse, its code-path search), they are the real ones.
            const asked = [
                `const ts = require("@pulumi/pulumi/typescript-shim"); if (typeof ts.createSourceFile !== "function") throw new Error("no compiler");`,
                `const Module = require("module"); const codePaths = require.resolve("@pulumi/pulumi/runtime/closure/codePaths.js");`,
                `const arb = Module._load("@npmcli/arborist", { filename: codePaths, paths: Module._nodeModulePaths(require("path").dirname(codePaths)) }, false);`,
                `if (!arb.__esModule || arb.Arborist !== require(require.resolve("@npmcli/arborist", { paths: [require("path").dirname(codePaths)] })).Arborist || typeof arb.Arborist !== "function") throw new Error("not arborist");`,
            ].join("\n");
            const used = loadedAfter(["-e", asked], repoRoot, { NODE_OPTIONS: options });
            assert.deepStrictEqual([typescript(used), arborist(used)], [true, true]);
            // Pulumi's entry script's source-map-support is left out; anyone else's is not.
            const sourceMaps = (parent: string): string =>
                `const Module = require("module"); Module._load("source-map-support/register", { filename: ${JSON.stringify(parent)}, paths: module.paths }, false);`;
            const sms = (loaded: string[]): boolean => loaded.some((m) => /^source-map-support[\\/]/.test(m));
            const entry = path.join(repoRoot, "node_modules", "@pulumi", "pulumi", "cmd", "run", "index.js");
            assert.strictEqual(sms(loadedAfter(["-e", sourceMaps(entry)], repoRoot, { NODE_OPTIONS: options })), false);
            assert.strictEqual(sms(loadedAfter(["-e", sourceMaps(path.join(repoRoot, "other.js"))], repoRoot, { NODE_OPTIONS: options })), true);
            assert.strictEqual(sms(loadedAfter(["-e", sourceMaps(entry)])), true);
            // Without the preload, the SDK loads both at once: the first check can fail.
            const plain = loadedAfter(["-e", `require("@pulumi/pulumi")`]);
            assert.deepStrictEqual([typescript(plain), arborist(plain)], [true, true]);
        } finally {
            fs.rmSync(spaced, { recursive: true, force: true });
        }
    });

    it("keeps the caller's NODE_OPTIONS and adds the preload once", () => {
        assert.strictEqual(programNodeOptions(undefined, "/p"), '--require "/p/bin/program-preload.js"');
        assert.strictEqual(programNodeOptions("  ", "/p"), '--require "/p/bin/program-preload.js"');
        assert.strictEqual(programNodeOptions("--enable-source-maps", "/p"), '--enable-source-maps --require "/p/bin/program-preload.js"');
    });

    it("the program's components load @pulumi/aws only for a mirror that makes real AWS resources", () => {
        const loaded = loadedAfter(["-r", "ts-node/register/transpile-only", "-e", `require("./components")`]);
        assert.ok(loaded.some((m) => /^@pulumi[\\/]kubernetes[\\/]/.test(m)), "the components were loaded");
        assert.deepStrictEqual(loaded.filter((m) => /^@pulumi[\\/]aws[\\/]/.test(m)), []);
    });
});
