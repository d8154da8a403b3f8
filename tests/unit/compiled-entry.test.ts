import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { repoRoot } from "../../cli/local-environment";

// bin/compiled-entry.js, behind Pulumi's entry point (bin/pulumi-program.js) and the CLI's
// (bin/prod-mirror.js): TypeScript compiled once per content of its sources.
describe("the compiled entry points (bin/compiled-entry.js)", function () {
    this.timeout(30_000);
    let project: string;
    let cache: string;

    /** A project with the entry point, an index.ts and a component that reads a file beside itself. */
    beforeEach(() => {
        project = fs.mkdtempSync(path.join(os.tmpdir(), "pm-program-"));
        cache = path.join(project, "cache");
        fs.mkdirSync(path.join(project, "bin"));
        for (const file of ["compiled-entry.js", "deferred-modules.js", "pulumi-program.js", "prod-mirror.js"]) {
            fs.copyFileSync(path.join(repoRoot, "bin", file), path.join(project, "bin", file));
        }
        fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(project, "node_modules"));
        fs.copyFileSync(path.join(repoRoot, "tsconfig.json"), path.join(project, "tsconfig.json"));
        fs.mkdirSync(path.join(project, "components", "data"), { recursive: true });
        fs.writeFileSync(path.join(project, "components", "data", "note.txt"), "beside");
        fs.writeFileSync(
            path.join(project, "components", "index.ts"),
            'import * as fs from "fs";\nimport * as path from "path";\nexport const note: string = fs.readFileSync(path.join(__dirname, "data", "note.txt"), "utf8");\n',
        );
        fs.writeFileSync(path.join(project, "components", "skip.test.ts"), "throw new Error('a test is no part of the program');\n");
        writeIndex("first");
    });
    afterEach(() => fs.rmSync(project, { recursive: true, force: true }));

    function writeIndex(word: string): void {
        fs.writeFileSync(path.join(project, "index.ts"), `import { note } from "./components";\ninterface Out { word: string }\nconst out: Out = { word: "${word}" };\nexport const word = out.word;\nexport const beside = note;\nexport const cwd = process.cwd();\n`);
    }

    /** The entry point's exports (the stack's outputs), as Pulumi's runtime would get them. */
    function run(cacheDir = cache): Record<string, string> {
        // Started in bin/, as Pulumi starts a `main`; the program must see the project's directory.
        const code = `process.stdout.write(JSON.stringify(require(${JSON.stringify(path.join(project, "bin", "pulumi-program.js"))})))`;
        const exports = JSON.parse(execFileSync("node", ["-e", code], { cwd: path.join(project, "bin"), env: { ...process.env, PROD_MIRROR_COMPILED_CACHE: cacheDir }, encoding: "utf8" })) as Record<string, string>;
        assert.strictEqual(exports.cwd, fs.realpathSync(project));
        delete exports.cwd;
        return exports;
    }

    const compiled = (): string[] => (fs.existsSync(cache) ? fs.readdirSync(cache).sort() : []);

    it("runs the TypeScript compiled, exports and all, with the files the program reads beside it, and no tests", () => {
        assert.deepStrictEqual(run(), { word: "first", beside: "beside" });
        assert.strictEqual(compiled().length, 1);
        const dir = path.join(cache, compiled()[0]);
        assert.ok(fs.existsSync(path.join(dir, "index.js")) && !fs.existsSync(path.join(dir, "index.ts")));
        assert.ok(!fs.existsSync(path.join(dir, "components", "skip.test.js")));
        // The second run uses the same compilation.
        assert.deepStrictEqual(run(), { word: "first", beside: "beside" });
        assert.strictEqual(compiled().length, 1);
    });

    it("never runs a stale program: any change to a source is compiled anew", () => {
        run();
        writeIndex("second");
        assert.deepStrictEqual(run(), { word: "second", beside: "beside" });
        fs.writeFileSync(path.join(project, "components", "data", "note.txt"), "changed");
        assert.deepStrictEqual(run(), { word: "second", beside: "changed" });
        assert.strictEqual(compiled().length, 3);
    });

    it("runs through ts-node where the cache cannot be written", () => {
        assert.deepStrictEqual(run("/dev/null/cache"), { word: "first", beside: "beside" });
    });

    it("runs the CLI compiled from cli/ and components/, telling it the project's directory", () => {
        fs.mkdirSync(path.join(project, "cli"));
        fs.writeFileSync(
            path.join(project, "cli", "main.ts"),
            'import { note } from "../components";\nconst from: string = process.env.PROD_MIRROR_PROJECT_DIR ?? "";\nprocess.stdout.write(JSON.stringify({ note, from, here: __dirname }));\n',
        );
        const out = JSON.parse(execFileSync("node", [path.join(project, "bin", "prod-mirror.js")], { env: { ...process.env, PROD_MIRROR_COMPILED_CACHE: cache, PROD_MIRROR_PROJECT_DIR: "/elsewhere" }, encoding: "utf8" })) as Record<string, string>;
        assert.deepStrictEqual([out.note, out.from], ["beside", project]);
        assert.ok(out.here.startsWith(cache), `${out.here} is the compiled copy`);
    });
});
