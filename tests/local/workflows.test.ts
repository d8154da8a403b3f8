// actionlint on every GitHub workflow of the project. The workflows never run here, so this is where
// a wrong key, an undefined action input, a bad expression or a shell mistake in a `run:` script is
// found before GitHub finds it. actionlint and shellcheck come from the local environment
// (local/parts/actionlint.sh, at ACTIONLINT_VERSION); ensureLocalEnv builds them on a fresh machine.
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import { ensureLocalEnv, repoRoot } from "./local-env";

interface Finding {
    message: string;
    filepath: string;
    line: number;
    column: number;
    kind: string;
}

describe("local environment: actionlint on .github/workflows", function () {
    let actionlint: string;
    let shellcheck: string;
    let env: NodeJS.ProcessEnv;

    before(function () {
        env = ensureLocalEnv();
        actionlint = execFileSync("bash", [path.join(repoRoot, "local", "parts", "actionlint.sh"), "path"], { encoding: "utf8" }).trim();
        const which = spawnSync("bash", ["-c", "command -v shellcheck"], { env, encoding: "utf8" });
        assert.strictEqual(which.status, 0, "shellcheck is not on PATH: local/parts/actionlint.sh install puts it there; without it actionlint skips every run: script");
        shellcheck = which.stdout.trim();
    });

    /** actionlint's findings for `files`, run in `cwd` (it reads the project's .github/actionlint.yaml from there, if any). */
    function lint(cwd: string, files: string[]): { status: number | null; findings: Finding[]; stderr: string } {
        // -shellcheck names the binary: a shellcheck missing from PATH must fail the before hook, never quietly skip the scripts.
        const r = spawnSync(actionlint, ["-no-color", "-shellcheck", shellcheck, "-format", "{{json .}}", ...files], { cwd, env, encoding: "utf8" });
        return { status: r.status, findings: r.stdout.trim() === "" ? [] : (JSON.parse(r.stdout) as Finding[]), stderr: r.stderr };
    }

    it("is the pinned actionlint", function () {
        const pinned = /^ACTIONLINT_VERSION=(\S+)$/m.exec(fs.readFileSync(path.join(repoRoot, "local", "versions.env"), "utf8"))?.[1];
        const version = execFileSync(actionlint, ["-version"], { encoding: "utf8" }).split("\n")[0];
        assert.strictEqual(version, `v${pinned}`);
    });

    it("finds nothing in any workflow under .github/workflows", function () {
        const dir = path.join(repoRoot, ".github", "workflows");
        const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(".github", "workflows", f));
        assert.ok(files.length >= 2, `expected the project's workflows in ${dir}, found ${files.join(", ")}`);
        const result = lint(repoRoot, files);
        assert.deepStrictEqual(result.findings.map((f) => `${f.filepath}:${f.line}:${f.column}: ${f.message} [${f.kind}]`), []);
        assert.strictEqual(result.status, 0, result.stderr);
    });

    it("finds nothing in the CI's own scripts (.ci/*.sh, .ci/run) with the same shellcheck", function () {
        const dir = path.join(repoRoot, ".ci");
        const files = fs.readdirSync(dir).filter((f) => f.endsWith(".sh") || f === "run").map((f) => path.join(".ci", f));
        assert.deepStrictEqual(files.sort(), [".ci/pr-comment.sh", ".ci/run", ".ci/target-kubeconfig.sh"]);
        const r = spawnSync(shellcheck, ["--format=gcc", ...files], { cwd: repoRoot, env, encoding: "utf8" });
        assert.deepStrictEqual([r.status, r.stdout, r.stderr], [0, "", ""]);
    });

    it("fails on a broken workflow: an input the action does not define, an unquoted variable in a script, an unknown context", function () {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prod-mirror-actionlint-"));
        try {
            fs.mkdirSync(path.join(dir, ".github", "workflows"), { recursive: true });
            const file = path.join(".github", "workflows", "broken.yml");
            fs.writeFileSync(path.join(dir, file), [
                "on: push",
                "jobs:",
                "  up:",
                "    runs-on: ubuntu-latest",
                "    steps:",
                "      - uses: actions/checkout@v4",
                "        with:",
                "          persist-credential: false",
                "      - run: rm -rf $TARGET/out",
                "      - run: echo finished",
                "        if: ${{ secret.TOKEN != '' }}",
                "",
            ].join("\n"));
            const result = lint(dir, [file]);
            assert.strictEqual(result.status, 1, result.stderr);
            assert.deepStrictEqual(result.findings.map((f) => [f.line, f.kind]), [
                [8, "action"],
                [9, "shellcheck"],
                [11, "expression"],
            ]);
            assert.match(result.findings[0].message, /^input "persist-credential" is not defined in action "actions\/checkout@v4"/);
            assert.strictEqual(result.findings[1].message, "shellcheck reported issue in this script: SC2086:info:1:8: Double quote to prevent globbing and word splitting");
            assert.match(result.findings[2].message, /^undefined variable "secret"/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
