// What holds a namespace that a destroy could not delete: the objects in it whose finalizers never
// cleared, and what the namespace's own status says. Kubernetes keeps a deleted namespace until
// every object in it is gone, and an object with a finalizer until the controller that owns the
// finalizer removes it: with that controller gone, for ever. Pure parsing here; readStuck is the shell.
import { kubectl, kubectlAsync } from "./kubectl";

/** An object being deleted (it has a deletionTimestamp) that waits for its finalizers. */
export interface StuckObject {
    /** `configmaps` for the core group, `widgets.example.com` otherwise: what kubectl takes before `/name`. */
    resource: string;
    kind: string;
    name: string;
    finalizers: string[];
    deletingSince: string;
}

/** The parts of a Namespace's status that say why it is still there. */
export interface NamespaceState {
    name: string;
    /** `Terminating` once deleted, `Active` otherwise. */
    phase: string;
    deletingSince?: string;
    /** The conditions the namespace controller sets (NamespaceFinalizersRemaining, NamespaceContentRemaining, ...) that are True. */
    conditions: Array<{ type: string; message: string }>;
}

type Json = Record<string, unknown>;
const asObject = (v: unknown): Json => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : {});
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asString = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** `kubectl get namespace NS -o json`. */
export function parseNamespace(json: unknown): NamespaceState {
    const ns = asObject(json);
    const metadata = asObject(ns.metadata);
    const status = asObject(ns.status);
    const deletingSince = asString(metadata.deletionTimestamp);
    return {
        name: asString(metadata.name) ?? "",
        phase: asString(status.phase) ?? "",
        ...(deletingSince === undefined ? {} : { deletingSince }),
        conditions: asArray(status.conditions)
            .map(asObject)
            .filter((c) => c.status === "True")
            .map((c) => ({ type: asString(c.type) ?? "", message: asString(c.message) ?? "" })),
    };
}

/** The kubectl resource name of an apiVersion and kind: lowercase kind, `.group` unless core (kubectl accepts the kind for the resource). */
export function kubectlResource(apiVersion: string, kind: string): string {
    const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
    return group === "" ? kind.toLowerCase() : `${kind.toLowerCase()}.${group}`;
}

/** The objects of a `kubectl get ... -o json` List that carry finalizers; `deletingSince` is "" for one not deleted yet. */
export function finalizerHolders(list: unknown): StuckObject[] {
    return asArray(asObject(list).items)
        .map(asObject)
        .flatMap((item) => {
            const metadata = asObject(item.metadata);
            const finalizers = asArray(metadata.finalizers).filter((f): f is string => typeof f === "string");
            const kind = asString(item.kind) ?? "";
            if (finalizers.length === 0) {
                return [];
            }
            return [{ resource: kubectlResource(asString(item.apiVersion) ?? "v1", kind), kind, name: asString(metadata.name) ?? "", finalizers, deletingSince: asString(metadata.deletionTimestamp) ?? "" }];
        })
        .sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`));
}

/** The objects of a `kubectl get ... -o json` List that are being deleted and still carry finalizers. */
export function stuckObjects(list: unknown): StuckObject[] {
    return finalizerHolders(list).filter((o) => o.deletingSince !== "");
}

/**
 * The stuck objects as a list taken before the deletion says them, for an identity that can no longer
 * read inside the namespace (the namespace controller deleted its RoleBinding with the rest): the
 * ones whose finalizers the namespace's status still names, deleted when the namespace was.
 */
export function stuckFromBefore(before: readonly StuckObject[], ns: NamespaceState): StuckObject[] {
    const remaining = ns.conditions.filter((c) => c.type === "NamespaceFinalizersRemaining").map((c) => c.message);
    return before
        .filter((o) => o.finalizers.some((f) => remaining.some((m) => m.includes(f))))
        .map((o) => ({ ...o, deletingSince: o.deletingSince === "" ? (ns.deletingSince ?? "") : o.deletingSince }));
}

/**
 * What a person reads when a destroy gave up on the namespace: each stuck object by kind and name
 * with its finalizers, what the namespace's status says, and the two ways out. `again` is the
 * command that finishes the destroy once they are resolved.
 */
export function formatStuckReport(ns: NamespaceState, objects: StuckObject[], again: string, listedBefore = false): string {
    const lines = [`the namespace ${ns.name} did not go within prod-mirror:deleteTimeout` + (ns.deletingSince === undefined ? "" : ` (deleted at ${ns.deletingSince}, phase ${ns.phase})`)];
    if (objects.length > 0) {
        lines.push(listedBefore
            ? "these objects in it are deleted but wait for their finalizers (as listed before the deletion: this identity lost its rights in the namespace with it, so a cluster admin runs the patches below):"
            : "these objects in it are deleted but wait for their finalizers:");
        lines.push(...objects.map((o) => `  ${o.kind}/${o.name}  finalizers: ${o.finalizers.join(", ")}  (deleted at ${o.deletingSince})`));
    } else {
        lines.push("no object in it waits for a finalizer any more; the namespace controller may still be emptying it");
    }
    if (ns.conditions.length > 0) {
        lines.push("the namespace's status says:");
        lines.push(...ns.conditions.map((c) => `  ${c.type}: ${c.message}`));
    }
    if (objects.length > 0) {
        lines.push("to resolve: the controller that owns each finalizer must finish (is it running, and can it reach what it cleans up?);");
        lines.push("if that controller is gone for good, remove the finalizer by hand:");
        lines.push(...objects.map((o) => `  kubectl patch ${o.resource}/${o.name} -n ${ns.name} --type=merge -p '{"metadata":{"finalizers":null}}'`));
    }
    lines.push(`the stack is kept, with the namespace in it: once the namespace is gone or the objects are resolved, run '${again}' again`);
    return lines.join("\n");
}

/**
 * The namespace's state and its stuck objects, read with kubectl; undefined when the namespace is gone
 * or unreadable. When the objects cannot be listed any more, `before` (heldBefore's list) says them.
 */
export function readStuck(namespace: string, env: NodeJS.ProcessEnv, before: readonly StuckObject[] = []): { ns: NamespaceState; objects: StuckObject[]; listedBefore: boolean } | undefined {
    const got = kubectl(["get", "namespace", namespace, "-o", "json", "--ignore-not-found"], env, 30_000);
    if (!got.ok || got.stdout.trim() === "") {
        return undefined;
    }
    const ns = parseNamespace(JSON.parse(got.stdout));
    const kinds = kubectl(["api-resources", "--verbs=list,delete", "--namespaced", "-o", "name"], env, 30_000);
    const types = kinds.stdout.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("events"));
    if (types.length === 0) {
        return { ns, objects: [], listedBefore: false };
    }
    // kubectl exits non-zero when one aggregated API fails to answer, but still prints the rest.
    const listed = kubectl(["get", types.join(","), "-n", namespace, "-o", "json", "--ignore-not-found"], env, 60_000);
    if (/\bforbidden\b/i.test(listed.stderr) && before.length > 0) {
        return { ns, objects: stuckFromBefore(before, ns), listedBefore: true };
    }
    let objects: StuckObject[];
    try {
        objects = stuckObjects(JSON.parse(listed.stdout));
    } catch {
        // No list at all (every API failed): the namespace's conditions still name the finalizers.
        objects = [];
    }
    return { ns, objects, listedBefore: false };
}

/**
 * Every object with a finalizer in the stack's labelled namespaces, listed before a destroy starts:
 * what may hold a namespace, while this identity can still read inside it (see stuckFromBefore).
 * Best effort: an empty list when anything fails.
 */
export async function heldBefore(stackSelector: string, env: NodeJS.ProcessEnv): Promise<StuckObject[]> {
    const [namespaces, kinds] = await Promise.all([
        kubectlAsync(["get", "namespaces", "-l", stackSelector, "-o", "jsonpath={.items[*].metadata.name}"], env),
        kubectlAsync(["api-resources", "--verbs=list,delete", "--namespaced", "-o", "name"], env),
    ]);
    const types = kinds.stdout.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("events"));
    const names = namespaces.stdout.split(" ").filter((n) => n !== "");
    if (!namespaces.ok || types.length === 0 || names.length === 0) {
        return [];
    }
    const lists = await Promise.all(names.map((ns) => kubectlAsync(["get", types.join(","), "-n", ns, "-o", "json", "--ignore-not-found"], env)));
    return lists.flatMap((l) => {
        try {
            return finalizerHolders(JSON.parse(l.stdout));
        } catch {
            return [];
        }
    });
}
