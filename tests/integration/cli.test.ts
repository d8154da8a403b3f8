// The `prod-mirror` command as CI and developers run it, on the real local environment: up,
// outputs, ls and down; two concurrent `up`s of one branch taking turns; a SIGINT'd and a killed
// `up`, each followed by a successful one; a `down` that an object of the mirror survives.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { describeLocalEnvironment, parseShellEnv, repoRoot } from "../../cli/local-environment";
import { USAGE, usageOf } from "../../cli/args";
import { backendLocks, fileBackendDir, runLockHolder } from "../../cli/run-lock";
import { stackName as stackNameFor } from "../../components/naming";
import { ensureLocalEnv } from "../local/local-env";
import { cli, downForCleanup, expectOk, start } from "./cli-runner";
import { eventually, kubectl, kubectlJson } from "./cluster";

describe("prod-mirror CLI on the local environment", function () {
    const suffix = crypto.randomBytes(3).toString("hex");
    const branch = `it/cli-${suffix}`;
    const stack = stackNameFor(branch);
    const commit = "0123456789abcdef0123456789abcdef01234567";
    let env: NodeJS.ProcessEnv;
    let backendDir: string;
    let created = false;

    before(function () {
        this.timeout(90 * 60_000);
        env = ensureLocalEnv();
        backendDir = fileBackendDir(env.PULUMI_BACKEND_URL)!;
    });

    /** The stack's updates as the backend recorded them, newest first (`pulumi stack history`). */
    const history = (name: string): Array<{ kind: string; result: string }> =>
        JSON.parse(execFileSync("pulumi", ["stack", "history", "--json", "--stack", name, "--non-interactive"], { cwd: repoRoot, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));

    after(async function () {
        this.timeout(15 * 60_000);
        if (created) {
            await downForCleanup(env, branch);
        }
    });

    it("prints the usage on stdout and exits 0 for --help, and up's own for up -h; a bad line exits 2 with it on stderr", async function () {
        this.timeout(60_000);
        for (const [argv, usage] of [[["--help"], USAGE], [["up", "-h"], usageOf("up")]] as const) {
            const help = await cli(env, ...argv);
            assert.deepStrictEqual([help.code, help.stdout, help.stderr], [0, `${usage}\n`, ""], argv.join(" "));
        }
        const bad = await cli(env, "Up");
        assert.deepStrictEqual([bad.code, bad.stdout, bad.stderr], [2, "", `prod-mirror: unknown command "Up"\n${USAGE}\n`]);
    });

    it("runs two concurrent ups of one branch in turn, both succeeding", async function () {
        this.timeout(30 * 60_000);
        const first = start(env, "up", "--branch", branch, "--commit", commit, "--ttl", "2h", "--no-forward");
        created = true;
        // The second starts once the first holds the run lock (the lock file itself outlives every run: its record names the holder).
        const lockDir = path.join(describeLocalEnvironment().mirrorsDir, "locks");
        await eventually("the first up to take the run lock", 120_000, () => (runLockHolder(lockDir, stack)?.pid === first.child.pid ? true : undefined));
        const second = start(env, "up", "--branch", branch, "--commit", commit, "--ttl", "2h", "--no-forward");
        const [a, b] = await Promise.all([first.done, second.done]);
        expectOk("first up", a);
        expectOk("second up", b);
        assert.match(b.stderr, new RegExp(`stack ${stack} is busy with pid ${first.child.pid} \\(up, since `), "the second up did not wait for the first");
        assert.match(a.stdout, new RegExp(`^stack: +${stack}$`, "m"));
        assert.deepStrictEqual(backendLocks(backendDir, "prod-mirror", stack), [], "an update lock was left behind");
    });

    it("prints the outputs for a test runner as dotenv and JSON, with no secret in plaintext", async function () {
        this.timeout(2 * 60_000);
        const dotenv = await cli(env, "outputs", "--branch", branch, "--format", "dotenv");
        expectOk("outputs --format dotenv", dotenv);
        assert.match(dotenv.stdout, /^GATEWAY_URL='http:\/\/gateway\.[a-z0-9-]+\.svc\.cluster\.local:8000'$/m);
        const json = await cli(env, "outputs", "--branch", branch);
        expectOk("outputs", json);
        const parsed = JSON.parse(json.stdout);
        assert.match(parsed.namespace, /^pm-it-cli-/);
        const password = describeLocalEnvironment().registry.password;
        assert.ok(password.length > 8 && !json.stdout.includes(password) && !dotenv.stdout.includes(password), "the registry password is in the outputs");
        const files = path.join(repoRoot, ".prod-mirror-out", stack);
        assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(files, "outputs.json"), "utf8")), parsed);
    });

    it("leaves the stack a shell selected in its own PULUMI_HOME selected", async function () {
        this.timeout(5 * 60_000);
        // A person's shell after `eval "$(bash local/env.sh shellenv)"`: the same backend, the PULUMI_HOME shellenv exports.
        const exported = parseShellEnv(execFileSync("bash", [path.join(repoRoot, "local", "env.sh"), "shellenv"], { encoding: "utf8" }), process.env.PATH ?? "");
        const shell = { ...env, PULUMI_HOME: exported.PULUMI_HOME };
        assert.notStrictEqual(shell.PULUMI_HOME, env.PULUMI_HOME, "the tests' environment should carry the CLI's own PULUMI_HOME");
        const selected = `it-selected-${suffix}`;
        const pulumi = (...args: string[]): string => execFileSync("pulumi", [...args, "--non-interactive"], { cwd: repoRoot, env: shell, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
        const showName = (): string | undefined => {
            try {
                return pulumi("stack", "--show-name");
            } catch {
                return undefined;
            }
        };
        // This is the shared home a developer's shell uses: put its selection back afterwards.
        const before = showName();
        pulumi("stack", "init", selected);
        try {
            assert.strictEqual(showName(), selected);
            // `outputs` opens (selects) the mirror's stack; `ls` lists every stack.
            expectOk("outputs", await cli(shell, "outputs", "--branch", branch));
            expectOk("ls", await cli(shell, "ls"));
            assert.strictEqual(showName(), selected, "running the CLI changed the stack the shell had selected");
        } finally {
            pulumi("stack", "rm", "--yes", "--stack", selected);
            if (before === undefined) {
                pulumi("stack", "unselect");
            } else {
                pulumi("stack", "select", before);
            }
        }
    });

    it("lists the mirror with its branch, expiry and status", async function () {
        this.timeout(2 * 60_000);
        const r = await cli(env, "ls", "--json");
        expectOk("ls --json", r);
        const row = (JSON.parse(r.stdout) as Array<Record<string, unknown>>).find((m) => m.stack === stack);
        assert.ok(row, `stack ${stack} is not listed: ${r.stdout}`);
        assert.strictEqual(row.branch, branch);
        assert.strictEqual(row.status, "live");
        const left = Date.parse(String(row.expiresAt)) - Date.now();
        assert.ok(left > 100 * 60_000 && left <= 120 * 60_000, `expiry ${String(row.expiresAt)} is not ~2h away`);
        assert.match(String(row.entryUrl), /^http:\/\/gateway\./);
    });

    it("cancels an up on SIGINT and leaves the stack usable", async function () {
        this.timeout(20 * 60_000);
        // A new TTL changes the expiry labels: a real update with steps to interrupt.
        const run = start(env, "up", "--branch", branch, "--commit", commit, "--ttl", "3h", "--no-forward");
        await eventually("the update to start", 300_000, () => (/Updating \(|updating \(/i.test(run.stderr()) || backendLocks(backendDir, "prod-mirror", stack).length > 0 ? true : undefined));
        process.kill(run.child.pid!, "SIGINT");
        const r = await run.done;
        assert.notStrictEqual(r.code, 0, "a cancelled up reported success");
        assert.match(r.stderr, /SIGINT: cancelling up of/);
        // The CLI reports a cancel whatever happened to pulumi: pulumi's own output and the backend's
        // record of the update say whether pulumi itself was stopped, or finished the update unsignalled.
        const [last] = history(stack);
        assert.deepStrictEqual({ kind: last.kind, result: last.result }, { kind: "update", result: "failed" }, "the stack's history does not record the last update as stopped");
        assert.match(r.stderr, /error: update canceled/, "pulumi did not report the update cancelled");
        assert.deepStrictEqual(backendLocks(backendDir, "prod-mirror", stack), [], "the cancelled up left its update lock");
        expectOk("up after a cancelled one", await cli(env, "up", "--branch", branch, "--commit", commit, "--ttl", "2h", "--no-forward"));
    });

    it("recovers from an up killed with SIGKILL, pulumi and all", async function () {
        this.timeout(20 * 60_000);
        const run = start(env, "up", "--branch", branch, "--commit", commit, "--ttl", "4h", "--no-forward");
        await eventually("pulumi to lock the stack", 300_000, () => (backendLocks(backendDir, "prod-mirror", stack).length > 0 ? true : undefined));
        process.kill(-run.child.pid!, "SIGKILL");
        await run.done;
        assert.strictEqual(backendLocks(backendDir, "prod-mirror", stack).length, 1, "the killed run left no lock to recover from");
        const again = await cli(env, "up", "--branch", branch, "--commit", commit, "--ttl", "2h", "--no-forward");
        expectOk("up after a killed one", again);
        // Both locks: ours, which the kernel released when the run died (its record is the proof), and
        // pulumi's, which that proof lets us break.
        assert.match(again.stderr, new RegExp(`run lock of ${stack} was held by pid ${run.child.pid} on [^ ]+ \\(up, since [^)]+\\), which is gone without releasing it`));
        assert.match(again.stderr, /broke the update lock of .* which is gone/);
        assert.deepStrictEqual(backendLocks(backendDir, "prod-mirror", stack), []);
    });

    it("destroys the mirror with down, even after a killed up, leaving no stack and no namespace", async function () {
        this.timeout(20 * 60_000);
        const namespace = JSON.parse((await cli(env, "outputs", "--branch", branch)).stdout).namespace as string;
        // A run killed mid-update leaves the backend locked: down must recover it as up does.
        const run = start(env, "up", "--branch", branch, "--commit", commit, "--ttl", "5h", "--no-forward");
        await eventually("pulumi to lock the stack", 300_000, () => (backendLocks(backendDir, "prod-mirror", stack).length > 0 ? true : undefined));
        process.kill(-run.child.pid!, "SIGKILL");
        await run.done;
        assert.strictEqual(backendLocks(backendDir, "prod-mirror", stack).length, 1, "the killed run left no lock to recover from");
        const r = await cli(env, "down", "--branch", branch);
        expectOk("down", r);
        created = false;
        assert.match(r.stderr, /broke the update lock of .* which is gone/);
        assert.match(r.stderr, /nothing labelled with it is left/);
        assert.strictEqual(kubectl(env, "get", "namespace", namespace, "--ignore-not-found").trim(), "");
        const ls = await cli(env, "ls", "--json");
        assert.ok(!(JSON.parse(ls.stdout) as Array<{ stack: string }>).some((m) => m.stack === stack), "the stack is still listed");
        const again = await cli(env, "down", "--branch", branch);
        expectOk("a second down", again);
        assert.match(again.stderr, /nothing to destroy/);
    });

    it("keeps the stack when an object labelled with it survives down, and finishes on a later down", async function () {
        this.timeout(20 * 60_000);
        const other = `it/cli-survivor-${suffix}`;
        const otherStack = stackNameFor(other);
        const listed = async (): Promise<boolean> => (JSON.parse((await cli(env, "ls", "--json")).stdout) as Array<{ stack: string }>).some((m) => m.stack === otherStack);
        const copy = `${otherStack}-copy`;
        // Another mirror's namespace, as the restricted identity of access/ may make one: the only kind
        // of place outside its own namespace where it (or anyone with its rights) can put a copy.
        const elsewhere = `pm-it-cli-elsewhere-${suffix}`;
        const create = (manifest: unknown): void => {
            execFileSync("kubectl", ["create", "-f", "-"], { env, input: JSON.stringify(manifest), stdio: ["pipe", "ignore", "pipe"] });
        };
        try {
            expectOk("up", await cli(env, "up", "--branch", other, "--commit", commit, "--ttl", "1h", "--no-forward"));
            create({ apiVersion: "v1", kind: "Namespace", metadata: { name: elsewhere, labels: { "app.kubernetes.io/managed-by": "prod-mirror", "prod-mirror.dev/stack": `it-cli-elsewhere-${suffix}`, "pod-security.kubernetes.io/enforce": "restricted" } } });
            create({
                apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "operators", namespace: elsewhere },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "prod-mirror:mirror-admin" },
                subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "prod-mirror:operators" }],
            });
            // A survivor the destroy cannot see: someone copied the mirror's pull secret into another
            // namespace to reuse it, labels and all. Only the label check finds it.
            const namespace = JSON.parse((await cli(env, "outputs", "--branch", other)).stdout).namespace as string;
            const [secret] = kubectlJson(env, "get", "secrets", "-n", namespace, "--field-selector", "type=kubernetes.io/dockerconfigjson").items;
            assert.ok(secret, `no pull secret in ${namespace} to copy`);
            create({ apiVersion: "v1", kind: "Secret", type: secret.type, data: secret.data, metadata: { name: copy, namespace: elsewhere, labels: secret.metadata.labels } });
            const blocked = await cli(env, "down", "--branch", other);
            assert.notStrictEqual(blocked.code, 0, "down reported success with an object of the mirror left");
            assert.match(blocked.stderr, new RegExp(`was destroyed but these objects survive:\\n  secret/${copy} \\(in ${elsewhere}\\)\\n`));
            assert.ok(await listed(), "down removed the stack although an object labelled with it survives");

            kubectl(env, "delete", "secret", copy, "-n", elsewhere);
            const finished = await cli(env, "down", "--branch", other);
            expectOk("down once the survivor is gone", finished);
            assert.match(finished.stderr, /nothing labelled with it is left/);
            assert.ok(!(await listed()), "the stack is still listed after a successful down");
        } finally {
            kubectl(env, "delete", "namespace", elsewhere, "--ignore-not-found", "--wait=false");
            if (await listed()) {
                await cli(env, "down", "--branch", other);
            }
        }
    });
});
