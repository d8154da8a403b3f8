// An external target, as a team's CI job would give one: the local cluster reached through a
// kubeconfig file named by KUBECONFIG, the local registry through GitLab's CI_REGISTRY variables
// (its push user), state in an s3:// bucket on the local AWS emulator that the test creates, a HOME
// and PULUMI_HOME of the test's own. `up` must write nothing of the local default into the stack;
// bad input must fail within seconds, naming the endpoint and its setting, with nothing created.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describeLocalEnvironment, repoRoot } from "../../cli/local-environment";
import { DEFAULT_NAME_PREFIX } from "../../components/app-spec";
import { namespaceName, stackName as stackNameFor } from "../../components/naming";
import { ensureLocalEnv, freePort } from "../local/local-env";
import { cli, downForCleanup, expectOk, type Result } from "./cli-runner";
import { defined, EMULATOR, externalRunnerEnv, pushUser, TestBucket } from "./external-runner";

describe("external target: the local cluster, registry and emulator as a team's own", function () {
    const suffix = crypto.randomBytes(3).toString("hex");
    const branch = `target/it-${suffix}`;
    const stack = stackNameFor(branch);
    const commit = "0123456789abcdef0123456789abcdef01234567";
    const bucket = new TestBucket(`pm-target-it-${suffix}`);
    let tmp: string;
    let env: NodeJS.ProcessEnv;
    let local: ReturnType<typeof describeLocalEnvironment>;
    let push: { user: string; password: string };
    let created = false;

    const keys = (name?: string): Promise<string[]> => bucket.keys(name);

    const namespaceExists = (key: string): boolean => {
        const r = execFileSync("kubectl", ["get", "namespace", namespaceName(key, DEFAULT_NAME_PREFIX), "--ignore-not-found", "-o", "name"], { env: local.env, encoding: "utf8" });
        return r.trim() !== "";
    };

    before(async function () {
        this.timeout(90 * 60_000);
        ensureLocalEnv();
        local = describeLocalEnvironment();
        push = pushUser(local);
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pm-target-it-"));
        await bucket.create();
        env = externalRunnerEnv(tmp, bucket.backendUrl(), local);
    });

    after(async function () {
        this.timeout(15 * 60_000);
        if (created) {
            await downForCleanup(env, branch);
        }
        await bucket.remove();
    });

    it("up, outputs, ls and down on it: the stack holds the target's registry and pull user, nothing of the local default", async function () {
        this.timeout(30 * 60_000);
        const doctor = await cli(env, "doctor");
        expectOk("doctor", doctor);
        assert.ok(doctor.stdout.startsWith("target:    external (KUBECONFIG, PULUMI_BACKEND_URL are set)\n"), doctor.stdout);
        assert.match(doctor.stdout, new RegExp(`^ok {4}registry \\(push\\) +127\\.0\\.0\\.1:5000: ${push.user} accepted \\(CI_REGISTRY_USER/CI_REGISTRY_PASSWORD\\)$`, "m"));
        assert.match(doctor.stdout, /^ok {4}state backend +s3:\/\/pm-target-it-/m);
        assert.match(doctor.stdout, /^everything a mirror needs answers$/m);

        created = true;
        const up = await cli(env, "up", "--branch", branch, "--commit", commit, "--ttl", "2h", "--no-forward");
        expectOk("up", up);
        // CI_REGISTRY is the local registry's address: it alone would not have chosen an external target.
        assert.match(up.stderr, /\[prod-mirror\] target: {4}external \(KUBECONFIG, PULUMI_BACKEND_URL are set\)\n/);
        assert.match(up.stderr, new RegExp(`registry: {2}127\\.0\\.0\\.1:5000 \\(CI_REGISTRY\\); push as ${push.user} \\(CI_REGISTRY_USER/CI_REGISTRY_PASSWORD\\); pull as ${push.user} `));
        assert.ok(!up.stderr.includes(push.password), "up printed the registry password");

        // The stack's config: the given registry and pull user; no local pull user, password or emulator digest.
        const stackEnv = defined(env);
        const pulumi = (...args: string[]): string => execFileSync("pulumi", [...args, "--stack", stack, "--non-interactive"], { cwd: repoRoot, env: stackEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        const config = JSON.parse(pulumi("config", "--json", "--show-secrets")) as Record<string, { value?: string }>;
        assert.deepStrictEqual(
            [config["prod-mirror:registryServer"]?.value, config["prod-mirror:registryUsername"]?.value, config["prod-mirror:registryPassword"]?.value === push.password, config["prod-mirror:emulatorImage"]?.value],
            ["127.0.0.1:5000", push.user, true, env.PROD_MIRROR_EMULATOR_IMAGE],
        );
        assert.strictEqual(config["prod-mirror:kubeconfig"], undefined, "the kubeconfig (with its credentials) must not be copied into the stack");
        const state = pulumi("stack", "export", "--show-secrets");
        assert.ok(!state.includes(local.registry.password), "the local pull password is in the exported state");
        assert.ok(!state.includes(Buffer.from(`${local.registry.username}:${local.registry.password}`).toString("base64")), "the local pull credentials are in the exported state");

        // The pull secret in the cluster carries the given user.
        const namespace = namespaceName(branch, DEFAULT_NAME_PREFIX);
        const secrets = JSON.parse(execFileSync("kubectl", ["get", "secrets", "-n", namespace, "--field-selector", "type=kubernetes.io/dockerconfigjson", "-o", "json"], { env: local.env, encoding: "utf8" })) as {
            items: { data: Record<string, string> }[];
        };
        assert.strictEqual(secrets.items.length, 1);
        const auths = JSON.parse(Buffer.from(secrets.items[0].data[".dockerconfigjson"], "base64").toString("utf8")) as { auths: Record<string, { username: string }> };
        assert.deepStrictEqual(Object.entries(auths.auths).map(([server, a]) => [server, a.username]), [["127.0.0.1:5000", push.user]]);

        // The CLI's own files are under the test's HOME, not the local default's state; the run lock
        // lives where the state lives: a lease in the bucket, released, and no flock file anywhere.
        const targets = path.join(tmp, "home", ".local", "state", "prod-mirror-targets");
        assert.strictEqual(fs.readdirSync(targets).length, 1);
        assert.ok(!fs.existsSync(path.join(targets, fs.readdirSync(targets)[0], "locks", `${stack}.lock`)), "an s3 target's run took a local flock instead of the lease");
        assert.ok(!fs.existsSync(path.join(local.mirrorsDir, "locks", `${stack}.lock`)), "the external run took a lock in the local default's state");
        assert.deepStrictEqual((await keys()).filter((k) => k.includes(".prod-mirror/locks/")), [], "the lease was not released");

        const outputs = await cli(env, "outputs", "--branch", branch, "--format", "dotenv");
        expectOk("outputs", outputs);
        assert.match(outputs.stdout, new RegExp(`^PROD_MIRROR_NAMESPACE=['"]?${namespace}['"]?$`, "m"));
        const ls = await cli(env, "ls", "--json");
        expectOk("ls", ls);
        assert.deepStrictEqual((JSON.parse(ls.stdout) as { stack: string; branch: string }[]).map((r) => [r.stack, r.branch]), [[stack, branch]]);
        assert.ok((await keys()).some((k) => k.startsWith("mirrors/.pulumi/stacks/") && k.includes(stack)), "the stack is not in the bucket under the URL's prefix");

        const down = await cli(env, "down", "--branch", branch);
        expectOk("down", down);
        created = false;
        assert.ok(!namespaceExists(branch), "the namespace survived down");
        // `pulumi stack rm` on a DIY backend keeps the last state as <stack>.json.bak: a backup, not a stack.
        const left = (await keys()).filter((k) => k.includes("/stacks/") && k.includes(stack));
        assert.deepStrictEqual(left, [`mirrors/.pulumi/stacks/prod-mirror/${stack}.json.bak`], "the bucket still holds the stack");
        const after = await cli(env, "ls", "--json");
        expectOk("ls after down", after);
        assert.deepStrictEqual(JSON.parse(after.stdout), []);
    });

    describe("bad input: fails within seconds, names the endpoint and its setting, creates nothing", () => {
        /** Runs `up` of a fresh branch with `change` applied to the target; asserts the bound and that nothing was created. */
        async function failingUp(change: Record<string, string | undefined>, boundMs = 20_000): Promise<{ r: Result; key: string }> {
            const key = `target/bad-${crypto.randomBytes(3).toString("hex")}`;
            const before = await keys();
            const started = Date.now();
            const r = await cli(defined({ ...env, ...change }), "up", "--branch", key, "--commit", commit, "--no-forward");
            const took = Date.now() - started;
            assert.strictEqual(r.code, 1, `up exited ${r.code}:\n${r.stderr.slice(-2000)}`);
            assert.ok(took < boundMs, `up took ${took} ms to fail (bound ${boundMs} ms)`);
            assert.deepStrictEqual(await keys(), before, "the bucket changed");
            assert.ok(!namespaceExists(key), "a namespace was created");
            return { r, key };
        }

        it("an unreachable cluster: a kubeconfig pointing at a closed port", async function () {
            this.timeout(120_000);
            const port = await freePort();
            const kubeconfig = path.join(tmp, "closed.kubeconfig");
            fs.writeFileSync(kubeconfig, fs.readFileSync(local.env.KUBECONFIG, "utf8").replace(/server: \S+/, `server: https://127.0.0.1:${port}`));
            const { r } = await failingUp({ KUBECONFIG: kubeconfig });
            assert.match(r.stderr, new RegExp(`^prod-mirror: the cluster at https://127\\.0\\.0\\.1:${port} \\(KUBECONFIG \\(its current context\\)\\) does not answer: .*was refused.*; nothing was created; check KUBECONFIG \\(its current context\\) and that the cluster runs\\n`, "m"));
        });

        it("a --context the kubeconfig does not have", async function () {
            this.timeout(120_000);
            const key = `target/bad-${crypto.randomBytes(3).toString("hex")}`;
            const r = await cli(env, "up", "--branch", key, "--commit", commit, "--no-forward", "--context", "nope");
            assert.strictEqual(r.code, 1, r.stderr);
            assert.match(r.stderr, new RegExp(`^prod-mirror: --context "nope" is not a context of ${env.KUBECONFIG} \\(KUBECONFIG and --context\\): .*; pass one that 'kubectl config get-contexts' lists; nothing was created\n`, "m"));
            assert.ok(!namespaceExists(key));
        });

        it("an unreachable registry", async function () {
            this.timeout(120_000);
            const port = await freePort();
            const { r } = await failingUp({ CI_REGISTRY: `127.0.0.1:${port}` });
            assert.match(r.stderr, new RegExp(`^prod-mirror: the registry 127\\.0\\.0\\.1:${port} \\(CI_REGISTRY\\) does not answer at http://127\\.0\\.0\\.1:${port}/v2/: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}; nothing was created; check CI_REGISTRY and that the registry runs\\n`, "m"));
        });

        it("refused registry credentials", async function () {
            this.timeout(120_000);
            const { r } = await failingUp({ CI_REGISTRY_PASSWORD: "not-the-password" });
            assert.ok(r.stderr.includes(`prod-mirror: the registry 127.0.0.1:5000 (CI_REGISTRY) refused user ${push.user} (CI_REGISTRY_USER/CI_REGISTRY_PASSWORD): HTTP 401; nothing was created; check CI_REGISTRY_USER/CI_REGISTRY_PASSWORD\n`), r.stderr);
            assert.ok(!r.stderr.includes("not-the-password"));
        });

        it("a state bucket that does not exist, and a backend endpoint that is closed", async function () {
            this.timeout(120_000);
            const missing = `pm-target-missing-${suffix}`;
            const { r } = await failingUp({ PULUMI_BACKEND_URL: `s3://${missing}?endpoint=${EMULATOR}&s3ForcePathStyle=true&region=us-east-1` });
            assert.ok(r.stderr.includes(`prod-mirror: the state bucket ${missing} does not exist at ${EMULATOR} (PULUMI_BACKEND_URL): nothing was created; create it once (aws s3 mb s3://${missing}) or fix PULUMI_BACKEND_URL\n`), r.stderr);
            await assert.rejects(keys(missing), /NoSuchBucket|does not exist/, "the missing bucket was created");
            const port = await freePort();
            const closed = await failingUp({ PULUMI_BACKEND_URL: `s3://${bucket.name}?endpoint=http://127.0.0.1:${port}&s3ForcePathStyle=true&region=us-east-1` });
            assert.match(closed.r.stderr, new RegExp(`^prod-mirror: the state backend http://127\\.0\\.0\\.1:${port} \\(PULUMI_BACKEND_URL, bucket ${bucket.name}\\) does not answer: .*ECONNREFUSED.*; nothing was created; check PULUMI_BACKEND_URL's endpoint and that it runs\\n`, "m"));
        });

        it("a malformed PULUMI_BACKEND_URL, and a target missing its registry", async function () {
            this.timeout(120_000);
            const { r } = await failingUp({ PULUMI_BACKEND_URL: `s3:/${bucket.name}` }, 10_000);
            assert.ok(r.stderr.startsWith(`prod-mirror: an external target (chosen because KUBECONFIG, PULUMI_BACKEND_URL are set) needs a cluster, a registry and a state backend; one part is missing or invalid:\n` +
                `  - state backend: PULUMI_BACKEND_URL "s3:/${bucket.name}" is not a usable state backend: it has no scheme (file://, s3:// or https://).`), r.stderr);
            const none = await failingUp({ CI_REGISTRY: undefined, CI_REGISTRY_USER: undefined, CI_REGISTRY_PASSWORD: undefined }, 10_000);
            assert.ok(none.r.stderr.includes("  - registry: none given; set PROD_MIRROR_REGISTRY=host[:port] (GitLab CI sets CI_REGISTRY; a GitHub job with GITHUB_TOKEN uses ghcr.io)\n"), none.r.stderr);
        });
    });
});
