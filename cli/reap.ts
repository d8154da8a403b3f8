// `prod-mirror reap`: removes what the mirrors left behind. Three sources are cross-checked, because
// each can outlive the others: stacks whose expiry passed (nobody ran `down`), namespaces labelled
// as ours whose stack is gone (a stack removed by hand, a destroy that left the namespace), and AWS
// resources tagged with a stack that no longer exists. The decision is `planReap`, a pure function;
// everything around it only lists and removes.
import { spawnSync } from "child_process";
import { DeleteBucketCommand, DeleteObjectsCommand, GetBucketTaggingCommand, ListBucketsCommand, ListObjectVersionsCommand, S3Client } from "@aws-sdk/client-s3";
import { DeleteQueueCommand, ListQueuesCommand, ListQueueTagsCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DeleteTableCommand, DynamoDBClient, ListTablesCommand, ListTagsOfResourceCommand, DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { PROJECT } from "../components/config";
import { KEYS, MANAGED_BY } from "../components/manifests";
import { awsTagValue, labelValue } from "../components/naming";
import { repoRoot } from "./local-environment";
import { destroyAndRemoveStack } from "./mirror";
import { stopForwards } from "./port-forward";
import { acquireRunLock, LockTimeoutError } from "./run-lock";
import { TAGS } from "./stack";
import { usableStacks } from "./stack-path";

/** The stack tag and config key holding a mirror's expiry (ISO 8601). */
export const EXPIRES_AT_KEY = `${PROJECT}:expiresAt`;
/** AWS tags the components put on every resource (see components/manifests.ts awsTags). */
export const AWS_TAGS = { managedBy: "prod-mirror:managed-by", stack: "prod-mirror:stack" } as const;

export interface ReapStack {
    /** As the backend lists it (`name`, or `org/project/name` on some backends). */
    name: string;
    /** ISO 8601, from the stack tag or else the stack's config; undefined when neither has it. */
    expiresAt?: string;
}

export interface ReapNamespace {
    name: string;
    /** The `prod-mirror.dev/stack` annotation (exact stack name). */
    stackAnnotation?: string;
    /** The `prod-mirror.dev/stack` label (label-safe form, possibly cut and hashed). */
    stackLabel?: string;
}

export type AwsKind = "bucket" | "queue" | "table";

export interface ReapAwsResource {
    kind: AwsKind;
    /** Bucket name, queue URL or table name: what the delete call takes. */
    name: string;
    tags: Record<string, string>;
}

export type ItemKind = "stack" | AwsKind | "namespace";
export type PlannedAction = "destroy" | "delete" | "keep";

export interface PlannedItem {
    kind: ItemKind;
    name: string;
    /** The stack the item belongs to, when it names one. */
    stack?: string;
    reason: string;
    action: PlannedAction;
}

export type DoneAction = "destroyed" | "deleted" | "would destroy" | "would delete" | "kept" | "skipped: busy" | "skipped: gone" | "skipped: bad name" | "failed";

export interface ReapItem extends Omit<PlannedItem, "action"> {
    action: DoneAction;
    /** Why it failed (never a credential: messages come from pulumi, kubectl and the AWS SDK). */
    error?: string;
}

export interface ReapReport {
    dryRun: boolean;
    items: ReapItem[];
    /** Items whose removal failed; the caller exits non-zero when there is any. */
    failed: number;
}

const shortName = (name: string): string => name.slice(name.lastIndexOf("/") + 1);

/** True when `now` is at or past the expiry; an unparsable expiry never expires (it is reported). */
function isExpired(expiresAt: string, now: Date): boolean {
    const t = Date.parse(expiresAt);
    return !Number.isNaN(t) && t <= now.getTime();
}

/**
 * What to do with each stack, namespace and AWS resource. Pure. A namespace or resource of an
 * expired stack is kept here: the stack's destroy removes it, and a second pass after the destroys
 * (with the removed stacks gone from `stacks`) catches whatever survived. AWS resources without
 * the managed-by tag are not ours and do not appear in the plan at all.
 */
export function planReap(stacks: ReapStack[], namespaces: ReapNamespace[], awsResources: ReapAwsResource[], now: Date): PlannedItem[] {
    const items: PlannedItem[] = [];
    const expired = new Set<string>();
    for (const s of stacks) {
        const name = shortName(s.name);
        if (s.expiresAt === undefined) {
            items.push({ kind: "stack", name, stack: name, reason: "no expiry (neither tag nor config prod-mirror:expiresAt)", action: "keep" });
        } else if (Number.isNaN(Date.parse(s.expiresAt))) {
            items.push({ kind: "stack", name, stack: name, reason: `expiry ${JSON.stringify(s.expiresAt)} is not a date`, action: "keep" });
        } else if (isExpired(s.expiresAt, now)) {
            expired.add(name);
            items.push({ kind: "stack", name, stack: name, reason: `expired at ${s.expiresAt}`, action: "destroy" });
        } else {
            items.push({ kind: "stack", name, stack: name, reason: `expires at ${s.expiresAt}`, action: "keep" });
        }
    }
    const names = stacks.map((s) => shortName(s.name));
    const owner = (matches: (stack: string) => boolean): PlannedItem["reason"] | undefined => {
        const found = names.find(matches);
        if (found === undefined) {
            return undefined;
        }
        return expired.has(found) ? `its stack ${found} expired: removed by that stack's destroy` : `stack ${found} exists`;
    };

    for (const ns of namespaces) {
        const stack = ns.stackAnnotation ?? ns.stackLabel;
        if (stack === undefined || stack === "") {
            items.push({ kind: "namespace", name: ns.name, reason: `no ${KEYS.stack} annotation or label`, action: "delete" });
            continue;
        }
        const kept = owner((n) => (ns.stackAnnotation !== undefined ? n === ns.stackAnnotation : labelValue(n) === ns.stackLabel));
        items.push(kept === undefined
            ? { kind: "namespace", name: ns.name, stack, reason: `no stack ${stack}`, action: "delete" }
            : { kind: "namespace", name: ns.name, stack, reason: kept, action: "keep" });
    }

    for (const r of awsResources) {
        if (r.tags[AWS_TAGS.managedBy] !== MANAGED_BY) {
            continue;
        }
        const stack = r.tags[AWS_TAGS.stack];
        if (stack === undefined || stack === "") {
            items.push({ kind: r.kind, name: r.name, reason: `no ${AWS_TAGS.stack} tag`, action: "delete" });
            continue;
        }
        const kept = owner((n) => awsTagValue(n) === stack);
        items.push(kept === undefined
            ? { kind: r.kind, name: r.name, stack, reason: `no stack ${stack}`, action: "delete" }
            : { kind: r.kind, name: r.name, stack, reason: kept, action: "keep" });
    }
    return items;
}

/**
 * An orphan candidate, kept when the backend listed `skippedStacks` stacks under unusable names:
 * any of them may be the stack the object names, so its absence from the listing proves nothing. Pure.
 */
export function distrustAbsence(item: PlannedItem, skippedStacks: number): PlannedItem {
    if (skippedStacks === 0 || item.action !== "delete" || item.stack === undefined) {
        return item;
    }
    return { ...item, action: "keep", reason: `${item.reason}, but the backend lists ${skippedStacks} stack(s) under unusable names, which may own it` };
}

/** One line per item and a summary with counts. Pure. */
export function formatReapReport(r: ReapReport): string {
    const lines = r.items.map((i) => {
        const cells = [i.kind.padEnd(9), i.name, `stack=${i.stack ?? "-"}`, i.reason, `-> ${i.action}`];
        return cells.join("  ") + (i.error === undefined ? "" : `: ${i.error}`);
    });
    const counts = new Map<string, number>();
    for (const i of r.items) {
        counts.set(i.action, (counts.get(i.action) ?? 0) + 1);
    }
    const summary = r.items.length === 0
        ? "nothing to reap"
        : [...counts.entries()].map(([action, n]) => `${n} ${action}`).join(", ");
    lines.push(`reap${r.dryRun ? " (dry run)" : ""}: ${r.items.length} item(s): ${summary}`);
    return `${lines.join("\n")}\n`;
}

export interface ReapOptions {
    dryRun: boolean;
    now: Date;
    /** Where to look for tagged AWS resources; none looked for when absent (nor env AWS_ENDPOINT_URL). */
    awsEndpoint?: string;
    awsRegion: string;
    /** How long to wait for a stack's run lock before reporting it busy. */
    lockTimeoutMs: number;
    log: (line: string) => void;
    /** PATH with pulumi and kubectl, KUBECONFIG, PULUMI_BACKEND_URL, ...; AWS credentials if any. */
    env: NodeJS.ProcessEnv;
    lockDir: string;
    runDir: string;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split("\n")[0];

function definedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
    return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** The stack tag the CLI stamps on every `up`, else the config (a stack made with plain `pulumi`). */
async function readExpiry(workspace: LocalWorkspace, name: string): Promise<string | undefined> {
    const tagged = (await workspace.listTags(name))[TAGS.expiresAt];
    if (tagged !== undefined) {
        return tagged;
    }
    const stack = await Stack.select(name, workspace);
    return (await stack.getAllConfig())[EXPIRES_AT_KEY]?.value;
}

/** The backend's stacks; one whose name could leave a directory or garble the report is skipped, with the reason. */
async function listReapStacks(workspace: LocalWorkspace): Promise<{ stacks: ReapStack[]; skipped: ReapItem[] }> {
    const { usable, skipped } = usableStacks(await workspace.listStacks());
    const stacks: ReapStack[] = [];
    for (const summary of usable) {
        stacks.push({ name: summary.name, expiresAt: await readExpiry(workspace, summary.name) });
    }
    return { stacks, skipped: skipped.map((s) => ({ kind: "stack", name: s.quoted, reason: s.reason, action: "skipped: bad name" })) };
}

function kubectl(args: string[], env: NodeJS.ProcessEnv): string {
    const r = spawnSync("kubectl", args, { env, encoding: "utf8", timeout: 180_000 });
    if (r.status !== 0) {
        throw new Error(`kubectl ${args.join(" ")} exited ${r.status ?? r.signal}: ${(r.stderr ?? r.error?.message ?? "").trim()}`);
    }
    return r.stdout;
}

interface NamespaceList {
    items: Array<{ metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> } }>;
}

function listNamespaces(env: NodeJS.ProcessEnv): ReapNamespace[] {
    const list = JSON.parse(kubectl(["get", "namespaces", "-l", `${KEYS.managedBy}=${MANAGED_BY}`, "-o", "json"], env)) as NamespaceList;
    return list.items.map(({ metadata }) => ({
        name: metadata.name,
        stackAnnotation: metadata.annotations?.[KEYS.stack],
        stackLabel: metadata.labels?.[KEYS.stack],
    }));
}

interface AwsClients {
    s3: S3Client;
    sqs: SQSClient;
    dynamo: DynamoDBClient;
}

function awsClients(endpoint: string, region: string, env: NodeJS.ProcessEnv): AwsClients {
    // Keys from the caller's environment when it has them; otherwise an emulator on this host takes
    // any, and anything else gets the SDK's own chain (profile, SSO, instance role), never made-up keys.
    const loopback = /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/.test(endpoint);
    const credentials = env.AWS_ACCESS_KEY_ID !== undefined && env.AWS_SECRET_ACCESS_KEY !== undefined
        ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }
        : loopback ? { accessKeyId: "test", secretAccessKey: "test" } : undefined;
    const common = { endpoint, region, credentials, maxAttempts: 2 };
    return { s3: new S3Client({ ...common, forcePathStyle: true }), sqs: new SQSClient(common), dynamo: new DynamoDBClient(common) };
}

const tagsOf = (list: Array<{ Key?: string; Value?: string }> | undefined): Record<string, string> =>
    Object.fromEntries((list ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));

/** Every bucket, queue and table with its tags; one that cannot be read is logged and left out. */
async function listAwsResources(c: AwsClients, log: (line: string) => void): Promise<ReapAwsResource[]> {
    const found: ReapAwsResource[] = [];
    for (const b of (await c.s3.send(new ListBucketsCommand({}))).Buckets ?? []) {
        const name = b.Name ?? "";
        try {
            found.push({ kind: "bucket", name, tags: tagsOf((await c.s3.send(new GetBucketTaggingCommand({ Bucket: name }))).TagSet) });
        } catch (err) {
            if ((err as { name?: string }).name !== "NoSuchTagSet") {
                log(`bucket ${name}: could not read its tags: ${message(err)}`);
            }
        }
    }
    let next: string | undefined;
    do {
        const page = await c.sqs.send(new ListQueuesCommand({ NextToken: next, MaxResults: 1000 }));
        for (const url of page.QueueUrls ?? []) {
            found.push({ kind: "queue", name: url, tags: (await c.sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags ?? {} });
        }
        next = page.NextToken;
    } while (next !== undefined);
    let start: string | undefined;
    do {
        const page = await c.dynamo.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
        for (const table of page.TableNames ?? []) {
            const arn = (await c.dynamo.send(new DescribeTableCommand({ TableName: table }))).Table?.TableArn;
            found.push({ kind: "table", name: table, tags: tagsOf((await c.dynamo.send(new ListTagsOfResourceCommand({ ResourceArn: arn }))).Tags) });
        }
        start = page.LastEvaluatedTableName;
    } while (start !== undefined);
    return found;
}

async function emptyAndDeleteBucket(s3: S3Client, bucket: string): Promise<void> {
    for (;;) {
        const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
        const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key, VersionId: v.VersionId }));
        if (objects.length === 0) {
            break;
        }
        await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}

async function deleteAwsResource(c: AwsClients, item: PlannedItem): Promise<void> {
    switch (item.kind) {
        case "bucket":
            return emptyAndDeleteBucket(c.s3, item.name);
        case "queue":
            await c.sqs.send(new DeleteQueueCommand({ QueueUrl: item.name }));
            return;
        case "table":
            await c.dynamo.send(new DeleteTableCommand({ TableName: item.name }));
            return;
        default:
            throw new Error(`not an AWS resource: ${item.kind}`);
    }
}

/**
 * Destroys one expired stack under its run lock; a busy stack is skipped, not waited on for long.
 * The expiry is read again once the lock is held: an `up` that ran between the listing and the
 * lock has extended it, and a `down` may have removed the stack.
 */
async function destroyStack(workspace: LocalWorkspace, fullName: string, options: ReapOptions): Promise<{ action: DoneAction; reason?: string }> {
    const name = shortName(fullName);
    let lock;
    try {
        lock = await acquireRunLock(options.lockDir, name, "reap", options.lockTimeoutMs, options.log);
    } catch (err) {
        if (err instanceof LockTimeoutError) {
            return { action: "skipped: busy" };
        }
        throw err;
    }
    try {
        if (!(await workspace.listStacks()).some((s) => s.name === fullName)) {
            return { action: "skipped: gone", reason: "removed by another run meanwhile" };
        }
        const [again] = planReap([{ name: fullName, expiresAt: await readExpiry(workspace, fullName) }], [], [], options.now);
        if (again.action !== "destroy") {
            return { action: "kept", reason: `${again.reason} (changed while reap waited)` };
        }
        const closed = stopForwards(options.runDir, name);
        if (closed > 0) {
            options.log(`closed ${closed} port-forward(s) of ${name}`);
        }
        const stack = await Stack.select(fullName, workspace);
        const survivors = await destroyAndRemoveStack(
            stack,
            name,
            options.env,
            options.log,
            (out) => out.split("\n").filter((l) => l.trim() !== "").forEach((l) => options.log(`${name}: ${l}`)),
            { previousHolderDied: lock.previousHolderDied, deadline: Date.now() + options.lockTimeoutMs },
        );
        if (survivors.length > 0) {
            throw new Error(`destroyed, but these survive (stack kept): ${survivors.join(", ")}`);
        }
        return { action: "destroyed" };
    } finally {
        lock.release();
    }
}

/** Lists the three sources, plans, and (unless dry run) removes; an item's failure stops no other. */
export async function reap(options: ReapOptions): Promise<ReapReport> {
    const { dryRun, env, log } = options;
    const workspace = await LocalWorkspace.create({ workDir: repoRoot, envVars: definedEnv(env) });
    const items: ReapItem[] = [];
    const fail = (item: PlannedItem, err: unknown): void => {
        items.push({ ...item, action: "failed", error: message(err) });
    };

    const { stacks, skipped } = await listReapStacks(workspace);
    items.push(...skipped);
    const fullNames = new Map(stacks.map((s) => [shortName(s.name), s.name]));
    const removed = new Set<string>();
    for (const item of planReap(stacks, [], [], options.now)) {
        if (item.action !== "destroy") {
            items.push({ ...item, action: "kept" });
            continue;
        }
        if (dryRun) {
            items.push({ ...item, action: "would destroy" });
            continue;
        }
        try {
            const done = await destroyStack(workspace, fullNames.get(item.name) ?? item.name, options);
            if (done.action === "destroyed" || done.action === "skipped: gone") {
                removed.add(item.name);
            }
            items.push({ ...item, action: done.action, reason: done.reason ?? item.reason });
        } catch (err) {
            fail(item, err);
        }
    }

    // The second pass sees the backend as the destroys left it.
    const remaining = stacks.filter((s) => !removed.has(shortName(s.name)));
    let namespaces: ReapNamespace[] = [];
    try {
        namespaces = listNamespaces(env);
    } catch (err) {
        fail({ kind: "namespace", name: "*", reason: "listing namespaces", action: "delete" }, err);
    }
    const endpoint = options.awsEndpoint ?? env.AWS_ENDPOINT_URL;
    let clients: AwsClients | undefined;
    let resources: ReapAwsResource[] = [];
    if (endpoint !== undefined && endpoint !== "") {
        clients = awsClients(endpoint, options.awsRegion, env);
        try {
            resources = await listAwsResources(clients, log);
        } catch (err) {
            fail({ kind: "bucket", name: "*", reason: `listing AWS resources on ${endpoint}`, action: "delete" }, err);
        }
    }
    for (const planned of planReap(remaining, namespaces, resources, options.now).filter((i) => i.kind !== "stack")) {
        const item = distrustAbsence(planned, skipped.length);
        if (item.action === "keep") {
            items.push({ ...item, action: "kept" });
        } else if (dryRun) {
            items.push({ ...item, action: "would delete" });
        } else {
            try {
                if (item.kind === "namespace") {
                    kubectl(["delete", "namespace", item.name, "--wait=true", "--timeout=120s"], env);
                } else {
                    await deleteAwsResource(clients as AwsClients, item);
                }
                items.push({ ...item, action: "deleted" });
            } catch (err) {
                fail(item, err);
            }
        }
    }
    return { dryRun, items, failed: items.filter((i) => i.action === "failed").length };
}
