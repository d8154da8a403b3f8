import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { BranchContext } from "./branch-context";
import { ContainerDefaults, DEFAULT_CONTAINER_DEFAULTS, DEFAULT_DELETE_TIMEOUT_SECONDS, DEFAULT_INSTALLATION, DEFAULT_QUOTA, QuotaSpec } from "./app-spec";
import { commonLabels, MIRROR_ADMIN_ROLE, namespaceAnnotations, namespaceLabels } from "./manifests";
import { SKIP_AWAIT_ANNOTATION } from "./rewrite";

export interface BranchNamespaceArgs {
    /** The namespace's physical name, from naming.namespaceName. */
    name: string;
    context: BranchContext;
    /** The Pulumi stack: a label on every object (label-safe form) and an annotation (exact). */
    stack: string;
    /** Which installation's reap may remove this namespace once its stack is gone (a label). Default: DEFAULT_INSTALLATION. */
    installation?: string;
    /** ResourceQuota. Default: DEFAULT_QUOTA (4 CPU / 8Gi requested, 8 CPU / 16Gi limits, 50 pods). */
    quota?: QuotaSpec;
    /** LimitRange defaults. Default: DEFAULT_CONTAINER_DEFAULTS (50m/64Mi requested, 500m/256Mi limits). */
    containerDefaults?: ContainerDefaults;
    /**
     * TCP ports pods may reach outside the cluster (real AWS needs 443). Default: none; traffic stays
     * inside the namespace plus DNS.
     */
    externalEgressPorts?: number[];
    /**
     * How long a destroy waits for the namespace to go, in seconds: an object in it whose finalizer
     * never clears holds it for ever, and the destroy must fail within a bound (the stack keeps the
     * namespace, so a later destroy finishes it). Default: DEFAULT_DELETE_TIMEOUT_SECONDS (120).
     */
    deleteTimeoutSeconds?: number;
    /**
     * The group (access/, prod-mirror:operatorGroup) that gets MIRROR_ADMIN_ROLE in the namespace by a
     * RoleBinding made before anything else in it. Default: none, no RoleBinding.
     */
    operatorGroup?: string;
}

/**
 * Resource options that make every namespaced Kubernetes object declared under a component go with
 * `namespace`: `destroy` deletes the namespace alone and the API server removes what is in it, as
 * `kubectl delete namespace` does, instead of one delete and one await per object before it.
 * Cluster-scoped objects and cloud resources are still deleted one by one.
 */
export function deletedWithNamespace(namespace: pulumi.Resource): pulumi.ResourceTransform {
    return ({ type, props, opts }) =>
        type.startsWith("kubernetes:") && props.metadata?.namespace !== undefined ? { props, opts: { ...opts, deletedWith: namespace } } : undefined;
}

/**
 * A branch's namespace: labelled with branch, commit, owner and expiry, Pod Security `restricted`
 * enforced, a ResourceQuota and LimitRange, and network policies that deny everything except
 * traffic inside the namespace and DNS.
 */
export class BranchNamespace extends pulumi.ComponentResource {
    public readonly namespace: k8s.core.v1.Namespace;
    /** The namespace's name, known once it exists and, with an operatorGroup, once that may write in it. */
    public readonly name: pulumi.Output<string>;
    /** What an object in the namespace waits for when it does not take `name`: the RoleBinding, else the namespace. */
    public readonly ready: pulumi.Resource;

    constructor(name: string, args: BranchNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("prod-mirror:k8s:BranchNamespace", name, {}, opts);
        const quota = args.quota ?? DEFAULT_QUOTA;
        const defaults = args.containerDefaults ?? DEFAULT_CONTAINER_DEFAULTS;
        const egressPorts = args.externalEgressPorts ?? [];
        const installation = args.installation ?? DEFAULT_INSTALLATION;
        const deleteTimeoutSeconds = args.deleteTimeoutSeconds ?? DEFAULT_DELETE_TIMEOUT_SECONDS;

        // The namespace is the one object that needs its physical name: every in-cluster URL uses it.
        this.namespace = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            {
                metadata: {
                    name: args.name,
                    labels: namespaceLabels(args.context, args.stack, installation),
                    annotations: namespaceAnnotations(args.context, args.stack),
                },
            },
            // Recorded in the state, which is what a destroy (which runs no program) goes by.
            { parent: this, customTimeouts: { delete: `${deleteTimeoutSeconds}s` } },
        );
        const labels = commonLabels(args.context, args.stack, installation);
        const child = { parent: this, deletedWith: this.namespace };
        if (args.operatorGroup === undefined) {
            this.ready = this.namespace;
            this.name = this.namespace.metadata.name;
        } else {
            // A least-privilege operator holds nothing in a new namespace until this binding exists
            // (access/rbac.yaml). Deleted with the namespace, never before it: a destroy must keep
            // its rights in the namespace until the namespace itself goes.
            this.ready = new k8s.rbac.v1.RoleBinding(
                `${name}-operators`,
                {
                    metadata: { namespace: this.namespace.metadata.name, labels },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: MIRROR_ADMIN_ROLE },
                    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: args.operatorGroup }],
                },
                child,
            );
            // The name carries the binding as a dependency: every object given it is created after.
            this.name = pulumi.all([this.namespace.metadata.name, (this.ready as k8s.rbac.v1.RoleBinding).metadata.name]).apply(([ns]) => ns);
        }
        const ns = this.name;

        new k8s.core.v1.ResourceQuota(
            `${name}-quota`,
            {
                // Not awaited: the provider polls every 0.5 s for the quota controller's first count,
                // and every pod waited for that. Pods need only the quota to exist: until it is
                // counted, quota admission refuses them (the ReplicaSet retries), so none escapes it.
                metadata: { namespace: ns, labels, annotations: { [SKIP_AWAIT_ANNOTATION]: "true" } },
                spec: {
                    hard: {
                        "requests.cpu": quota.requestsCpu,
                        "requests.memory": quota.requestsMemory,
                        "limits.cpu": quota.limitsCpu,
                        "limits.memory": quota.limitsMemory,
                        pods: String(quota.pods),
                    },
                },
            },
            child,
        );
        new k8s.core.v1.LimitRange(
            `${name}-limits`,
            {
                metadata: { namespace: ns, labels },
                spec: {
                    limits: [
                        {
                            type: "Container",
                            defaultRequest: { cpu: defaults.requestCpu, memory: defaults.requestMemory },
                            default: { cpu: defaults.limitCpu, memory: defaults.limitMemory },
                        },
                    ],
                },
            },
            child,
        );

        new k8s.networking.v1.NetworkPolicy(
            `${name}-default-deny`,
            { metadata: { namespace: ns, labels }, spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } },
            child,
        );
        new k8s.networking.v1.NetworkPolicy(
            `${name}-allow-same-namespace`,
            {
                metadata: { namespace: ns, labels },
                spec: {
                    podSelector: {},
                    policyTypes: ["Ingress", "Egress"],
                    ingress: [{ from: [{ podSelector: {} }] }],
                    egress: [{ to: [{ podSelector: {} }] }],
                },
            },
            child,
        );
        // DNS may be served from kube-system pods or from a node-local address, so only the port is fixed.
        new k8s.networking.v1.NetworkPolicy(
            `${name}-allow-dns`,
            {
                metadata: { namespace: ns, labels },
                spec: {
                    podSelector: {},
                    policyTypes: ["Egress"],
                    egress: [{ ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] }],
                },
            },
            child,
        );
        if (egressPorts.length > 0) {
            new k8s.networking.v1.NetworkPolicy(
                `${name}-allow-external`,
                {
                    metadata: { namespace: ns, labels },
                    spec: {
                        podSelector: {},
                        policyTypes: ["Egress"],
                        egress: [
                            {
                                to: [{ ipBlock: { cidr: "0.0.0.0/0" } }],
                                ports: egressPorts.map((port) => ({ protocol: "TCP", port })),
                            },
                        ],
                    },
                },
                child,
            );
        }

        this.registerOutputs({ name: this.name });
    }
}
