// `down --forget-state`: for a mirror whose cluster is gone, remove its stack without touching
// anything, and tell the person everything the state recorded, so that what may still exist
// somewhere (a cluster that comes back, AWS resources) can be found and removed by hand.
import * as fs from "fs";
import { clusterAccessOf, clusterEndpoint } from "./cluster-access";
import { closeForwardsAndFindStack, defaultOutDir, type Log } from "./mirror";
import { exportedState, maskedOutputs } from "./stack";

/** One resource the stack's state holds. */
export interface RecordedResource {
    /** The Pulumi type token, e.g. `kubernetes:core/v1:ConfigMap`, `aws:sqs/queue:Queue`. */
    type: string;
    /** How a person finds it: `ConfigMap/name -n ns` for Kubernetes, the provider's id (ARN, URL, name) otherwise. */
    where: string;
}

type Json = Record<string, unknown>;
const asObject = (v: unknown): Json => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : {});
const asString = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/**
 * The real resources in an exported deployment (`exportedState(stack).deployment`): not the stack,
 * the providers or the components, which exist only in the state. Kubernetes objects by kind,
 * name and namespace; anything else by its id.
 */
export function recordedResources(deployment: unknown): RecordedResource[] {
    const resources = asObject(deployment).resources;
    if (!Array.isArray(resources)) {
        return [];
    }
    return resources
        .map(asObject)
        .filter((r) => r.custom === true && typeof r.type === "string" && !r.type.startsWith("pulumi:"))
        .map((r) => {
            const type = r.type as string;
            const metadata = asObject(asObject(r.outputs).metadata);
            const name = asString(metadata.name);
            if (type.startsWith("kubernetes:") && name !== undefined) {
                const kind = type.slice(type.lastIndexOf(":") + 1);
                const namespace = asString(metadata.namespace);
                return { type, where: `${kind}/${name}${namespace === undefined ? "" : ` -n ${namespace}`}` };
            }
            return { type, where: asString(r.id) ?? asString(r.urn) ?? "(no id)" };
        })
        .sort((a, b) => `${a.type} ${a.where}`.localeCompare(`${b.type} ${b.where}`));
}

/** What `down --forget-state` prints: the namespace, every recorded resource, and how to look for them. */
export function formatForgetReport(stackName: string, namespace: string | undefined, endpoint: string | undefined, resources: RecordedResource[]): string {
    const lines = [`stack ${stackName} removed without touching the cluster${endpoint === undefined ? "" : ` at ${endpoint}`}; nothing was deleted.`];
    lines.push(`what may remain, as the state last recorded it (${resources.length} resource(s)):`);
    lines.push(`  namespace: ${namespace ?? "(none recorded)"}`);
    const kube = resources.filter((r) => r.type.startsWith("kubernetes:"));
    const other = resources.filter((r) => !r.type.startsWith("kubernetes:"));
    if (kube.length > 0) {
        lines.push("  Kubernetes objects:");
        lines.push(...kube.map((r) => `    ${r.where}  (${r.type})`));
    }
    if (other.length > 0) {
        lines.push("  other resources (e.g. AWS), by id:");
        lines.push(...other.map((r) => `    ${r.type}  ${r.where}`));
    }
    if (namespace !== undefined) {
        // Cluster-scoped objects (and any in another namespace) do not go with the namespace.
        const outside = kube.filter((r) => r.where !== `Namespace/${namespace}` && !r.where.endsWith(` -n ${namespace}`)).length;
        lines.push(`if the cluster comes back: kubectl delete namespace ${namespace} removes the objects in it` +
            (outside === 0 ? "" : `; delete the ${outside} Kubernetes object(s) above outside it by hand`));
    }
    if (other.length > 0) {
        lines.push("AWS resources are not in the cluster: delete them in their account, or let 'prod-mirror reap --aws-endpoint URL' " +
            "remove this installation's orphan buckets, queues and tables (by their tags, once older than --min-age)");
    }
    return lines.join("\n");
}

/**
 * Removes the mirror's stack from the backend without a destroy and without asking the cluster
 * anything (reading the kubeconfig file for its endpoint is all), and returns the report of what
 * may remain. `key` is refKey's.
 */
export async function forgetMirror(key: string, local: { mirrorsDir: string }, log: Log): Promise<{ existed: boolean; report: string }> {
    const { stackName, stack } = await closeForwardsAndFindStack(key, local, log);
    if (stack === undefined) {
        return { existed: false, report: "" };
    }
    const resources = recordedResources((await exportedState(stack)).deployment);
    const namespace = (await maskedOutputs(stack)).namespace?.value as string | undefined;
    const access = await clusterAccessOf(stack, process.env);
    let endpoint: string | undefined;
    try {
        endpoint = clusterEndpoint(access.env);
    } finally {
        access.close();
    }
    await stack.workspace.removeStack(stack.name, { force: true });
    fs.rmSync(defaultOutDir(stackName), { recursive: true, force: true });
    return { existed: true, report: formatForgetReport(stackName, namespace, endpoint, resources) };
}
