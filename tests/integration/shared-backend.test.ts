// Two CI runners on different machines share one s3:// state backend: each has its own HOME, state
// directory and PULUMI_HOME (external-runner.ts), and nothing else in common but the bucket and the
// cluster. Runs on one branch take turns through the lease in the bucket (cli/lease-lock.ts); a
// runner killed while holding it is taken over only once the lease ran out; `ls` and `reap` from one
// runner see and remove the other's mirror.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describeLocalEnvironment, repoRoot } from "../../cli/local-environment";
import { TAGS } from "../../cli/stack";
import { DEFAULT_NAME_PREFIX } from "../../components/app-spec";
import { namespaceName, stackName as stackNameFor } from "../../components/naming";
import { ensureLocalEnv } from "../local/local-env";
import { cli, downForCleanup, expectOk, type Result, start } from "./cli-runner";
import { defined, EMULATOR, externalRunnerEnv, TestBucket } from "./external-runner";

/** Short, so that the takeover is seen in seconds; both runners use it (a waiter takes the longer of its own and the holder's). */
const LEASE_SECONDS = 10;

describe("shared s3 backend: two runners, one branch", function () {
    const suffix = crypto.randomBytes(3).toString("hex");
    const branch = `shared/it-${suffix}`;
    const stack = stackNameFor(branch);
    const bucket = new TestBucket(`pm-shared-it-${suffix}`);
    const lockKey = `mirrors/.prod-mirror/locks/prod-mirror/${stack}.json`;
    let tmp: string;
    let a: NodeJS.ProcessEnv;
    let b: NodeJS.ProcessEnv;
    let local: ReturnType<typeof describeLocalEnvironment>;
    let created = false;

    const up = (env: NodeJS.ProcessEnv, commit: string): ReturnType<typeof start> => start(env, "up", "--branch", branch, "--commit", commit, "--no-forward", "--lock-timeout", "10m");
    const namespaceExists = (): boolean =>
        execFileSync("kubectl", ["get", "namespace", namespaceName(branch, DEFAULT_NAME_PREFIX), "--ignore-not-found", "-o", "name"], { env: local.env, encoding: "utf8" }).trim() !== "";
    const stacksInBucket = async (): Promise<string[]> => (await bucket.keys()).filter((k) => /\/\.pulumi\/stacks\/.*\.json$/.test(k));

    before(async function () {
        this.timeout(90 * 60_000);
        ensureLocalEnv();
        local = describeLocalEnvironment();
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pm-shared-it-"));
        await bucket.create();
        const lease = { PROD_MIRROR_LEASE_SECONDS: String(LEASE_SECONDS) };
        a = { ...externalRunnerEnv(path.join(tmp, "runner-a"), bucket.backendUrl(), local), ...lease };
        b = { ...externalRunnerEnv(path.join(tmp, "runner-b"), bucket.backendUrl(), local), ...lease };
    });

    after(async function () {
        this.timeout(15 * 60_000);
        if (created) {
            await downForCleanup(a, branch);
        }
        await bucket.remove();
    });

    it("two ups at once take turns and both succeed on one stack; a killed holder is taken over only after its lease; reap from the other runner removes it", async function () {
        this.timeout(30 * 60_000);

        // Two ups of one branch at once, one per runner: the second waits for the first, then updates the same stack.
        created = true;
        const [first, second] = await Promise.all([up(a, "1".repeat(40)).done, up(b, "2".repeat(40)).done]);
        expectOk("runner a's up", first);
        expectOk("runner b's up", second);
        const waited = [first, second].filter((r) => /stack \S+ is busy with pid \d+ on host \S+/.test(r.stderr));
        assert.strictEqual(waited.length, 1, `exactly one up waits for the other's lease:\n${first.stderr.slice(-1500)}\n---\n${second.stderr.slice(-1500)}`);
        assert.deepStrictEqual(await stacksInBucket(), [`mirrors/.pulumi/stacks/prod-mirror/${stack}.json`], "one stack for the branch");
        assert.ok(!(await bucket.keys()).includes(lockKey), "the lease was not released");
        // Each runner sees the mirror, whichever made it.
        for (const [name, env] of [["a", a], ["b", b]] as const) {
            const ls = await cli(env, "ls", "--json");
            expectOk(`runner ${name}'s ls`, ls);
            assert.deepStrictEqual((JSON.parse(ls.stdout) as { stack: string; branch: string }[]).map((r) => [r.stack, r.branch]), [[stack, branch]], `runner ${name}'s ls`);
        }

        // Runner a is killed (with its pulumi) while it holds the lease; runner b's up waits until the lease ran out, then takes it over.
        const doomed = up(a, "3".repeat(40));
        const holdingBy = Date.now() + 120_000;
        while (!(await bucket.keys()).includes(lockKey)) {
            assert.ok(Date.now() < holdingBy, `runner a never took the lease:\n${doomed.stderr().slice(-1500)}`);
            await new Promise((r) => setTimeout(r, 200));
        }
        await new Promise((r) => setTimeout(r, 2000));
        process.kill(-(doomed.child.pid as number), "SIGKILL");
        const killedAt = Date.now();
        const killed: Result = await doomed.done;
        assert.strictEqual(killed.signal, "SIGKILL");
        const takeover = await up(b, "4".repeat(40)).done;
        const waitedMs = Date.now() - killedAt;
        expectOk("runner b's up after the kill", takeover);
        assert.match(takeover.stderr, new RegExp(`whose lease \\(${LEASE_SECONDS}s\\) ran out unrenewed: it is gone; taking it over`));
        assert.ok(waitedMs >= LEASE_SECONDS * 1000, `runner b finished ${waitedMs} ms after the kill, before a lease of ${LEASE_SECONDS} s could run out`);
        assert.deepStrictEqual(await stacksInBucket(), [`mirrors/.pulumi/stacks/prod-mirror/${stack}.json`]);

        // Runner a's reap sees the mirror runner b updated last, once it expired, and removes all of it.
        const pulumiOf = (env: NodeJS.ProcessEnv, ...args: string[]): string => execFileSync("pulumi", [...args, "--stack", stack, "--non-interactive"], { cwd: repoRoot, env: defined(env), encoding: "utf8" });
        // Each up stamps the expiry twice, in the config and as a tag; reap counts the later of the two.
        pulumiOf(a, "config", "set", "prod-mirror:expiresAt", "2000-01-01T00:00:00Z");
        pulumiOf(a, "stack", "tag", "set", TAGS.expiresAt, "2000-01-01T00:00:00Z");
        const reap = await cli(a, "reap", "--aws-endpoint", EMULATOR, "--aws-region", "us-east-1");
        expectOk("runner a's reap", reap);
        assert.match(reap.stdout, new RegExp(`${stack}.*expired at 2000-01-01T00:00:00Z`));
        created = false;
        assert.ok(!namespaceExists(), "the namespace survived the reap");
        assert.deepStrictEqual(await stacksInBucket(), [], "the stack survived the reap");
        const ls = await cli(b, "ls", "--json");
        expectOk("runner b's ls after the reap", ls);
        assert.deepStrictEqual(JSON.parse(ls.stdout), []);
    });
});
