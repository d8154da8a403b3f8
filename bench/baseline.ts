// The kubectl baseline: the objects a real mirror holds, as `kubectl get -o json` shows them, turned
// back into what a hand-written script would `kubectl apply` (server-set fields removed) and moved to
// another namespace. Pure: main.ts does the kubectl calls.
import { KEYS } from "../components/manifests";

/* eslint-disable @typescript-eslint/no-explicit-any -- objects of any kind, walked generically */

/** The kinds, in one namespace, that the dump looks at (everything a ProductionMirror can declare there). */
export const NAMESPACED_KINDS =
    "secrets,configmaps,serviceaccounts,services,deployments,statefulsets,daemonsets,jobs,cronjobs,networkpolicies," +
    "resourcequotas,limitranges,roles,rolebindings,persistentvolumeclaims,ingresses,poddisruptionbudgets,horizontalpodautoscalers";

const SERVER_METADATA = ["uid", "resourceVersion", "managedFields", "creationTimestamp", "generation", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"];
const SERVER_ANNOTATIONS = ["kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision", "batch.kubernetes.io/job-tracking"];
// What the Job controller adds to a Job's selector and labels: tied to the uid of the Job it was made for.
const JOB_LABELS = ["controller-uid", "batch.kubernetes.io/controller-uid", "job-name", "batch.kubernetes.io/job-name"];

function dropKeys(map: Record<string, unknown> | undefined, keys: readonly string[]): void {
    if (map !== undefined) {
        for (const key of keys) {
            delete map[key];
        }
    }
}

/** One dumped object as a script would apply it: no status, no field the API server sets. */
export function stripServerFields(live: any): any {
    const obj = structuredClone(live);
    delete obj.status;
    dropKeys(obj.metadata, SERVER_METADATA);
    dropKeys(obj.metadata?.annotations, SERVER_ANNOTATIONS);
    if (obj.metadata?.annotations !== undefined && Object.keys(obj.metadata.annotations).length === 0) {
        delete obj.metadata.annotations;
    }
    if (obj.kind === "Namespace") {
        // The API server sets this label to the name, and the finalizer itself.
        dropKeys(obj.metadata.labels, ["kubernetes.io/metadata.name"]);
        delete obj.spec;
    }
    if (obj.kind === "Service") {
        delete obj.spec?.clusterIP;
        delete obj.spec?.clusterIPs;
    }
    if (obj.kind === "Job") {
        delete obj.spec?.selector;
        dropKeys(obj.metadata.labels, JOB_LABELS);
        dropKeys(obj.spec?.template?.metadata?.labels, JOB_LABELS);
    }
    return obj;
}

/**
 * The objects the mirror made: what carries its stack label and no owner (a controller's ReplicaSets
 * and Pods carry the template's labels too), plus the namespace; the namespace first, so one
 * `kubectl apply -f` can create it before what goes in it.
 */
export function baselineObjects(namespace: any, items: readonly any[], stackLabel: string): any[] {
    const made = items.filter((o) => o.metadata?.labels?.[KEYS.stack] === stackLabel && (o.metadata?.ownerReferences ?? []).length === 0);
    const rest = made.map(stripServerFields).sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
    return [stripServerFields(namespace), ...rest];
}

/**
 * The same objects in namespace `to`: every string that names namespace `from` (metadata, in-cluster
 * URLs, namespace selectors) renamed, and the stack label and annotation set to `label`, so that
 * nothing in the copy claims to belong to the mirror it was taken from (its `down` would count the
 * copy as a survivor). Image references name no namespace and stay as they are.
 */
export function moveBaseline(objects: readonly any[], from: string, to: string, stackLabel: string, label: string): any[] {
    const walk = (value: unknown, key?: string): unknown => {
        if (typeof value === "string") {
            return key === KEYS.stack && value === stackLabel ? label : value.split(from).join(to);
        }
        if (Array.isArray(value)) {
            return value.map((v) => walk(v));
        }
        if (value !== null && typeof value === "object") {
            return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
        }
        return value;
    };
    return objects.map((o) => walk(o));
}

/** A `kind: List` for `kubectl apply -f`. */
export function asList(objects: readonly any[]): string {
    return `${JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }, null, 1)}\n`;
}

/** `Kind/name` of each object, for the report and for comparing with the stack's own count. */
export function describeObjects(objects: readonly any[]): string[] {
    return objects.map((o) => `${o.kind}/${o.metadata.name}`);
}
