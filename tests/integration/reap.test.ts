// The reaper against the real local environment: the file backend, the cluster, and a private moto
// on a loopback port. Every name carries a per-run suffix, and every test removes what it made even
// when it fails. A live stack (never updated) stands for "a stack that exists": its config expiry is
// in the past and its tag in the future, so it also shows that the tag, which `up` stamps, wins.
import * as assert from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { CreateBucketCommand, ListBucketsCommand, PutBucketTaggingCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { reap, type ReapItem, type ReapOptions, type ReapReport } from "../../cli/reap";
import { acquireRunLock } from "../../cli/run-lock";
import { ensureLocalEnv, freePort, repoRoot } from "../local/local-env";
import { eventually, kubectl } from "./cluster";

const log = (line: string): void => {
    process.stderr.write(`      ${line}\n`);
};

function item(report: ReapReport, name: string): ReapItem {
    const found = report.items.filter((i) => i.name === name);
    assert.strictEqual(found.length, 1, `want one item ${name} in the report:\n${JSON.stringify(report.items, null, 2)}`);
    return found[0];
}

describe("reap on the local environment", function () {
    const suffix = `${Date.now().toString(36)}${crypto.randomBytes(2).toString("hex")}`;
    const liveStack = `reap-live-${suffix}`;
    const liveUntil = new Date(Date.now() + 3_600_000).toISOString();
    const goneStack = `reap-gone-${suffix}`;
    let workspace: LocalWorkspace;
    let env: NodeJS.ProcessEnv;
    let stateDir: string;
    const stacksMade: string[] = [];

    const options = (over: Partial<ReapOptions> = {}): ReapOptions => ({
        dryRun: false,
        now: new Date(),
        awsRegion: "us-east-1",
        lockTimeoutMs: 1000,
        log,
        env,
        lockDir: path.join(stateDir, "locks"),
        runDir: path.join(stateDir, "run"),
        ...over,
    });

    async function stackNames(): Promise<string[]> {
        return (await workspace.listStacks()).map((s) => s.name.slice(s.name.lastIndexOf("/") + 1));
    }

    /** An empty stack of the prod-mirror project (no `up`), its expiry in config. */
    async function makeStack(name: string, expiresAt: string): Promise<void> {
        stacksMade.push(name);
        const stack = await LocalWorkspace.createOrSelectStack({ stackName: name, workDir: repoRoot });
        await stack.setConfig("prod-mirror:expiresAt", { value: expiresAt });
    }

    before(async function () {
        this.timeout(90 * 60_000);
        const local = ensureLocalEnv();
        // The Automation API finds `pulumi` and the backend through this process's environment.
        Object.assign(process.env, local);
        env = { ...process.env };
        // Only the test that starts its own moto looks at AWS.
        delete env.AWS_ENDPOINT_URL;
        stateDir = env.PROD_MIRROR_STATE ?? "";
        assert.ok(stateDir, "the local environment exported no PROD_MIRROR_STATE");
        workspace = await LocalWorkspace.create({ workDir: repoRoot });
        await makeStack(liveStack, new Date(Date.now() - 3_600_000).toISOString());
        await workspace.setTag(liveStack, "prod-mirror:expiresAt", liveUntil);
    });

    after(async function () {
        this.timeout(5 * 60_000);
        const left = await stackNames();
        for (const name of stacksMade.filter((n) => left.includes(n))) {
            await workspace.removeStack(name, { force: true });
        }
        for (const name of stacksMade) {
            fs.rmSync(path.join(repoRoot, `Pulumi.${name}.yaml`), { force: true });
        }
    });

    describe("namespaces", function () {
        const orphan = `pm-reap-orphan-${suffix}`;
        const owned = `pm-reap-live-${suffix}`;

        function makeNamespace(name: string, stack: string): void {
            const manifest = {
                apiVersion: "v1",
                kind: "Namespace",
                metadata: {
                    name,
                    labels: { "app.kubernetes.io/managed-by": "prod-mirror", "prod-mirror.dev/stack": stack },
                    annotations: { "prod-mirror.dev/stack": stack },
                },
            };
            const r = spawnSync("kubectl", ["apply", "-f", "-"], { env, input: JSON.stringify(manifest), encoding: "utf8" });
            assert.strictEqual(r.status, 0, `kubectl apply of namespace ${name} exited ${r.status}: ${r.stderr}`);
        }

        const exists = (name: string): boolean => kubectl(env, "get", "namespaces", "-o", "name").split("\n").includes(`namespace/${name}`);

        after(function () {
            this.timeout(3 * 60_000);
            kubectl(env, "delete", "namespace", orphan, owned, "--ignore-not-found", "--wait=true", "--timeout=120s");
        });

        it("deletes a namespace whose stack does not exist and keeps one of an existing stack; --dry-run deletes nothing", async function () {
            this.timeout(5 * 60_000);
            makeNamespace(orphan, goneStack);
            makeNamespace(owned, liveStack);
            await eventually("both test namespaces", 30_000, () => (exists(orphan) && exists(owned) ? true : undefined));

            const dry = await reap(options({ dryRun: true }));
            assert.strictEqual(dry.failed, 0, JSON.stringify(dry.items));
            assert.deepStrictEqual(item(dry, orphan), { kind: "namespace", name: orphan, stack: goneStack, reason: `no stack ${goneStack}`, action: "would delete" });
            assert.ok(exists(orphan), "--dry-run deleted the orphan namespace");

            const report = await reap(options());
            assert.strictEqual(report.failed, 0, JSON.stringify(report.items));
            assert.deepStrictEqual(item(report, orphan), { kind: "namespace", name: orphan, stack: goneStack, reason: `no stack ${goneStack}`, action: "deleted" });
            assert.deepStrictEqual(item(report, owned), { kind: "namespace", name: owned, stack: liveStack, reason: `stack ${liveStack} exists`, action: "kept" });
            assert.ok(!exists(orphan), `${orphan} is still there`);
            assert.ok(exists(owned), `${owned} was deleted`);
        });
    });

    describe("AWS resources on a private moto", function () {
        let moto: ChildProcess | undefined;
        let endpoint = "";
        let s3: S3Client;
        let sqs: SQSClient;
        let dynamo: DynamoDBClient;
        const name = (role: string): string => `reap-${role}-${suffix}`;
        const tags = (stack: string): Record<string, string> => ({ "prod-mirror:managed-by": "prod-mirror", "prod-mirror:stack": stack });
        const tagList = (stack: string): Array<{ Key: string; Value: string }> => Object.entries(tags(stack)).map(([Key, Value]) => ({ Key, Value }));

        async function makeTable(table: string, stack: string): Promise<void> {
            await dynamo.send(new CreateTableCommand({
                TableName: table,
                BillingMode: "PAY_PER_REQUEST",
                AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
                KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
                Tags: tagList(stack),
            }));
        }

        before(async function () {
            this.timeout(3 * 60_000);
            const port = await freePort();
            endpoint = `http://127.0.0.1:${port}`;
            moto = spawn("bash", [path.join(repoRoot, "local", "emulator", "run-moto.sh"), String(port)], { env, stdio: "ignore" });
            await eventually(`moto on ${endpoint}`, 60_000, () =>
                fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2000) }).then((r) => (r.ok ? true : undefined), () => undefined));
            const common = { endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } };
            s3 = new S3Client({ ...common, forcePathStyle: true });
            sqs = new SQSClient(common);
            dynamo = new DynamoDBClient(common);
        });

        after(async function () {
            this.timeout(60_000);
            // moto keeps everything in memory: stopping it by its pid removes every resource with it.
            if (moto?.pid !== undefined && moto.exitCode === null) {
                const exited = new Promise((resolve) => moto?.once("exit", resolve));
                process.kill(moto.pid, "SIGTERM");
                await exited;
            }
        });

        it("deletes the orphan bucket (emptied first), queue and table; keeps a live stack's; ignores untagged ones", async function () {
            this.timeout(5 * 60_000);
            await s3.send(new CreateBucketCommand({ Bucket: name("orphan") }));
            await s3.send(new PutBucketTaggingCommand({ Bucket: name("orphan"), Tagging: { TagSet: tagList(goneStack) } }));
            await s3.send(new PutObjectCommand({ Bucket: name("orphan"), Key: "leftover.txt", Body: "left behind" }));
            await s3.send(new CreateBucketCommand({ Bucket: name("live") }));
            await s3.send(new PutBucketTaggingCommand({ Bucket: name("live"), Tagging: { TagSet: tagList(liveStack) } }));
            await s3.send(new CreateBucketCommand({ Bucket: name("untagged") }));
            const orphanQueue = (await sqs.send(new CreateQueueCommand({ QueueName: name("orphan"), tags: tags(goneStack) }))).QueueUrl ?? "";
            const liveQueue = (await sqs.send(new CreateQueueCommand({ QueueName: name("live"), tags: tags(liveStack) }))).QueueUrl ?? "";
            await makeTable(name("orphan"), goneStack);
            await makeTable(name("live"), liveStack);

            const dry = await reap(options({ dryRun: true, awsEndpoint: endpoint }));
            assert.strictEqual(dry.failed, 0, JSON.stringify(dry.items));
            assert.deepStrictEqual(dry.items.filter((i) => i.stack === goneStack).map((i) => [i.kind, i.action]).sort(), [["bucket", "would delete"], ["queue", "would delete"], ["table", "would delete"]]);
            assert.ok(((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).some((b) => b.Name === name("orphan")), "--dry-run deleted the bucket");

            const report = await reap(options({ awsEndpoint: endpoint }));
            assert.strictEqual(report.failed, 0, JSON.stringify(report.items));
            const aws = report.items.filter((i) => ["bucket", "queue", "table"].includes(i.kind));
            assert.deepStrictEqual(
                aws.map((i) => [i.kind, i.name, i.stack, i.reason, i.action]).sort(),
                [
                    ["bucket", name("live"), liveStack, `stack ${liveStack} exists`, "kept"],
                    ["bucket", name("orphan"), goneStack, `no stack ${goneStack}`, "deleted"],
                    ["queue", liveQueue, liveStack, `stack ${liveStack} exists`, "kept"],
                    ["queue", orphanQueue, goneStack, `no stack ${goneStack}`, "deleted"],
                    ["table", name("live"), liveStack, `stack ${liveStack} exists`, "kept"],
                    ["table", name("orphan"), goneStack, `no stack ${goneStack}`, "deleted"],
                ].sort(),
            );
            const buckets = ((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name);
            assert.deepStrictEqual(buckets.filter((b) => b?.endsWith(suffix)).sort(), [name("live"), name("untagged")].sort());
            assert.deepStrictEqual((await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? [], [liveQueue]);
            assert.deepStrictEqual((await dynamo.send(new ListTablesCommand({}))).TableNames ?? [], [name("live")]);
        });
    });

    describe("an expired stack", function () {
        const expired = `reap-expired-${suffix}`;

        it("is reported but kept by --dry-run, skipped while busy, kept when extended while reap waited, then destroyed and removed", async function () {
            this.timeout(10 * 60_000);
            const past = new Date(Date.now() - 60_000).toISOString();
            await makeStack(expired, past);
            assert.ok((await stackNames()).includes(expired));

            const dry = await reap(options({ dryRun: true }));
            assert.deepStrictEqual(item(dry, expired), { kind: "stack", name: expired, stack: expired, reason: `expired at ${past}`, action: "would destroy" });
            assert.strictEqual(item(dry, liveStack).action, "kept");
            assert.ok((await stackNames()).includes(expired), "--dry-run removed the stack");

            const locks = path.join(stateDir, "locks");
            let lock = await acquireRunLock(locks, expired, "test holds it", 0, log);
            try {
                const busy = await reap(options({ lockTimeoutMs: 500 }));
                assert.strictEqual(item(busy, expired).action, "skipped: busy");
                assert.ok((await stackNames()).includes(expired), "a busy stack was removed");
            } finally {
                lock.release();
            }

            // An `up` between reap's listing and its lock extends the mirror: reap must look again.
            lock = await acquireRunLock(locks, expired, "test holds it", 0, log);
            const extendedTo = new Date(Date.now() + 3_600_000).toISOString();
            const lines: string[] = [];
            let waiting: Promise<ReapReport> | undefined;
            try {
                waiting = reap(options({ lockTimeoutMs: 60_000, log: (l) => lines.push(l) }));
                await eventually("reap to wait for the lock", 60_000, () => (lines.some((l) => l.includes(`stack ${expired} is busy`)) ? true : undefined));
                await workspace.setTag(expired, "prod-mirror:expiresAt", extendedTo);
            } finally {
                lock.release();
            }
            const extended = await waiting;
            assert.deepStrictEqual(item(extended, expired), {
                kind: "stack", name: expired, stack: expired, reason: `expires at ${extendedTo} (changed while reap waited)`, action: "kept",
            });
            assert.ok((await stackNames()).includes(expired), "an extended stack was removed");

            const pastAgain = new Date(Date.now() - 1000).toISOString();
            await workspace.setTag(expired, "prod-mirror:expiresAt", pastAgain);
            const report = await reap(options());
            assert.strictEqual(report.failed, 0, JSON.stringify(report.items));
            assert.deepStrictEqual(item(report, expired), { kind: "stack", name: expired, stack: expired, reason: `expired at ${pastAgain}`, action: "destroyed" });
            assert.deepStrictEqual(item(report, liveStack), { kind: "stack", name: liveStack, stack: liveStack, reason: `expires at ${liveUntil}`, action: "kept" });
            const left = await stackNames();
            assert.ok(!left.includes(expired), `stack ${expired} is still on the backend`);
            assert.ok(left.includes(liveStack), `stack ${liveStack} was removed`);
        });
    });
});
