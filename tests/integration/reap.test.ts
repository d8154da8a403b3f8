// The reaper against the real cluster and a private moto, but never against anyone's live state:
// its own Pulumi backend (PULUMI_BACKEND_URL=file://<temp dir>), its own PULUMI_HOME, lock and run
// directories, and its own installation id. So the reaps below can only ever see this test's stacks,
// and can only delete objects labelled with this test's installation; every other namespace on the
// shared cluster is at most reported as `not provably ours`. Every name carries a per-run suffix,
// and the test removes what it made even when it fails.
import * as assert from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CreateBucketCommand, DeleteBucketCommand, ListBucketsCommand, PutBucketTaggingCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { reap, type ReapItem, type ReapOptions, type ReapReport } from "../../cli/reap";
import { acquireRunLock } from "../../cli/run-lock";
import { labelValue } from "../../components/naming";
import { asClusterAdmin, ensureLocalEnv, freePort, repoRoot } from "../local/local-env";
import { eventually, kubectl } from "./cluster";

const log = (line: string): void => {
    process.stderr.write(`      ${line}\n`);
};

function item(report: ReapReport, name: string): ReapItem {
    const found = report.items.filter((i) => i.name === name);
    assert.strictEqual(found.length, 1, `want one item ${name} in the report:\n${JSON.stringify(report.items, null, 2)}`);
    return found[0];
}

/** The report's items about this test's own objects (the shared cluster has others). */
const mine = (report: ReapReport, suffix: string): ReapItem[] => report.items.filter((i) => i.name.includes(suffix));

describe("reap on the local environment (own backend, own installation)", function () {
    const suffix = `${Date.now().toString(36)}${crypto.randomBytes(2).toString("hex")}`;
    const installation = `t-${suffix}`;
    const liveStack = `reap-live-${suffix}`;
    const liveUntil = new Date(Date.now() + 3_600_000).toISOString();
    const goneStack = `reap-gone-${suffix}`;
    let tmp = "";
    let workspace: LocalWorkspace;
    let env: NodeJS.ProcessEnv;
    const stacksMade: string[] = [];
    const namespacesMade: string[] = [];

    // moto, private to this test, on a loopback port
    let moto: ChildProcess | undefined;
    let endpoint = "";
    let s3: S3Client;
    let sqs: SQSClient;
    let dynamo: DynamoDBClient;

    const options = (over: Partial<ReapOptions> = {}): ReapOptions => ({
        dryRun: false,
        now: new Date(),
        installation,
        namePrefix: "pm",
        minAgeMs: 0,
        maxDeletions: 10,
        awsRegion: "us-east-1",
        lockTimeoutMs: 1000,
        log,
        env,
        lockDir: path.join(tmp, "locks"),
        runDir: path.join(tmp, "run"),
        ...over,
    });

    async function stackNames(): Promise<string[]> {
        return (await workspace.listStacks()).map((s) => s.name.slice(s.name.lastIndexOf("/") + 1));
    }

    /** An empty stack of the prod-mirror project on the test's backend (no `up`), as the CLI configures one. */
    async function makeStack(name: string, expiresAt: string): Promise<void> {
        stacksMade.push(name);
        const stack = await LocalWorkspace.createOrSelectStack({ stackName: name, workDir: repoRoot }, { envVars: definedEnv(env) });
        await stack.setConfig("prod-mirror:expiresAt", { value: expiresAt });
        await stack.setConfig("prod-mirror:installation", { value: installation });
    }

    /** A namespace labelled as BranchNamespace labels one; `labels` overrides (undefined removes). */
    function makeNamespace(name: string, stack: string, labels: Record<string, string | undefined> = {}): void {
        namespacesMade.push(name);
        const all: Record<string, string | undefined> = {
            "app.kubernetes.io/managed-by": "prod-mirror",
            "prod-mirror.dev/installation": installation,
            "prod-mirror.dev/stack": labelValue(stack),
            ...labels,
        };
        const manifest = {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: {
                name,
                labels: Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)),
                annotations: all["prod-mirror.dev/stack"] === undefined ? {} : { "prod-mirror.dev/stack": stack },
            },
        };
        const r = spawnSync("kubectl", ["apply", "-f", "-"], { env: asClusterAdmin(env), input: JSON.stringify(manifest), encoding: "utf8" });
        assert.strictEqual(r.status, 0, `kubectl apply of namespace ${name} exited ${r.status}: ${r.stderr}`);
    }

    const exists = (name: string): boolean => kubectl(env, "get", "namespaces", "-o", "name").split("\n").includes(`namespace/${name}`);
    const deleteNamespaces = (...names: string[]): void => {
        kubectl(asClusterAdmin(env), "delete", "namespace", ...names, "--ignore-not-found", "--wait=true", "--timeout=120s");
    };

    const tags = (stack: string, inst = installation): Record<string, string> => ({
        "prod-mirror:managed-by": "prod-mirror",
        "prod-mirror:installation": inst,
        "prod-mirror:stack": stack,
    });
    const tagList = (t: Record<string, string>): Array<{ Key: string; Value: string }> => Object.entries(t).map(([Key, Value]) => ({ Key, Value }));
    const awsName = (role: string): string => `pm-reap-${role}-${suffix}`;
    const buckets = async (): Promise<string[]> => ((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name ?? "").sort();

    async function makeBucket(bucket: string, t?: Record<string, string>): Promise<void> {
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        if (t !== undefined) {
            await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: tagList(t) } }));
        }
    }

    async function makeTable(table: string, t: Record<string, string>): Promise<void> {
        await dynamo.send(new CreateTableCommand({
            TableName: table,
            BillingMode: "PAY_PER_REQUEST",
            AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
            KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
            Tags: tagList(t),
        }));
    }

    before(async function () {
        this.timeout(90 * 60_000);
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pm-reap-test-"));
        const local = ensureLocalEnv();
        // The Automation API finds the `pulumi` binary on this process's PATH; the backend and home come from `env` below.
        Object.assign(process.env, local);
        // The shared PULUMI_HOME's plugins are read, never its workspace files (which stack is selected).
        const home = path.join(tmp, "pulumi-home");
        fs.mkdirSync(home);
        if (local.PULUMI_HOME !== undefined && fs.existsSync(path.join(local.PULUMI_HOME, "plugins"))) {
            fs.symlinkSync(path.join(local.PULUMI_HOME, "plugins"), path.join(home, "plugins"));
        }
        // Laid out as a mirrors directory (pulumi-backend/ beside locks/), so that reap's run lock is `<tmp>/locks`.
        fs.mkdirSync(path.join(tmp, "pulumi-backend"));
        env = { ...local, PULUMI_BACKEND_URL: `file://${path.join(tmp, "pulumi-backend")}`, PULUMI_HOME: home, PROD_MIRROR_INSTALLATION: installation };
        // Only what this test names is looked at: its private moto, passed explicitly.
        delete env.AWS_ENDPOINT_URL;
        workspace = await LocalWorkspace.create({ workDir: repoRoot, envVars: definedEnv(env) });
        assert.deepStrictEqual(await stackNames(), [], "the test's backend must start empty");

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
        this.timeout(5 * 60_000);
        try {
            if (namespacesMade.length > 0) {
                deleteNamespaces(...namespacesMade);
            }
            if (workspace !== undefined) {
                const left = await stackNames();
                for (const name of stacksMade.filter((n) => left.includes(n))) {
                    await workspace.removeStack(name, { force: true });
                }
            }
            for (const name of stacksMade) {
                fs.rmSync(path.join(repoRoot, `Pulumi.${name}.yaml`), { force: true });
            }
        } finally {
            // Whatever failed above: a moto left running would keep mocha (and CI) from ever exiting.
            // moto keeps everything in memory: stopping it by its pid removes every resource with it.
            if (moto?.pid !== undefined && moto.exitCode === null) {
                const exited = new Promise((resolve) => moto?.once("exit", resolve));
                process.kill(moto.pid, "SIGTERM");
                await exited;
            }
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });

    it("against an EMPTY backend, with live objects of its installation (old enough), deletes nothing and says why", async function () {
        this.timeout(5 * 60_000);
        const ns = `pm-reap-live-${suffix}`;
        const bucket = awsName("live");
        makeNamespace(ns, `feature-${suffix}`);
        await makeBucket(bucket, tags(`feature-${suffix}`));
        await eventually("the test namespace", 30_000, () => (exists(ns) ? true : undefined));
        try {
            const report = await reap(options({ awsEndpoint: endpoint }));
            assert.strictEqual(
                report.refusal,
                `the backend lists no stack of installation ${installation}, yet 2 object(s) of it exist (namespace ${ns}, bucket ${bucket}): ` +
                    "a wiped or wrong backend would make every one of them look orphaned, so reap removes nothing. " +
                    "Check PULUMI_BACKEND_URL and PROD_MIRROR_INSTALLATION; if these objects truly are leftovers, delete them by hand.",
            );
            assert.deepStrictEqual(mine(report, suffix).map((i) => [i.kind, i.name, i.reason, i.action]), [
                ["namespace", ns, `no stack feature-${suffix}`, "refused"],
                ["bucket", bucket, `no stack feature-${suffix}`, "refused"],
            ]);
            assert.ok(report.items.every((i) => !["deleted", "destroyed", "failed"].includes(i.action)), JSON.stringify(report.items));
            assert.ok(exists(ns), "the refusing reap deleted the live namespace");
            assert.ok((await buckets()).includes(bucket), "the refusing reap deleted the live bucket");
        } finally {
            deleteNamespaces(ns);
            await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
        }
    });

    describe("with a live stack of its installation on the backend", function () {
        before(async function () {
            this.timeout(5 * 60_000);
            // Config expiry in the past, tag in the future: the later one (the tag) keeps it alive.
            await makeStack(liveStack, new Date(Date.now() - 3_600_000).toISOString());
            await workspace.setTag(liveStack, "prod-mirror:expiresAt", liveUntil);
        });

        it("deletes only a provably-own orphan old enough: keeps a young one, another installation's, a managed-by-only one and a live stack's", async function () {
            this.timeout(5 * 60_000);
            const orphan = `pm-reap-orphan-${suffix}`;
            const owned = `pm-reap-owned-${suffix}`;
            const theirs = `pm-reap-theirs-${suffix}`;
            const bare = `pm-reap-bare-${suffix}`;
            makeNamespace(orphan, goneStack);
            makeNamespace(owned, liveStack);
            makeNamespace(theirs, goneStack, { "prod-mirror.dev/installation": "someone-else" });
            makeNamespace(bare, goneStack, { "prod-mirror.dev/installation": undefined, "prod-mirror.dev/stack": undefined });
            await eventually("the test namespaces", 30_000, () => ([orphan, owned, theirs, bare].every(exists) ? true : undefined));

            const young = await reap(options({ minAgeMs: 30 * 60_000 }));
            assert.strictEqual(young.refusal, undefined);
            assert.match(item(young, orphan).reason, new RegExp(`^no stack ${goneStack}, but created \\S+, less than --min-age 30m ago$`));
            assert.strictEqual(item(young, orphan).action, "kept");
            assert.ok(exists(orphan), "a too-young orphan was deleted");

            const dry = await reap(options({ dryRun: true }));
            assert.deepStrictEqual(item(dry, orphan), { kind: "namespace", name: orphan, stack: goneStack, reason: `no stack ${goneStack}`, action: "would delete" });
            assert.ok(exists(orphan), "--dry-run deleted the orphan namespace");

            const report = await reap(options());
            assert.strictEqual(report.failed, 0, JSON.stringify(report.items));
            assert.strictEqual(report.refusal, undefined);
            assert.deepStrictEqual(mine(report, suffix).filter((i) => i.kind === "namespace"), [
                { kind: "namespace", name: bare, reason: "no prod-mirror.dev/installation label", action: "not provably ours" },
                { kind: "namespace", name: orphan, stack: goneStack, reason: `no stack ${goneStack}`, action: "deleted" },
                { kind: "namespace", name: owned, stack: liveStack, reason: `stack ${liveStack} exists`, action: "kept" },
                { kind: "namespace", name: theirs, reason: `installation someone-else, not this one (${installation})`, action: "not provably ours" },
            ]);
            assert.ok(!exists(orphan), `${orphan} is still there`);
            assert.ok([owned, theirs, bare].every(exists), "a namespace that is not a provable orphan was deleted");
            assert.ok(report.items.filter((i) => i.action === "deleted").every((i) => i.name.includes(suffix)), "reap deleted something this test did not make");
        });

        it("re-checks an orphan under its stack's run lock: a stack created meanwhile (an up) keeps it", async function () {
            this.timeout(5 * 60_000);
            const racing = `reap-racing-${suffix}`;
            const ns = `pm-reap-racing-${suffix}`;
            makeNamespace(ns, racing);
            await eventually("the test namespace", 30_000, () => (exists(ns) ? true : undefined));
            const lock = await acquireRunLock(path.join(tmp, "locks"), racing, "test plays up", 0, log);
            const lines: string[] = [];
            let waiting: Promise<ReapReport> | undefined;
            try {
                waiting = reap(options({ lockTimeoutMs: 60_000, log: (l) => lines.push(l) }));
                await eventually("reap to wait for the lock", 60_000, () => (lines.some((l) => l.includes(`stack ${racing} is busy`)) ? true : undefined));
                await makeStack(racing, new Date(Date.now() + 3_600_000).toISOString());
            } finally {
                lock.release();
            }
            const report = await waiting;
            assert.deepStrictEqual(item(report, ns), { kind: "namespace", name: ns, stack: racing, reason: `stack ${racing} appeared while reap waited`, action: "kept" });
            assert.ok(exists(ns), "reap deleted the namespace of a stack created while it waited");
        });

        it("removes at most --max-deletions orphans per run and reports the rest as skipped: cap", async function () {
            this.timeout(5 * 60_000);
            const names = [1, 2, 3].map((n) => `pm-reap-cap${n}-${suffix}`);
            names.forEach((n) => makeNamespace(n, goneStack));
            await eventually("the test namespaces", 30_000, () => (names.every(exists) ? true : undefined));
            const report = await reap(options({ maxDeletions: 2 }));
            assert.strictEqual(report.failed, 0, JSON.stringify(report.items));
            assert.deepStrictEqual(names.map((n) => item(report, n).action), ["deleted", "deleted", "skipped: cap"]);
            assert.deepStrictEqual(names.map(exists), [false, false, true]);
        });

        it("on a private moto: deletes own orphan bucket (emptied first), queue and table; keeps the rest", async function () {
            this.timeout(5 * 60_000);
            await makeBucket(awsName("orphan"), tags(goneStack));
            await s3.send(new PutObjectCommand({ Bucket: awsName("orphan"), Key: "leftover.txt", Body: "left behind" }));
            await makeBucket(awsName("owned"), tags(liveStack));
            await makeBucket(awsName("theirs"), tags(goneStack, "someone-else"));
            await makeBucket(awsName("bare"), { "prod-mirror:managed-by": "prod-mirror" });
            await makeBucket(awsName("untagged"));
            const orphanQueue = (await sqs.send(new CreateQueueCommand({ QueueName: awsName("orphan"), tags: tags(goneStack) }))).QueueUrl ?? "";
            const ownedQueue = (await sqs.send(new CreateQueueCommand({ QueueName: awsName("owned"), tags: tags(liveStack) }))).QueueUrl ?? "";
            await makeTable(awsName("orphan"), tags(goneStack));
            await makeTable(awsName("owned"), tags(liveStack));

            const young = await reap(options({ awsEndpoint: endpoint, minAgeMs: 30 * 60_000 }));
            assert.deepStrictEqual(young.items.filter((i) => i.stack === goneStack && i.kind !== "namespace").map((i) => [i.kind, i.action]).sort(), [["bucket", "kept"], ["queue", "kept"], ["table", "kept"]]);

            const report = await reap(options({ awsEndpoint: endpoint }));
            assert.strictEqual(report.failed, 0, JSON.stringify(report.items));
            const aws = report.items.filter((i) => ["bucket", "queue", "table"].includes(i.kind));
            assert.deepStrictEqual(
                aws.map((i) => [i.kind, i.name, i.stack, i.reason, i.action]).sort(),
                [
                    ["bucket", awsName("bare"), undefined, "no prod-mirror:installation tag", "not provably ours"],
                    ["bucket", awsName("orphan"), goneStack, `no stack ${goneStack}`, "deleted"],
                    ["bucket", awsName("owned"), liveStack, `stack ${liveStack} exists`, "kept"],
                    ["bucket", awsName("theirs"), undefined, `installation someone-else, not this one (${installation})`, "not provably ours"],
                    ["queue", orphanQueue, goneStack, `no stack ${goneStack}`, "deleted"],
                    ["queue", ownedQueue, liveStack, `stack ${liveStack} exists`, "kept"],
                    ["table", awsName("orphan"), goneStack, `no stack ${goneStack}`, "deleted"],
                    ["table", awsName("owned"), liveStack, `stack ${liveStack} exists`, "kept"],
                ].sort(),
            );
            assert.deepStrictEqual(await buckets(), ["bare", "owned", "theirs", "untagged"].map(awsName).sort());
            assert.deepStrictEqual((await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? [], [ownedQueue]);
            assert.deepStrictEqual((await dynamo.send(new ListTablesCommand({}))).TableNames ?? [], [awsName("owned")]);
        });

        it("an expired stack: kept by --dry-run, skipped while busy, kept when renewed (even by a failed up), then destroyed", async function () {
            this.timeout(10 * 60_000);
            const expired = `reap-expired-${suffix}`;
            const past = new Date(Date.now() - 60_000).toISOString();
            await makeStack(expired, past);

            const dry = await reap(options({ dryRun: true }));
            assert.deepStrictEqual(item(dry, expired), { kind: "stack", name: expired, stack: expired, reason: `expired at ${past} (config)`, action: "would destroy" });
            assert.deepStrictEqual(item(dry, liveStack), { kind: "stack", name: liveStack, stack: liveStack, reason: `expires at ${liveUntil} (tag)`, action: "kept" });
            assert.ok((await stackNames()).includes(expired), "--dry-run removed the stack");

            const locks = path.join(tmp, "locks");
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
            assert.deepStrictEqual(item(await waiting, expired), {
                kind: "stack", name: expired, stack: expired, reason: `expires at ${extendedTo} (tag) (changed while reap waited)`, action: "kept",
            });

            // A renewing `up` that failed: it wrote the new expiry into config, never re-stamped the old tag.
            const oldTag = new Date(Date.now() - 1000).toISOString();
            const renewed = new Date(Date.now() + 7_200_000).toISOString();
            await workspace.setTag(expired, "prod-mirror:expiresAt", oldTag);
            await workspace.setAllConfig(expired, { "prod-mirror:expiresAt": { value: renewed } });
            const failedRenewal = await reap(options());
            assert.deepStrictEqual(item(failedRenewal, expired), { kind: "stack", name: expired, stack: expired, reason: `expires at ${renewed} (config)`, action: "kept" });

            await workspace.setAllConfig(expired, { "prod-mirror:expiresAt": { value: past } });
            const report = await reap(options());
            assert.strictEqual(report.failed, 0, JSON.stringify(report.items));
            assert.deepStrictEqual(item(report, expired), { kind: "stack", name: expired, stack: expired, reason: `expired at ${oldTag} (tag)`, action: "destroyed" });
            const left = await stackNames();
            assert.ok(!left.includes(expired), `stack ${expired} is still on the backend`);
            assert.ok(left.includes(liveStack), `stack ${liveStack} was removed`);
        });
    });
});

function definedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
    return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}
