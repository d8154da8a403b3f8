// Manifest shaping shared by the components: labels, annotations, tags and the restricted
// security settings. Plain functions, so tests check them without the engine.
import type * as k8s from "@pulumi/kubernetes";
import type { BranchContext } from "./branch-context";
import type { ResourceRequirements } from "./app-spec";
import { awsTagValue, LABEL_PREFIX, labelValue, labelValueOrHash } from "./naming";

/** The label and annotation keys a reaper or a human selects on. */
export const KEYS = {
    branch: `${LABEL_PREFIX}/branch`,
    commit: `${LABEL_PREFIX}/commit`,
    owner: `${LABEL_PREFIX}/owner`,
    expiresAt: `${LABEL_PREFIX}/expires-at`,
    stack: `${LABEL_PREFIX}/stack`,
    installation: `${LABEL_PREFIX}/installation`,
    service: `${LABEL_PREFIX}/service`,
    managedBy: "app.kubernetes.io/managed-by",
    name: "app.kubernetes.io/name",
    component: "app.kubernetes.io/component",
} as const;

export const MANAGED_BY = "prod-mirror";

/**
 * The least-privilege identity access/ defines: the group the local environment's kubeconfig and a
 * team's CI belong to, and the ClusterRole each mirror namespace binds it to (`admin` plus quotas).
 * access/policy.yaml names both; a unit test keeps them equal.
 */
export const OPERATOR_GROUP = "prod-mirror:operators";
export const MIRROR_ADMIN_ROLE = "prod-mirror:mirror-admin";

/** The AWS tag keys every resource carries (see awsTags); reap selects leftovers by them. */
export const AWS_TAG_KEYS = {
    branch: "prod-mirror:branch",
    commit: "prod-mirror:commit",
    stack: "prod-mirror:stack",
    expiresAt: "prod-mirror:expires-at",
    managedBy: "prod-mirror:managed-by",
    installation: "prod-mirror:installation",
} as const;

/** The uid/gid every workload runs as: images made with debootstrap have no non-root user to name. */
export const RUN_AS = 65532;

/**
 * Labels every object of a mirror carries: managed-by, the installation, and the label-safe branch
 * and stack. The installation (config prod-mirror:installation, validated there to be label-safe
 * as it is) is what lets `reap` tell its own leftovers from another installation's on a shared
 * cluster. The
 * stack label is what the reaper and the integration tests select leftovers by
 * (`kubectl get all -A -l prod-mirror.dev/stack=<labelValue(stack)>`); a stack name longer than 63
 * characters is cut and hashed like any other label value, the annotation keeps it whole.
 */
export function commonLabels(context: BranchContext, stack: string, installation: string): Record<string, string> {
    return { [KEYS.managedBy]: MANAGED_BY, [KEYS.installation]: installation, [KEYS.branch]: labelValue(context.branch), [KEYS.stack]: labelValue(stack) };
}

/** Namespace labels: who, what, which stack, until when (label-safe forms) plus Pod Security `restricted`. */
export function namespaceLabels(context: BranchContext, stack: string, installation: string): Record<string, string> {
    return {
        ...commonLabels(context, stack, installation),
        [KEYS.commit]: context.commit,
        [KEYS.owner]: labelValueOrHash(context.owner),
        [KEYS.expiresAt]: context.expiresAtLabel,
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
    };
}

/** Namespace annotations: the exact values the labels could only approximate. */
export function namespaceAnnotations(context: BranchContext, stack: string): Record<string, string> {
    return {
        [KEYS.branch]: context.branch,
        [KEYS.commit]: context.commit,
        [KEYS.owner]: context.owner,
        [KEYS.expiresAt]: context.expiresAt,
        [KEYS.stack]: stack,
    };
}

/** Tags for every AWS resource (the same set the emulator creates its resources with). */
export function awsTags(context: BranchContext, stack: string, installation: string): Record<string, string> {
    return {
        [AWS_TAG_KEYS.branch]: awsTagValue(context.branch),
        [AWS_TAG_KEYS.commit]: context.commit,
        [AWS_TAG_KEYS.stack]: awsTagValue(stack),
        [AWS_TAG_KEYS.expiresAt]: context.expiresAt,
        [AWS_TAG_KEYS.managedBy]: MANAGED_BY,
        [AWS_TAG_KEYS.installation]: installation,
    };
}

/** Pod-level settings that pass Pod Security `restricted` with an explicit numeric user. */
export function restrictedPodSecurity(): k8s.types.input.core.v1.PodSecurityContext {
    return {
        runAsNonRoot: true,
        runAsUser: RUN_AS,
        runAsGroup: RUN_AS,
        fsGroup: RUN_AS,
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** Container-level settings that pass Pod Security `restricted`; the root filesystem is read-only. */
export function restrictedContainerSecurity(): k8s.types.input.core.v1.SecurityContext {
    return {
        runAsNonRoot: true,
        runAsUser: RUN_AS,
        runAsGroup: RUN_AS,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** A writable /tmp (the root filesystem is read-only), which is also HOME. */
export const TMP_VOLUME = { name: "tmp", emptyDir: { sizeLimit: "256Mi" } };
export const TMP_MOUNT = { name: "tmp", mountPath: "/tmp" };

/** A container's requests and limits as Kubernetes takes them; only the parts that are set. */
export function containerResources(resources?: ResourceRequirements): k8s.types.input.core.v1.ResourceRequirements | undefined {
    if (resources === undefined) {
        return undefined;
    }
    const out: k8s.types.input.core.v1.ResourceRequirements = {};
    if (resources.requests !== undefined) {
        out.requests = { ...resources.requests };
    }
    if (resources.limits !== undefined) {
        out.limits = { ...resources.limits };
    }
    return out;
}
