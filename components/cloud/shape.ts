// What both cloud modes share: the args, the shape of their outputs and the physical names. Services
// are wired from this shape only, so an application cannot tell `aws` from `emulated`.
import type * as pulumi from "@pulumi/pulumi";
import type { CloudMode, CloudSpec } from "../app-spec";
import { cloudResourceName } from "../naming";

/** Physical names of the declared resources, keyed by their declared names. */
export interface CloudNames {
    queues: Record<string, string>;
    buckets: Record<string, string>;
    tables: Record<string, string>;
}

/** Derives every physical cloud name from the branch; both modes use the same names. */
export function cloudNames(spec: CloudSpec, prefix: string, branch: string): CloudNames {
    const map = (kind: "queue" | "bucket" | "table", names: string[]): Record<string, string> =>
        Object.fromEntries(names.map((n) => [n, cloudResourceName(kind, prefix, branch, n)]));
    return {
        queues: map("queue", spec.queues.map((q) => q.name)),
        buckets: map("bucket", spec.buckets.map((b) => b.name)),
        tables: map("table", spec.tables.map((t) => t.name)),
    };
}

/** Args common to both modes. */
export interface CloudResourcesArgs {
    spec: CloudSpec;
    names: CloudNames;
    /** Tags for every resource: branch, stack, expiry (manifests.awsTags). */
    tags: Record<string, string>;
    region: string;
    /** The branch's namespace, where the workloads' credential Secret (and the emulator) live. */
    namespace: pulumi.Input<string>;
    /** Labels for Kubernetes objects. */
    labels: Record<string, string>;
}

/** The per-branch cloud resources as services see them, whatever the mode. */
export interface CloudResources extends pulumi.ComponentResource {
    readonly mode: CloudMode;
    readonly region: string;
    /** The endpoint workloads use (AWS_ENDPOINT_URL); absent means real AWS's own endpoints. */
    readonly endpoint?: pulumi.Output<string>;
    readonly queues: Record<string, { name: pulumi.Output<string>; url: pulumi.Output<string> }>;
    readonly buckets: Record<string, { name: pulumi.Output<string> }>;
    readonly tables: Record<string, { name: pulumi.Output<string> }>;
    /** A Secret in the namespace with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, when there are keys to give. */
    readonly credentialsSecretName?: pulumi.Output<string>;
}
