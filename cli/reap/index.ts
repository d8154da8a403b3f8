// `prod-mirror reap`: removes what the mirrors left behind. Three sources are cross-checked, because
// each can outlive the others: stacks whose expiry passed (nobody ran `down`), namespaces of this
// installation whose stack is gone (a stack removed by hand, a destroy that left the namespace), and
// AWS resources of this installation tagged with a stack that no longer exists. The decisions are
// in plan.ts (pure); this file lists, asks the plan, and removes, each removal under the stack's
// run lock, so that it cannot race an `up` or `down` of the same stack.
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { DEFAULT_INSTALLATION } from "../../components/app-spec";
import { PROJECT } from "../../components/config-error";
import { KEYS, MANAGED_BY } from "../../components/manifests";
import { kubectlOutput } from "../kubectl";
import { repoRoot } from "../local-environment";
import { destroyAndRemoveStack } from "../mirror";
import { stopForwards } from "../port-forward";
import { acquireStackLock, lockPlaceFor } from "../lock-for-backend";
import { LockTimeoutError } from "../run-lock";
import type { StackLock } from "../stack-lock";
import { TAGS } from "../stack";
import { usableStacks } from "../stack-path";
// Loaded when a reap meets AWS resources: the AWS SDK costs every other command 0.1 s to load.
import type { AwsClients } from "./aws";
import {
    distrustAbsence,
    planReap,
    planStack,
    shortName,
    type DoneAction,
    type PlannedItem,
    type ReapAwsResource,
    type ReapItem,
    type ReapNamespace,
    type ReapReport,
    type ReapStack,
} from "./plan";

export { distrustAbsence, formatReapReport } from "./plan";
export type { ReapItem, ReapReport } from "./plan";

/** The config key and stack output holding a mirror's expiry (ISO 8601). */
const EXPIRES_AT_KEY = `${PROJECT}:expiresAt`;
const INSTALLATION_KEY = `${PROJECT}:installation`;

export interface ReapOptions {
    dryRun: boolean;
    now: Date;
    /** This installation's id (cli/installation.ts): only its objects are ever deleted. */
    installation: string;
    /** The prefix of every namespace and cloud name (config prod-mirror:namePrefix). */
    namePrefix: string;
    /** An orphan younger than this is kept. */
    minAgeMs: number;
    /** Removals in one run at most; the rest is reported `skipped: cap`. */
    maxDeletions: number;
    /** Where to look for tagged AWS resources; none looked for when absent (nor env AWS_ENDPOINT_URL). */
    awsEndpoint?: string;
    awsRegion: string;
    /** How long to wait for a stack's run lock before reporting it busy. */
    lockTimeoutMs: number;
    log: (line: string) => void;
    /** PATH with pulumi and kubectl, KUBECONFIG, PULUMI_BACKEND_URL, ...; AWS credentials if any. */
    env: NodeJS.ProcessEnv;
    /**
     * The local default's run lock directory, `<mirrorsDir>/locks`. Used only when
     * env.PULUMI_BACKEND_URL is that mirrors directory's own backend; any other backend has its
     * lock where its state is (lock-for-backend.ts), so that reap queues with every runner on it.
     */
    lockDir: string;
    runDir: string;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split("\n")[0];

function definedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
    return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** A stack's installation and every expiry source; the output is read only when tag and config are silent. */
async function readStack(workspace: LocalWorkspace, name: string): Promise<ReapStack> {
    const tag = (await workspace.listTags(name))[TAGS.expiresAt];
    const config = await workspace.getAllConfig(name);
    const stack: ReapStack = {
        name,
        installation: config[INSTALLATION_KEY]?.value ?? DEFAULT_INSTALLATION,
        expiry: { tag, config: config[EXPIRES_AT_KEY]?.value },
    };
    if (tag === undefined && stack.expiry.config === undefined) {
        const output = (await workspace.stackOutputs(name)).expiresAt?.value as unknown;
        stack.expiry.output = typeof output === "string" ? output : undefined;
    }
    return stack;
}

/** The backend's stacks; one whose name could leave a directory or garble the report is skipped, with the reason. */
async function listReapStacks(workspace: LocalWorkspace): Promise<{ stacks: ReapStack[]; skipped: ReapItem[] }> {
    const { usable, skipped } = usableStacks(await workspace.listStacks());
    const stacks: ReapStack[] = [];
    for (const summary of usable) {
        stacks.push(await readStack(workspace, summary.name));
    }
    return { stacks, skipped: skipped.map((s) => ({ kind: "stack", name: s.quoted, reason: s.reason, action: "skipped: bad name" })) };
}

interface NamespaceList {
    items: Array<{ metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string } }>;
}

function listNamespaces(env: NodeJS.ProcessEnv): ReapNamespace[] {
    const list = JSON.parse(kubectlOutput(["get", "namespaces", "-l", `${KEYS.managedBy}=${MANAGED_BY}`, "-o", "json"], env)) as NamespaceList;
    return list.items.map(({ metadata }) => ({
        name: metadata.name,
        labels: metadata.labels ?? {},
        annotations: metadata.annotations ?? {},
        createdAt: metadata.creationTimestamp,
    }));
}

type Outcome = { action: DoneAction; reason?: string };

/** Runs `work` holding the stack's run lock; a stack busy for longer than the timeout is skipped. */
async function underRunLock(stack: string, options: ReapOptions, work: (lock: StackLock) => Promise<Outcome>): Promise<Outcome> {
    let lock;
    try {
        const place = lockPlaceFor(options.env.PULUMI_BACKEND_URL, path.dirname(options.lockDir), options.env);
        lock = await acquireStackLock(place, stack, "reap", options.lockTimeoutMs, options.log, options.env);
    } catch (err) {
        if (err instanceof LockTimeoutError) {
            return { action: "skipped: busy" };
        }
        throw err;
    }
    try {
        const outcome = await work(lock);
        if (lock.lost.aborted) {
            throw new Error(`lost the run lock (${lock.where}) to another run while reaping; look again with 'prod-mirror reap --dry-run'`);
        }
        return outcome;
    } finally {
        await lock.release();
    }
}

async function stackNames(workspace: LocalWorkspace): Promise<Map<string, string>> {
    return new Map((await workspace.listStacks()).map((s) => [shortName(s.name), s.name]));
}

/**
 * Destroys one expired stack under its run lock. The expiry is read again once the lock is held:
 * an `up` that ran between the listing and the lock has extended it, and a `down` may have removed
 * the stack.
 */
async function destroyStack(workspace: LocalWorkspace, item: PlannedItem, namespaces: ReapNamespace[], options: ReapOptions): Promise<Outcome> {
    const name = item.name;
    return underRunLock(name, options, async (lock) => {
        const fullName = (await stackNames(workspace)).get(name);
        if (fullName === undefined) {
            return { action: "skipped: gone", reason: "removed by another run meanwhile" };
        }
        const again = planStack(await readStack(workspace, fullName), namespaces, options.now);
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
            // A lease lost mid-destroy cancels the destroy: another run may own the stack now.
            { previousHolderDied: lock.previousHolderDied, deadline: Date.now() + options.lockTimeoutMs, signal: lock.lost },
        );
        if (survivors.length > 0) {
            throw new Error(`destroyed, but these survive (stack kept): ${survivors.join(", ")}`);
        }
        return { action: "destroyed" };
    });
}

/**
 * Deletes one orphan under its stack's run lock, after confirming the stack still does not exist:
 * an `up` of that stack either finished before (the stack is there: kept) or waits for us.
 */
async function deleteOrphan(workspace: LocalWorkspace, item: PlannedItem, clients: AwsClients | undefined, options: ReapOptions): Promise<Outcome> {
    const stack = item.stack as string;
    return underRunLock(stack, options, async () => {
        if ((await stackNames(workspace)).has(stack)) {
            return { action: "kept", reason: `stack ${stack} appeared while reap waited` };
        }
        if (item.kind === "namespace") {
            kubectlOutput(["delete", "namespace", item.name, "--wait=true", "--timeout=120s"], options.env);
        } else if (item.kind !== "stack" && clients !== undefined) {
            await (await import("./aws")).deleteAwsResource(clients, item.kind, item.name);
        }
        return { action: "deleted" };
    });
}

/**
 * Lists objects, then stacks, plans, and (unless dry run) removes; an item's failure stops no
 * other. Objects are listed FIRST: an `up` creates its stack before any object, so every object
 * listed whose stack exists has that stack in the listing that follows. The other order would see
 * a mirror created in between as namespaces without a stack.
 */
export async function reap(options: ReapOptions): Promise<ReapReport> {
    const { dryRun, env, log } = options;
    const workspace = await LocalWorkspace.create({ workDir: repoRoot, envVars: definedEnv(env) });
    const items: ReapItem[] = [];
    const fail = (item: PlannedItem, err: unknown): void => {
        items.push({ ...item, action: "failed", error: message(err) });
    };

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
        const { awsClients, listAwsResources } = await import("./aws");
        clients = awsClients(endpoint, options.awsRegion, env);
        try {
            resources = await listAwsResources(clients, log);
        } catch (err) {
            fail({ kind: "bucket", name: "*", reason: `listing AWS resources on ${endpoint}`, action: "delete" }, err);
        }
    }
    const { stacks, skipped } = await listReapStacks(workspace);
    items.push(...skipped);

    const plan = planReap({ stacks, namespaces, awsResources: resources }, options);
    for (const planned of plan.items) {
        const item = planned.kind === "stack" ? planned : distrustAbsence(planned, skipped.length);
        if (item.action === "keep") {
            items.push({ ...item, action: "kept" });
        } else if (item.action !== "destroy" && item.action !== "delete") {
            items.push({ ...item, action: item.action });
        } else if (dryRun) {
            items.push({ ...item, action: item.action === "destroy" ? "would destroy" : "would delete" });
        } else {
            try {
                const done = item.action === "destroy"
                    ? await destroyStack(workspace, item, namespaces, options)
                    : await deleteOrphan(workspace, item, clients, options);
                items.push({ ...item, action: done.action, reason: done.reason ?? item.reason });
            } catch (err) {
                fail(item, err);
            }
        }
    }
    return { dryRun, items, failed: items.filter((i) => i.action === "failed").length, refusal: plan.refusal };
}
