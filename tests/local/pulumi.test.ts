// The pulumi part of the local environment, used the way a developer uses it: the CLI built from the
// Go modules, the kubernetes plugin installed where the CLI finds it, and a real program's lifecycle
// on the local file backend against the local cluster.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

import { asClusterAdmin, ensureLocalEnv, repoRoot } from "./local-env";

const program = path.join(__dirname, "fixtures", "namespace-program");

/** The pinned versions, read from the one file that holds them. */
function pinned(name: string): string {
    const text = fs.readFileSync(path.join(repoRoot, "local", "versions.env"), "utf8");
    const m = new RegExp(`^${name}=(\\S+)$`, "m").exec(text);
    assert.ok(m, `local/versions.env has no ${name}=`);
    return m[1];
}

interface Result {
    status: number | null;
    stdout: string;
    stderr: string;
}

describe("local environment: pulumi", function () {
    let env: NodeJS.ProcessEnv;

    before(function () {
        this.timeout(90 * 60 * 1000);
        // As cluster-admin: this checks the local Pulumi toolchain on any namespace, not a mirror's rights.
        env = {
            ...asClusterAdmin(ensureLocalEnv()),
            PULUMI_SKIP_UPDATE_CHECK: "1",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            // Any attempt to reach the internet goes to a port where nothing listens and fails at once,
            // so "no download attempted" is checked, not assumed. The cluster is on 127.0.0.1.
            HTTP_PROXY: "http://127.0.0.1:9",
            HTTPS_PROXY: "http://127.0.0.1:9",
            NO_PROXY: "127.0.0.1,localhost",
        };
    });

    function run(cmd: string, args: string[], timeoutMs = 5 * 60 * 1000): Result {
        const r = spawnSync(cmd, args, { env, cwd: program, encoding: "utf8", timeout: timeoutMs });
        if (r.error) {
            throw r.error;
        }
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    }

    function ok(cmd: string, args: string[], timeoutMs?: number): string {
        const r = run(cmd, args, timeoutMs);
        assert.strictEqual(r.status, 0, `${cmd} ${args.join(" ")} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
        return r.stdout;
    }

    it("pulumi version prints the pinned CLI version", function () {
        assert.strictEqual(ok("pulumi", ["version"]).trim(), `v${pinned("PULUMI_CLI_VERSION")}`);
    });

    it("pulumi plugin ls shows the kubernetes plugin without downloading anything", function () {
        const r = run("pulumi", ["plugin", "ls", "--json"]);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.doesNotMatch(r.stderr, /download/i);
        const plugins = JSON.parse(r.stdout) as Array<{ name: string; kind: string; version: string }>;
        const kubernetes = plugins.filter((p) => p.name === "kubernetes" && p.kind === "resource");
        assert.deepStrictEqual(
            kubernetes.map((p) => p.version),
            [pinned("PULUMI_KUBERNETES_VERSION")],
        );
    });

    describe("a program creating a namespace, on the local file backend", function () {
        // Unique per run, so a run left behind by a killed test never collides with this one.
        const stack = `smoke-${process.pid}`;
        const namespace = `pm-smoke-${stack}`;
        let created = false;

        before(function () {
            this.timeout(2 * 60 * 1000);
            if (!fs.existsSync(path.join(repoRoot, "node_modules", "@pulumi", "kubernetes"))) {
                const ci = spawnSync("npm", ["ci"], { cwd: repoRoot, env, stdio: "inherit" });
                assert.strictEqual(ci.status, 0, "npm ci failed");
            }
            ok("pulumi", ["stack", "init", stack, "--non-interactive"]);
            created = true;
        });

        after(function () {
            this.timeout(10 * 60 * 1000);
            if (created) {
                // Whatever happened above: leave no stack, no stack file and no namespace behind.
                run("pulumi", ["destroy", "--yes", "--stack", stack, "--non-interactive"]);
                run("pulumi", ["stack", "rm", "--yes", "--force", "--stack", stack, "--non-interactive"]);
            }
        });

        it("up creates the namespace in the cluster", function () {
            this.timeout(10 * 60 * 1000);
            const out = ok("pulumi", ["up", "--yes", "--stack", stack, "--non-interactive", "--skip-preview"]);
            assert.match(out, /\+ 2 created|2 created/, out);
            const got = ok("kubectl", ["get", "namespace", namespace, "-o", "jsonpath={.status.phase}"]);
            assert.strictEqual(got, "Active");
            const outputs = JSON.parse(ok("pulumi", ["stack", "output", "--json", "--stack", stack])) as {
                namespace?: string;
            };
            assert.strictEqual(outputs.namespace, namespace);
        });

        it("destroy deletes it, and stack rm removes the stack", function () {
            this.timeout(10 * 60 * 1000);
            ok("pulumi", ["destroy", "--yes", "--stack", stack, "--non-interactive", "--skip-preview"]);
            const gone = run("kubectl", ["get", "namespace", namespace, "-o", "name"]);
            assert.notStrictEqual(gone.status, 0, `namespace still there after destroy: ${gone.stdout}`);
            assert.match(gone.stderr, /NotFound|not found/);
            ok("pulumi", ["stack", "rm", "--yes", "--stack", stack, "--non-interactive"]);
            created = false;
            assert.ok(!fs.existsSync(path.join(program, `Pulumi.${stack}.yaml`)), "stack file left behind");
            const stacks = JSON.parse(ok("pulumi", ["stack", "ls", "--json"])) as Array<{ name: string }>;
            assert.deepStrictEqual(
                stacks.filter((s) => s.name.split("/").pop() === stack),
                [],
            );
        });
    });
});
