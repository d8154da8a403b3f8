// What the hosted pipelines tell a pull or merge request (.ci/mirror-report.ts), how the GitHub jobs
// find and update their one comment (.ci/pr-comment.sh, against a stand-in `gh` that records its
// calls), and how a kubeconfig secret becomes a file without being printed (.ci/target-kubeconfig.sh).
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { COMMENT_MARKER, commentBody, entryUrl, environmentDotenv } from "../../.ci/mirror-report";

const root = path.resolve(__dirname, "..", "..");
const OUTPUTS = {
    entryService: "gateway",
    namespace: "pm-feature-login-3f2a9c1d",
    serviceUrls: { gateway: "http://gateway.pm-feature-login-3f2a9c1d.svc.cluster.local:8080", worker: "http://worker.pm-feature-login-3f2a9c1d.svc.cluster.local:9000" },
    registryPassword: "[secret]",
};
const RUN = "https://github.com/acme/app/actions/runs/42";
const SHA = "3f2a9c1d0e4b5a6978877665544332211f0e0d0c";

describe("CI report: the entry URL and the pull request's comment", () => {
    it("takes the entry Service's URL from the outputs, and nothing else", () => {
        assert.strictEqual(entryUrl(OUTPUTS), "http://gateway.pm-feature-login-3f2a9c1d.svc.cluster.local:8080");
        assert.strictEqual(environmentDotenv(OUTPUTS), "DYNAMIC_ENVIRONMENT_URL=http://gateway.pm-feature-login-3f2a9c1d.svc.cluster.local:8080\n");
        assert.strictEqual(environmentDotenv({}), "DYNAMIC_ENVIRONMENT_URL=\n");
        assert.strictEqual(entryUrl({ ...OUTPUTS, entryService: "" }), "");
        assert.strictEqual(entryUrl({ ...OUTPUTS, entryService: "missing" }), "");
        // A value that would change the dotenv file or the Markdown around it is dropped, not escaped.
        for (const bad of ["javascript:alert(1)", "http://x/`a`", "http://x/ y", "http://x/)[z](http://evil", "http://x\nEVIL=1", "ftp://x"]) {
            assert.strictEqual(entryUrl({ entryService: "gateway", serviceUrls: { gateway: bad } }), "", bad);
        }
    });

    it("writes the up job's comment: marker first, outcome of up and e2e, entry URL, namespace, short commit, logs", () => {
        assert.strictEqual(commentBody({ up: "success", e2e: "failure", down: "", commit: SHA, runUrl: RUN, outputs: OUTPUTS }), [
            COMMENT_MARKER,
            "**prod-mirror** at 3f2a9c1",
            "",
            "| | |",
            "|---|---|",
            "| mirror (`prod-mirror up`) | passed |",
            "| entry URL | `http://gateway.pm-feature-login-3f2a9c1d.svc.cluster.local:8080` |",
            "| namespace | `pm-feature-login-3f2a9c1d` |",
            "| end-to-end tests | FAILED |",
            "",
            `[logs of this run](${RUN})`,
            "",
        ].join("\n"));
        assert.strictEqual(COMMENT_MARKER, "<!-- prod-mirror -->");
    });

    it("says what did not run when up failed, and drops values of unknown shape", () => {
        const body = commentBody({ up: "failure", e2e: "skipped", down: "", commit: "not-a-sha`", runUrl: "javascript:x", outputs: { namespace: "Bad_NS" } });
        assert.strictEqual(body, [
            COMMENT_MARKER,
            "**prod-mirror** at unknown commit",
            "",
            "| | |",
            "|---|---|",
            "| mirror (`prod-mirror up`) | FAILED |",
            "| entry URL | none |",
            "| namespace | none |",
            "| end-to-end tests | not run |",
            "",
        ].join("\n"));
        assert.match(commentBody({ up: "weird", e2e: "", down: "", commit: SHA, runUrl: "", outputs: {} }), /\| mirror \(`prod-mirror up`\) \| unknown outcome "weird" \|/);
    });

    it("writes the down job's comment, destroyed or not", () => {
        assert.strictEqual(commentBody({ up: "", e2e: "", down: "success", commit: "", runUrl: RUN, outputs: {} }),
            `${COMMENT_MARKER}\n**prod-mirror**: the mirror of this pull request is destroyed and its stack removed.\n\n[logs of this run](${RUN})\n`);
        assert.strictEqual(commentBody({ up: "", e2e: "", down: "failure", commit: "", runUrl: "", outputs: {} }),
            `${COMMENT_MARKER}\n**prod-mirror**: destroying the mirror FAILED; the reaper removes it at its expiry, or run \`prod-mirror down\` again.\n`);
    });

    it("runs as the pipelines run it: env-url from an outputs file, comment from the steps' outcomes, a usage error otherwise", function () {
        // Three runs of node with ts-node: seconds each on a loaded machine.
        this.timeout(60_000);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prod-mirror-report-"));
        try {
            const file = path.join(dir, "mirror.json");
            fs.writeFileSync(file, JSON.stringify(OUTPUTS));
            const run = (args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } =>
                spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(root, ".ci", "mirror-report.ts"), ...args], {
                    cwd: root, encoding: "utf8", env: { PATH: process.env.PATH ?? "", ...env },
                });
            const envUrl = run(["env-url", file]);
            assert.deepStrictEqual([envUrl.status, envUrl.stdout], [0, `DYNAMIC_ENVIRONMENT_URL=${OUTPUTS.serviceUrls.gateway}\n`]);
            // up failed before `outputs` wrote anything: the comment still goes out.
            const comment = run(["comment", path.join(dir, "absent.json")], { PROD_MIRROR_UP: "failure", PROD_MIRROR_COMMIT: SHA });
            assert.strictEqual(comment.status, 0, comment.stderr);
            assert.ok(comment.stdout.startsWith(`${COMMENT_MARKER}\n**prod-mirror** at 3f2a9c1\n`), comment.stdout);
            assert.match(comment.stdout, /\| mirror \(`prod-mirror up`\) \| FAILED \|/);
            const usage = run(["entry"]);
            assert.deepStrictEqual([usage.status, usage.stdout, usage.stderr],
                [2, "", 'mirror-report: usage: mirror-report.ts env-url OUTPUTS.json | comment [OUTPUTS.json] (got "entry")\n']);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("CI scripts: the pull request's one comment, the kubeconfig from its secret", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "prod-mirror-ci-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** A stand-in `gh` that logs each call and answers the comment listing with `listing` (ids the --jq filter would keep). */
    function fakeGh(listing: string): string {
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        fs.writeFileSync(path.join(bin, "gh"), [
            "#!/usr/bin/env bash",
            `printf '%s\\n' "$*" >> ${JSON.stringify(path.join(dir, "calls"))}`,
            `case "$*" in *--paginate*) printf '%b' ${JSON.stringify(listing)} ;; esac`,
            "",
        ].join("\n"), { mode: 0o755 });
        return bin;
    }

    function comment(listing: string, body = `${COMMENT_MARKER}\nhello\n`): { status: number | null; stdout: string; stderr: string; calls: string[] } {
        const bin = fakeGh(listing);
        fs.writeFileSync(path.join(dir, "comment.md"), body);
        const r = spawnSync("bash", [path.join(root, ".ci", "pr-comment.sh"), "12", "comment.md"], {
            cwd: dir, encoding: "utf8", env: { PATH: `${bin}:${process.env.PATH ?? ""}`, GITHUB_REPOSITORY: "acme/app" },
        });
        const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : [];
        return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls };
    }

    const LIST = `api --paginate repos/acme/app/issues/12/comments --jq .[] | select(.body | startswith("${COMMENT_MARKER}")) | .id`;

    it("updates the marked comment in place when there is one (the first, if several)", () => {
        const r = comment("901\n905\n");
        assert.deepStrictEqual([r.status, r.stdout, r.stderr], [0, "updated comment 901 on pull request #12\n", ""]);
        assert.deepStrictEqual(r.calls, [LIST, "api --method PATCH repos/acme/app/issues/comments/901 -F body=@comment.md"]);
    });

    it("creates the comment when none carries the marker", () => {
        const r = comment("");
        assert.deepStrictEqual([r.status, r.stdout], [0, "commented on pull request #12\n"]);
        assert.deepStrictEqual(r.calls, [LIST, "api --method POST repos/acme/app/issues/12/comments -F body=@comment.md"]);
    });

    it("refuses a body without the marker, which no later run could find again, and calls nothing", () => {
        const r = comment("901\n", "hello\n");
        assert.deepStrictEqual([r.status, r.stderr, r.calls], [1, `comment.md does not start with ${COMMENT_MARKER}: it would never be found again\n`, []]);
    });

    it("writes the kubeconfig secret to a file only its owner reads and prints only where it is", () => {
        // As a secret holds it: without the final newline, which the file gets.
        const text = "apiVersion: v1\nkind: Config\nusers:\n- name: ci\n  user:\n    token: s3cr3t-token";
        const r = spawnSync("bash", [path.join(root, ".ci", "target-kubeconfig.sh"), dir, "PROD_MIRROR_KUBECONFIG"], {
            encoding: "utf8", env: { PATH: process.env.PATH ?? "", KUBECONFIG_TEXT: text },
        });
        const file = path.join(dir, "kubeconfig");
        assert.deepStrictEqual([r.status, r.stdout, r.stderr], [0, `KUBECONFIG=${file}\n`, ""]);
        assert.strictEqual(fs.readFileSync(file, "utf8"), `${text}\n`);
        assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
    });

    it("names the missing secret and the alternative, and writes nothing", () => {
        const r = spawnSync("bash", [path.join(root, ".ci", "target-kubeconfig.sh"), dir, "PROD_MIRROR_KUBECONFIG"], {
            encoding: "utf8", env: { PATH: process.env.PATH ?? "", KUBECONFIG_TEXT: "" },
        });
        assert.deepStrictEqual([r.status, r.stdout, r.stderr], [1, "",
            "the CI secret PROD_MIRROR_KUBECONFIG is not set: set it to the target cluster's kubeconfig (README, CI), or use the self-hosted local default (PROD_MIRROR_RUNNER=self-hosted)\n"]);
        assert.ok(!fs.existsSync(path.join(dir, "kubeconfig")));
    });
});
