// The emulated mode's creation script is Python in a file of its own, so Python itself checks it here:
// the host's python3 (the README's toolchain) byte-compiles it with every warning an error, and
// python_names.py (standard library only) finds undefined names and unused imports. The integration
// lifecycle test runs it for real in the emulator image.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createScript, CREATE_SCRIPT_FILE } from "../../components/cloud/emulated";
import { repoRoot } from "./mocks";

/** `python3 -W error -m py_compile <file>`, its bytecode kept out of the tree. */
function pyCompile(file: string, dir: string): { status: number | null; stderr: string } {
    const r = spawnSync("python3", ["-W", "error", "-m", "py_compile", file], {
        encoding: "utf8",
        env: { ...process.env, PYTHONPYCACHEPREFIX: path.join(dir, "pycache") },
    });
    return { status: r.status, stderr: r.stderr };
}

/** `python3 python_names.py <file>`: undefined names and unused imports, one a line. */
function pyNames(file: string): { status: number | null; stdout: string } {
    const r = spawnSync("python3", ["-B", path.join(__dirname, "python_names.py"), file], { encoding: "utf8" });
    assert.strictEqual(r.stderr, "", `python_names.py failed on ${file}`);
    return { status: r.status, stdout: r.stdout };
}

describe("the emulator's creation script", () => {
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "pm-create-script-"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("is components/cloud/emulator/create_resources.py, found beside the component", () => {
        assert.strictEqual(CREATE_SCRIPT_FILE, path.join(repoRoot, "components", "cloud", "emulator", "create_resources.py"));
        assert.strictEqual(createScript(), fs.readFileSync(CREATE_SCRIPT_FILE, "utf8"));
    });

    it("byte-compiles with python3, warnings as errors, and leaves no bytecode in the tree", () => {
        const r = pyCompile(CREATE_SCRIPT_FILE, dir);
        assert.deepStrictEqual(r, { status: 0, stderr: "" });
        assert.ok(!fs.existsSync(path.join(path.dirname(CREATE_SCRIPT_FILE), "__pycache__")), "py_compile wrote __pycache__ beside the script");
    });

    it("the same check fails on a script that does not parse, and on one with a warning", () => {
        const text = fs.readFileSync(CREATE_SCRIPT_FILE, "utf8");
        const broken = path.join(dir, "broken.py");
        fs.writeFileSync(broken, text.replace("for q in spec[\"queues\"]:", "for q in spec[\"queues\"]"));
        const bad = pyCompile(broken, dir);
        assert.strictEqual(bad.status, 1);
        assert.match(bad.stderr, /SyntaxError: expected ':'/);
        // An invalid escape sequence is only a warning to python3; -W error makes it fail the check.
        const warned = path.join(dir, "warned.py");
        fs.writeFileSync(warned, `${text}print("\\d")\n`);
        const warn = pyCompile(warned, dir);
        assert.strictEqual(warn.status, 1);
        assert.match(warn.stderr, /invalid escape sequence '\\d'/);
    });

    it("reads no undefined name and imports nothing unused", () => {
        assert.deepStrictEqual(pyNames(CREATE_SCRIPT_FILE), { status: 0, stdout: "" });
        const checker = path.join(__dirname, "python_names.py");
        assert.deepStrictEqual([pyNames(checker), pyCompile(checker, dir)], [{ status: 0, stdout: "" }, { status: 0, stderr: "" }], "the checker passes its own checks");
    });

    it("the name check fails on a misspelt name, one a comprehension reads, an unused import, a method reading its class's name", () => {
        const text = fs.readFileSync(CREATE_SCRIPT_FILE, "utf8");
        const cases: [string, string, string][] = [
            ["typo.py", text.replace("sqs.create_queue(", "sqss.create_queue("), "undefined name 'sqss' in top"],
            ["genexpr.py", text.replace("(boto3.client(s, **kw) for s in", "(boto3.client(zz, **kw) for s in"), "undefined name 'zz' in genexpr"],
            ["unused.py", text.replace("import boto3\n", "import boto3\nimport re\n"), "'re' imported but unused"],
            ["class.py", "class C:\n    x = 1\n\n    def m(self):\n        return x\n\n\nprint(C)\n", "undefined name 'x' in m"],
        ];
        for (const [name, source, problem] of cases) {
            const file = path.join(dir, name);
            assert.notStrictEqual(source, text, `${name}: the edit did not apply`);
            fs.writeFileSync(file, source);
            assert.deepStrictEqual(pyNames(file), { status: 1, stdout: `${file}: ${problem}\n` }, name);
        }
    });

    it("a missing file fails with its path and the fix, before anything is declared", () => {
        const missing = path.join(dir, "gone.py");
        assert.throws(() => createScript(missing), {
            message:
                `cannot read the emulator's creation script ${missing} (ENOENT: no such file or directory, open '${missing}'): ` +
                "it ships beside emulated.ts; restore it from git, or rebuild with 'npm run build' when running from dist/",
        });
    });
});
