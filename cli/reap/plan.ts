// The reaper's decisions, as pure functions: which stacks have expired, which namespaces and AWS
// resources are provably this installation's AND orphaned AND old enough, what the per-run cap
// leaves for the next run, and when to refuse altogether. Listing and removing live in index.ts
// (orchestration) and aws.ts (AWS leftovers).
//
// Absence from the backend is weak evidence: a wiped or wrong backend, a renamed project or a
// second installation on the same cluster or account makes every object look orphaned. So an
// object is deleted only when all of these hold: it carries the managed-by marker, this
// installation's id, the name prefix, and a well-formed stack reference; that stack is not on the
// backend; it is older than the minimum age; the backend lists at least one stack of this
// installation; and the per-run cap is not reached.
import { AWS_TAG_KEYS, KEYS, MANAGED_BY } from "../../components/manifests";
import { labelValue, parseTimestampLabel } from "../../components/naming";

/** Items removed in one run at most, unless --max-deletions says otherwise. */
export const DEFAULT_MAX_DELETIONS = 10;
/**
 * An orphan younger than this is left alone (--min-age): a mirror whose `up` is still running
 * may have objects before a second reap sees its stack, and a human gets time to notice a mistake.
 */
export const DEFAULT_MIN_AGE_MINUTES = 30;

/** Where a stack's expiry can be read; the orchestration fills in what the backend has. */
export interface ExpirySources {
    /** Stack tag prod-mirror:expiresAt, stamped by the CLI after a successful `up`. */
    tag?: string;
    /** Config prod-mirror:expiresAt, written by the CLI before each update (or by hand). */
    config?: string;
    /** The stack's `expiresAt` output (index.ts exports it): there once an update completed. */
    output?: string;
}

export interface ReapStack {
    /** As the backend lists it (`name`, or `org/project/name` on some backends). */
    name: string;
    /** The stack's prod-mirror:installation config, DEFAULT_INSTALLATION when unset. */
    installation: string;
    expiry: ExpirySources;
}

export interface ReapNamespace {
    name: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    /** metadata.creationTimestamp. */
    createdAt?: string;
}

export type AwsKind = "bucket" | "queue" | "table";

export interface ReapAwsResource {
    kind: AwsKind;
    /** Bucket name, queue URL or table name: what the delete call takes. */
    name: string;
    tags: Record<string, string>;
    /** Bucket CreationDate, queue CreatedTimestamp, table CreationDateTime (ISO 8601). */
    createdAt?: string;
}

export interface ReapPolicy {
    /** This installation's id: only objects carrying it can be deleted. */
    installation: string;
    /** Every namespace and cloud name of a mirror starts with `<namePrefix>-`. */
    namePrefix: string;
    minAgeMs: number;
    maxDeletions: number;
    now: Date;
}

export type ItemKind = "stack" | AwsKind | "namespace";
export type PlannedAction = "destroy" | "delete" | "keep" | "not provably ours" | "skipped: cap" | "refused";

export interface PlannedItem {
    kind: ItemKind;
    name: string;
    /** The stack the item belongs to, when it names one. */
    stack?: string;
    reason: string;
    action: PlannedAction;
}

export interface ReapPlan {
    items: PlannedItem[];
    /** Set when nothing may be removed at all, saying why; every removal is then `refused`. */
    refusal?: string;
}

export type DoneAction =
    | "destroyed"
    | "deleted"
    | "would destroy"
    | "would delete"
    | "kept"
    | "not provably ours"
    | "skipped: cap"
    | "refused"
    | "skipped: busy"
    | "skipped: gone"
    | "skipped: bad name"
    | "failed";

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
    /** Why reap removed nothing at all; the caller exits non-zero. */
    refusal?: string;
}

export const shortName = (name: string): string => name.slice(name.lastIndexOf("/") + 1);

/**
 * A stack name as naming.stackName makes them. A name read from a label, tag or backend is used
 * in a lock file path, so anything else (`..`, a slash) is never trusted as a stack reference.
 */
export function isStackName(name: string): boolean {
    return /^[A-Za-z0-9._-]{1,100}$/.test(name) && /[A-Za-z0-9]/.test(name);
}

const valid = (iso: string | undefined): iso is string => iso !== undefined && !Number.isNaN(Date.parse(iso));

export interface StackExpiry {
    expiresAt?: string;
    /** Where it came from, as the report says it. */
    source?: string;
    /** Set when sources exist but none is a date. */
    problem?: string;
}

/**
 * A stack's expiry. Tag and config are both written by the CLI: config before the update, the tag
 * after it succeeded. A renewing `up` that fails leaves the old tag and the new config, so the
 * LATER of the two counts: the failed renewal still renews, and an old expiry never wins. A stack
 * made the plain-Pulumi way has neither (ttlHours only): its `expiresAt` output counts, and when no
 * update ever completed, the expiry label of its own namespace (same stack, same installation).
 */
export function stackExpiry(stack: ReapStack, namespaces: ReapNamespace[]): StackExpiry {
    const { tag, config, output } = stack.expiry;
    const stamped = [
        { at: tag, source: "tag" },
        { at: config, source: "config" },
    ].filter((c): c is { at: string; source: string } => valid(c.at));
    if (stamped.length > 0) {
        const later = stamped.reduce((a, b) => (Date.parse(b.at) > Date.parse(a.at) ? b : a));
        return { expiresAt: later.at, source: later.source };
    }
    if (valid(output)) {
        return { expiresAt: output, source: "output" };
    }
    const name = shortName(stack.name);
    const own = namespaces.find((ns) => ns.annotations[KEYS.stack] === name && ns.labels[KEYS.managedBy] === MANAGED_BY && ns.labels[KEYS.installation] === stack.installation);
    const label = own?.labels[KEYS.expiresAt];
    const fromLabel = label === undefined ? undefined : parseTimestampLabel(label);
    if (fromLabel !== undefined) {
        return { expiresAt: fromLabel, source: `namespace ${own?.name} label` };
    }
    const garbled = [tag, config, output, label].find((v) => v !== undefined);
    return garbled === undefined ? {} : { problem: `expiry ${JSON.stringify(garbled)} is not a date` };
}

/** What to do with one stack, by its expiry alone. */
export function planStack(stack: ReapStack, namespaces: ReapNamespace[], now: Date): PlannedItem {
    const name = shortName(stack.name);
    const item = { kind: "stack" as const, name, stack: name };
    if (!isStackName(name)) {
        return { ...item, reason: "not a stack name prod-mirror makes", action: "keep" };
    }
    const { expiresAt, source, problem } = stackExpiry(stack, namespaces);
    if (expiresAt === undefined) {
        const reason = problem ?? `no expiry (no tag, config or output ${"prod-mirror:expiresAt"}, no namespace label ${KEYS.expiresAt})`;
        return { ...item, reason, action: "keep" };
    }
    return Date.parse(expiresAt) <= now.getTime()
        ? { ...item, reason: `expired at ${expiresAt} (${source})`, action: "destroy" }
        : { ...item, reason: `expires at ${expiresAt} (${source})`, action: "keep" };
}

/** The stack a namespace belongs to, or why it cannot be proven this installation's. */
export function namespaceClaim(ns: ReapNamespace, policy: Pick<ReapPolicy, "installation" | "namePrefix">): { stack: string } | { problem: string } {
    if (ns.labels[KEYS.managedBy] !== MANAGED_BY) {
        return { problem: `no ${KEYS.managedBy}=${MANAGED_BY} label` };
    }
    const common = claim(ns.labels[KEYS.installation], `${KEYS.installation} label`, ns.name, policy);
    if ("problem" in common) {
        return common;
    }
    // Both: the annotation is exact (it names the stack's lock), the label is what `down` selects by.
    const annotation = ns.annotations[KEYS.stack];
    const label = ns.labels[KEYS.stack];
    if (annotation === undefined || label === undefined) {
        return { problem: `no ${KEYS.stack} ${annotation === undefined ? "annotation" : "label"}` };
    }
    if (!isStackName(annotation)) {
        return { problem: `${KEYS.stack} ${JSON.stringify(annotation)} is not a stack name` };
    }
    if (labelValue(annotation) !== label) {
        return { problem: `${KEYS.stack} label ${JSON.stringify(label)} does not match its annotation ${JSON.stringify(annotation)}` };
    }
    return { stack: annotation };
}

/** The physical name an AWS resource's prefix is checked on (a queue is known by its URL). */
export function awsPhysicalName(r: Pick<ReapAwsResource, "kind" | "name">): string {
    return r.kind === "queue" ? r.name.slice(r.name.lastIndexOf("/") + 1) : r.name;
}

/** The stack a tagged AWS resource belongs to, or why it cannot be proven this installation's. */
export function awsClaim(r: ReapAwsResource, policy: Pick<ReapPolicy, "installation" | "namePrefix">): { stack: string } | { problem: string } {
    const common = claim(r.tags[AWS_TAG_KEYS.installation], `${AWS_TAG_KEYS.installation} tag`, awsPhysicalName(r), policy);
    if ("problem" in common) {
        return common;
    }
    const stack = r.tags[AWS_TAG_KEYS.stack];
    if (stack === undefined) {
        return { problem: `no ${AWS_TAG_KEYS.stack} tag` };
    }
    // A stack name is its own tag value (awsTagValue changes none of its characters).
    if (!isStackName(stack)) {
        return { problem: `${AWS_TAG_KEYS.stack} ${JSON.stringify(stack)} is not a stack name` };
    }
    return { stack };
}

function claim(installation: string | undefined, what: string, name: string, policy: Pick<ReapPolicy, "installation" | "namePrefix">): { ok: true } | { problem: string } {
    if (installation === undefined) {
        return { problem: `no ${what}` };
    }
    if (installation !== policy.installation) {
        return { problem: `installation ${installation}, not this one (${policy.installation})` };
    }
    if (!name.startsWith(`${policy.namePrefix}-`)) {
        return { problem: `name does not start with ${policy.namePrefix}-` };
    }
    return { ok: true };
}

const minutes = (ms: number): string => `${Math.round(ms / 60_000)}m`;

/** An object proven ours: kept while its stack exists or is young, deleted otherwise. */
function planOrphan(
    base: { kind: ItemKind; name: string; stack: string },
    createdAt: string | undefined,
    stacks: Map<string, PlannedItem>,
    policy: ReapPolicy,
): PlannedItem {
    const owner = stacks.get(base.stack);
    if (owner !== undefined) {
        return owner.action === "destroy"
            ? { ...base, reason: `its stack ${base.stack} expired: left to that stack's destroy`, action: "keep" }
            : { ...base, reason: `stack ${base.stack} exists`, action: "keep" };
    }
    if (!valid(createdAt)) {
        return { ...base, reason: `no stack ${base.stack}, but its creation time is unknown`, action: "keep" };
    }
    if (policy.now.getTime() - Date.parse(createdAt) < policy.minAgeMs) {
        return { ...base, reason: `no stack ${base.stack}, but created ${createdAt}, less than --min-age ${minutes(policy.minAgeMs)} ago`, action: "keep" };
    }
    return { ...base, reason: `no stack ${base.stack}`, action: "delete" };
}

/**
 * What to do with each stack, namespace and AWS resource. Pure. AWS resources without the
 * managed-by tag are not prod-mirror's at all and are left out of the plan (an account holds many);
 * every namespace listed is (it was selected by the managed-by label), so one that cannot be proven
 * this installation's appears as `not provably ours`. Stacks are this installation's by being on
 * its backend: a destroy removes only what the stack's own state records, so it needs no label.
 */
export function planReap(input: { stacks: ReapStack[]; namespaces: ReapNamespace[]; awsResources: ReapAwsResource[] }, policy: ReapPolicy): ReapPlan {
    const stackItems = input.stacks.map((s) => planStack(s, input.namespaces, policy.now));
    const byName = new Map(stackItems.map((i) => [i.name, i]));
    const objectItems: PlannedItem[] = [];
    let ours = 0;
    for (const ns of input.namespaces) {
        const c = namespaceClaim(ns, policy);
        if ("problem" in c) {
            objectItems.push({ kind: "namespace", name: ns.name, reason: c.problem, action: "not provably ours" });
            continue;
        }
        ours++;
        objectItems.push(planOrphan({ kind: "namespace", name: ns.name, stack: c.stack }, ns.createdAt, byName, policy));
    }
    for (const r of input.awsResources) {
        if (r.tags[AWS_TAG_KEYS.managedBy] !== MANAGED_BY) {
            continue;
        }
        const c = awsClaim(r, policy);
        if ("problem" in c) {
            objectItems.push({ kind: r.kind, name: r.name, reason: c.problem, action: "not provably ours" });
            continue;
        }
        ours++;
        objectItems.push(planOrphan({ kind: r.kind, name: r.name, stack: c.stack }, r.createdAt, byName, policy));
    }
    const items = [...stackItems, ...objectItems];
    const removes = (i: PlannedItem): boolean => i.action === "destroy" || i.action === "delete";

    const ownStacks = input.stacks.filter((s) => s.installation === policy.installation).length;
    if (ownStacks === 0 && ours > 0) {
        const names = objectItems.filter((i) => i.action !== "not provably ours").map((i) => `${i.kind} ${i.name}`);
        const shown = names.length > 3 ? `${names.slice(0, 3).join(", ")} and ${names.length - 3} more` : names.join(", ");
        const refusal =
            `the backend lists no stack of installation ${policy.installation}, yet ${ours} object(s) of it exist (${shown}): ` +
            "a wiped or wrong backend would make every one of them look orphaned, so reap removes nothing. " +
            "Check PULUMI_BACKEND_URL and PROD_MIRROR_INSTALLATION; if these objects truly are leftovers, delete them by hand.";
        return { items: items.map((i) => (removes(i) ? { ...i, action: "refused" } : i)), refusal };
    }

    let budget = policy.maxDeletions;
    return {
        items: items.map((i) => {
            if (!removes(i)) {
                return i;
            }
            if (budget <= 0) {
                return { ...i, action: "skipped: cap" };
            }
            budget--;
            return i;
        }),
    };
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

/** One line per item, the refusal if any, and a summary with counts. Pure. */
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
    if (r.refusal !== undefined) {
        lines.push(`reap refused: ${r.refusal}`);
    }
    lines.push(`reap${r.dryRun ? " (dry run)" : ""}: ${r.items.length} item(s): ${summary}`);
    return `${lines.join("\n")}\n`;
}
