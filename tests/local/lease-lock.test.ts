// The run lock on a shared S3 backend, for real: child processes that each go through guardedRun
// with only PULUMI_BACKEND_URL=s3://... set, against the local environment's emulator (moto on
// 127.0.0.1:4566, whose conditional writes answer 412 as S3 does), in a bucket of the test's own
// that it deletes at the end. The lease is 2 s (PROD_MIRROR_LEASE_SECONDS) so that expiry is quick.
import * as assert from "assert";
import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { guardedRun } from "../../cli/guarded-run";
import { parseLeaseRecord } from "../../cli/lease-lock";
import { describeLocalEnvironment } from "../../cli/local-environment";
import { listening, repoRoot } from "./local-env";

const ENDPOINT = "http://127.0.0.1:4566";
const LEASE_MS = 2000;
const CREDENTIALS = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_REGION: "us-east-1" };

interface Child {
    proc: ChildProcess;
    out: () => string;
    until: (re: RegExp, ms?: number) => Promise<void>;
    done: Promise<number | null>;
}

describe("run lock on an s3 backend: a lease in the bucket (real processes, the emulator)", function () {
    this.timeout(120_000);
    const bucket = `pm-lease-${process.pid}-${Date.now()}`;
    const prefix = "mirrors/";
    const backendUrl = `s3://${bucket}/mirrors?endpoint=127.0.0.1:4566&disableSSL=true&s3ForcePathStyle=true&region=us-east-1`;
    const s3 = new S3Client({ endpoint: ENDPOINT, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    const children: ChildProcess[] = [];
    let tmp = "";
    let pulumiPath = "";

    const leaseKey = (stack: string): string => `${prefix}.prod-mirror/locks/prod-mirror/${stack}.json`;
    const readLease = async (stack: string): Promise<string | undefined> => {
        try {
            const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: leaseKey(stack) }));
            return await out.Body!.transformToString();
        } catch (err) {
            if ((err as { name?: string }).name === "NoSuchKey") {
                return undefined;
            }
            throw err;
        }
    };

    /** What every runner sees: the emulator's credentials, the s3 backend, a 2 s lease, and a pulumi of its own. */
    const runnerEnv = (): NodeJS.ProcessEnv => ({
        ...process.env,
        ...CREDENTIALS,
        PULUMI_BACKEND_URL: backendUrl,
        PROD_MIRROR_LEASE_SECONDS: String(LEASE_MS / 1000),
        PATH: pulumiPath,
        PULUMI_HOME: path.join(tmp, "pulumi-home"),
        PULUMI_CONFIG_PASSPHRASE: "lease-test",
        PULUMI_SKIP_UPDATE_CHECK: "1",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    });

    /** Runs tests/local/lease-child.ts; `group`: as the leader of its own process group, which the test kills whole. */
    function child(args: string[], group = false): Child {
        const proc = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "lease-child.ts"), ...args], {
            cwd: repoRoot,
            env: runnerEnv(),
            stdio: ["ignore", "pipe", "pipe"],
            detached: group,
        });
        children.push(proc);
        let out = "";
        proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
        proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
        const done = new Promise<number | null>((resolve) => proc.on("close", (code) => resolve(code)));
        const until = async (re: RegExp, ms = 30_000): Promise<void> => {
            const deadline = Date.now() + ms;
            while (!re.test(out)) {
                if (Date.now() > deadline || proc.exitCode !== null) {
                    throw new Error(`child ${args.join(" ")} never printed ${re}; it printed:\n${out}`);
                }
                await new Promise((resolve) => setTimeout(resolve, 20));
            }
        };
        return { proc, out: () => out, until, done };
    }

    /** [pid, enter ms, exit ms] per holder, from the file the `take` children append to. */
    function intervals(file: string): Array<[number, number, number]> {
        const lines = fs.readFileSync(file, "utf8").trim().split("\n").map((l) => l.split(" "));
        const enters = lines.filter((l) => l[0] === "enter");
        return enters.map(([, pid, at]) => [Number(pid), Number(at), Number(lines.find((l) => l[0] === "exit" && l[1] === pid)![2])]);
    }

    function assertNoOverlap(spans: Array<[number, number, number]>): void {
        const sorted = [...spans].sort((a, b) => a[1] - b[1]);
        for (let i = 1; i < sorted.length; i++) {
            assert.ok(sorted[i][1] >= sorted[i - 1][2], `holders overlapped: ${JSON.stringify(sorted)}`);
        }
    }

    before(async function () {
        if (!(await listening(4566))) {
            throw new Error("the emulator does not answer on 127.0.0.1:4566: start the local environment with 'bash local/env.sh up'");
        }
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pm-lease-test-"));
        // Only the PATH that has the local environment's pulumi: no cluster is needed or touched.
        pulumiPath = describeLocalEnvironment().env.PATH;
    });

    afterEach(() => {
        for (const proc of children.splice(0)) {
            if (proc.exitCode === null && proc.signalCode === null) {
                try {
                    process.kill(-proc.pid!, "SIGKILL"); // the whole group of one started with `group`, pulumi included
                } catch {
                    proc.kill("SIGKILL");
                }
            }
        }
    });

    after(async () => {
        const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
        const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
        if (keys.length > 0) {
            await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
        }
        await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("fails at once, saying what to check, when the backend's bucket does not exist (a 404 that is not a free lock)", async () => {
        const missing = `${bucket}-missing`;
        const url = backendUrl.replace(`s3://${bucket}/`, `s3://${missing}/`);
        const started = Date.now();
        await assert.rejects(guardedRun(tmp, "pm-x", "up", 1, () => undefined, () => Promise.resolve(), { ...CREDENTIALS, PULUMI_BACKEND_URL: url }), {
            message: `the run lock of pm-x lives in the state backend's bucket (s3://${missing}/mirrors/.prod-mirror/locks/prod-mirror/pm-x.json), which could not be used: ` +
                "NoSuchBucket: The specified bucket does not exist. Check that PULUMI_BACKEND_URL names an existing bucket (and its endpoint/region) " +
                "and that the AWS credentials may read, write and delete objects in it",
        });
        assert.ok(Date.now() - started < 10_000, "it waited for a bucket that does not exist");
    });

    it("two runs of one stack take turns, the second saying whom it waits for, and the lease is gone after both", async () => {
        const file = path.join(tmp, "turns");
        const [a, b] = [child(["take", "pm-turns", "1", file]), child(["take", "pm-turns", "1", file])];
        assert.deepStrictEqual(await Promise.all([a.done, b.done]), [0, 0], `${a.out()}\n${b.out()}`);
        const spans = intervals(file);
        assert.strictEqual(spans.length, 2);
        assertNoOverlap(spans);
        assert.ok(a.out().includes("previous none") && b.out().includes("previous none"), "a clean release was taken for a death");
        const waiter = [a, b].find((c) => c.out().includes("is busy"));
        assert.ok(waiter !== undefined, "neither run waited for the other");
        assert.match(waiter.out(), new RegExp(`log stack pm-turns is busy with pid \\d+ on host ${os.hostname()} \\(take, since [^)]+\\); waiting up to 1 min`));
        assert.strictEqual(await readLease("pm-turns"), undefined, "the lease object outlived its last holder");
    });

    it("a holder killed with SIGKILL is taken over only once its lease ran out unrenewed, and the taker learns it died", async () => {
        const holder = child(["hold", "pm-killed", "1"]);
        await holder.until(/^held$/m);
        holder.proc.kill("SIGKILL");
        await holder.done;
        const taker = child(["take", "pm-killed", "1", path.join(tmp, "killed")]);
        assert.strictEqual(await taker.done, 0, taker.out());
        const waited = Number(/^waited (\d+)$/m.exec(taker.out())![1]);
        assert.ok(waited >= LEASE_MS, `taken over after ${waited} ms, within the lease (${LEASE_MS} ms)`);
        assert.match(taker.out(), new RegExp(`^previous ${holder.proc.pid}$`, "m"));
        assert.match(taker.out(), new RegExp(`log run lock of pm-killed was held by pid ${holder.proc.pid} on host ${os.hostname()} \\(hold, since [^)]+\\), whose lease \\(2s\\) ran out unrenewed: it is gone; taking it over`));
    });

    it("a live holder renewing over several leases is never taken over: the waiter gives up at --lock-timeout naming it", async () => {
        const holder = child(["hold", "pm-live", "1"]);
        await holder.until(/^held$/m);
        // 0.15 min = 9 s = 4.5 leases.
        const waiter = child(["take", "pm-live", "0.15", path.join(tmp, "live")]);
        assert.strictEqual(await waiter.done, 1, waiter.out());
        assert.match(waiter.out(), new RegExp(`^error LockTimeoutError: stack pm-live is busy: pid ${holder.proc.pid} on host ${os.hostname()} \\(hold, since [^)]+\\) holds s3://${bucket}/${leaseKey("pm-live").replace(/\./g, "\\.")}\\. Wait for it`, "m"));
        const record = parseLeaseRecord((await readLease("pm-live"))!)!;
        assert.strictEqual(record.pid, holder.proc.pid);
        assert.ok(record.renewals >= 12, `the holder renewed only ${record.renewals} times in over 9 s of a 2 s lease`);
        holder.proc.kill("SIGTERM");
        assert.strictEqual(await holder.done, 1);
        assert.match(holder.out(), /^error CancelledError: hold of pm-live was cancelled by a signal/m);
        assert.strictEqual(await readLease("pm-live"), undefined, "a cancelled holder left its lease behind");
    });

    it("three waiters on a dead holder: exactly one takes it over, the others follow in turn after clean releases", async () => {
        const holder = child(["hold", "pm-three", "1"]);
        await holder.until(/^held$/m);
        const file = path.join(tmp, "three");
        const takers = [1, 2, 3].map(() => child(["take", "pm-three", "1", file]));
        await Promise.all(takers.map((t) => t.until(/is busy with/)));
        holder.proc.kill("SIGKILL");
        assert.deepStrictEqual(await Promise.all(takers.map((t) => t.done)), [0, 0, 0], takers.map((t) => t.out()).join("\n"));
        const previous = takers.map((t) => /^previous (\S+)$/m.exec(t.out())![1]).sort();
        assert.deepStrictEqual(previous, [String(holder.proc.pid), "none", "none"]);
        assertNoOverlap(intervals(file));
    });

    it("a run killed with its pulumi mid-update: the next run takes the lease over after it ran out, then breaks Pulumi's update lock it left in the bucket", async function () {
        this.timeout(300_000);
        const stack = "pm-pulumi-lock";
        const program = path.join(__dirname, "fixtures", "slow-program");
        const init = spawnSync("pulumi", ["stack", "init", stack, "--non-interactive", "--cwd", program], { env: runnerEnv(), encoding: "utf8" });
        assert.strictEqual(init.status, 0, init.stderr);
        const updater = child(["update", stack, "1", program], true);
        await updater.until(/^updating \d+$/m);
        const locks = `${prefix}.pulumi/locks/organization/prod-mirror/${stack}/`;
        let key: string | undefined;
        for (let i = 0; i < 600 && key === undefined; i++) {
            key = (await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: locks }))).Contents?.[0]?.Key;
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.ok(key !== undefined && key.endsWith(".json"), `pulumi took no update lock under ${locks}:\n${updater.out()}`);
        const lock = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString()) as { pid: number; hostname: string; timestamp: string };
        assert.strictEqual(lock.pid, Number(/^updating (\d+)$/m.exec(updater.out())![1]), "the lock is not the pulumi the run started");
        process.kill(-updater.proc.pid!, "SIGKILL");
        await updater.done;

        const recoverer = child(["recover", stack, "1", program]);
        assert.strictEqual(await recoverer.done, 0, recoverer.out());
        assert.match(recoverer.out(), new RegExp(`log run lock of ${stack} was held by pid ${updater.proc.pid} on host ${os.hostname()} \\(update, since [^)]+\\), whose lease \\(2s\\) ran out unrenewed`));
        assert.ok(recoverer.out().includes(`log broke the update lock of ${stack} left by pid ${lock.pid} on ${lock.hostname} (since ${lock.timestamp}), which is gone\n`), recoverer.out());
        assert.deepStrictEqual((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: locks }))).Contents ?? [], [], "Pulumi's update lock is still in the bucket");
        const rm = spawnSync("pulumi", ["stack", "rm", stack, "--yes", "--force", "--non-interactive", "--cwd", program], { env: runnerEnv(), encoding: "utf8" });
        assert.strictEqual(rm.status, 0, rm.stderr);
    });

    it("a holder whose lease another took over stops its run, says so, and leaves the other's lease alone", async () => {
        const holder = child(["hold", "pm-lost", "1"]);
        await holder.until(/^held$/m);
        const theirs = JSON.stringify({ pid: 1, hostname: "elsewhere", command: "up", since: new Date().toISOString(), leaseSeconds: 60, renewals: 0 });
        // What a waiter that wrongly judged it dead would do: replace the object.
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: leaseKey("pm-lost"), Body: theirs }));
        assert.strictEqual(await holder.done, 1, holder.out());
        assert.match(holder.out(), new RegExp(`^log lost the run lock of pm-lost \\(s3://${bucket}/[^)]+\\): its renewal was refused: another run took the lease over, or the lock object was removed; another run may be changing the stack, so this run stops$`, "m"));
        assert.match(holder.out(), /^error LockLostError: hold of pm-lost was stopped: it lost its run lock \(s3:\/\//m);
        assert.strictEqual(await readLease("pm-lost"), theirs);
    });
});
