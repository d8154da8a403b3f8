// The dotenv file the pipelines `source` (set -a; . ./mirror.env) is shell code whose values come
// from branch names anyone can choose. These tests write it and read it back with a real bash, the
// shell the pipelines use: every value must come back byte for byte, and nothing in it may run.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { toDotenv } from "../../cli/outputs";
import { ProductionMirror } from "../../components";
import { CONTEXT, PASSWORD, sampleApp } from "./fixtures";
import { settle, useMocks, valueOf } from "./mocks";

/** Sources `text` in bash exactly as the pipelines do and returns the named variables as bash sees them. */
function sourceInBash(dir: string, text: string, names: string[]): Record<string, string> {
    const file = path.join(dir, "mirror.env");
    fs.writeFileSync(file, text);
    // NUL-separated, so that no value (and no newline in one) can be mistaken for a separator.
    const script = 'set -a; . "$1"; set +a; shift; for name in "$@"; do printf "%s\\0" "${!name-<unset>}"; done';
    const result = spawnSync("bash", ["--norc", "--noprofile", "-c", script, "bash", file, ...names], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
    assert.strictEqual(result.status, 0, `bash failed to source the file: ${result.stderr}`);
    assert.strictEqual(result.stderr, "", "sourcing the file printed errors");
    const values = result.stdout.split("\0").slice(0, -1);
    return Object.fromEntries(names.map((name, i) => [name, values[i]]));
}

describe("cli: the dotenv file is shell-safe", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "pm-dotenv-"));
    });
    afterEach(() => {
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("single-quotes every value, an embedded quote as '\\''", () => {
        assert.strictEqual(toDotenv({ A: "plain", B: "it's", C: 3, D: { x: 1 } }), "A='plain'\nB='it'\\''s'\nC='3'\nD='{\"x\":1}'\n");
    });

    it("reads every value back unchanged through bash: $, backtick, both quotes, spaces, backslash, unicode", () => {
        const vars: Record<string, string> = {
            DOLLAR: "$HOME ${PATH} $(id) $((1+1)) $'x'",
            BACKTICK: "`id` ``",
            DOUBLE: 'say "hi" \\"',
            SINGLE: "it's '' ' '\\''",
            SPACES: "  two  words  ",
            BACKSLASH: "a\\b\\\\c\\",
            GLOB: "* ? [a-z] ~ ~root !x #not-a-comment ; & | < > ( ) { }",
            UNICODE: "fé/ブランチ 🚀",
            EMPTY: "",
            EQUALS: "a=b==c",
        };
        assert.deepStrictEqual(sourceInBash(dir, toDotenv(vars), Object.keys(vars)), vars);
    });

    for (const [name, char] of [["newline", "\n"], ["carriage return", "\r"], ["NUL", "\0"], ["escape", "\u001b"], ["DEL", "\u007f"], ["C1 CSI", "\u009b"]] as const) {
        it(`refuses a value with a ${name}, naming the key and not the value`, () => {
            const code = `U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
            assert.throws(() => toDotenv({ OK: "fine", PROD_MIRROR_BRANCH: `secret-part${char}x` }), (err: Error) => {
                assert.strictEqual(
                    err.message,
                    `cannot write PROD_MIRROR_BRANCH to a dotenv file: its value holds the control character ${code} at position 11, ` +
                        "which a line-based dotenv reader would split or mangle; remove it where the value comes from (for PROD_MIRROR_BRANCH, the branch name)",
                );
                assert.ok(!err.message.includes("secret-part"));
                return true;
            });
        });
    }

    it("the old double-quoted form would have run a command: the test's own probe works", () => {
        // Guards the adversarial test below against passing for the wrong reason (a probe that never fires).
        const marker = path.join(dir, "probe-fired");
        sourceInBash(dir, `X="x$(touch ${marker})"\n`, ["X"]);
        assert.ok(fs.existsSync(marker));
    });

    it("sourcing the outputs of a mirror of a hostile branch runs nothing and returns the branch unchanged", async () => {
        const dollar = path.join(dir, "pwned-dollar");
        const backtick = path.join(dir, "pwned-backtick");
        const quote = path.join(dir, "pwned-quote");
        for (const branch of [`x$(touch ${dollar})`, `x\`touch ${backtick}\``, `x'$(touch ${quote})'`, `x"$(touch ${quote})"`]) {
            const mocks = await useMocks(false);
            const mirror = new ProductionMirror("mirror", {
                context: { ...CONTEXT, branch },
                stack: "dev",
                app: sampleApp(),
                registry: { server: "127.0.0.1:5000", username: "ci-bot", password: pulumi.secret(PASSWORD) },
                cloud: { mode: "emulated", region: "us-east-1", image: "127.0.0.1:5000/prod-mirror/moto:5.2.5" },
            });
            await settle(mocks);
            const runnerEnv = await valueOf(mirror.runnerEnv);
            assert.strictEqual(runnerEnv.PROD_MIRROR_BRANCH, branch);
            const readBack = sourceInBash(dir, toDotenv(runnerEnv), Object.keys(runnerEnv));
            assert.deepStrictEqual([dollar, backtick, quote].filter((f) => fs.existsSync(f)), [], `sourcing the outputs of branch ${branch} ran a command`);
            assert.deepStrictEqual(readBack, runnerEnv);
        }
    });
});
