// The per-branch rewrite of production's own Kubernetes objects (issue 9; the README's "The production description" lists the rules). Pure:
// production's rendered objects and the mirror's target in, the mirror's objects and the fidelity
// report out. Every rule is one exported function that returns the rewritten copy together with the
// FieldChange entries it made, through one Editor: the report is written by the same call that
// changes the field, so it cannot drift from what is applied (`applyChanges` proves it in the tests).
// All problems are collected first and thrown together, so one run tells the user everything to fix.
import { isDeepStrictEqual } from "util";
import type { ServiceOverride } from "./app-spec";
import { type FieldPath, isRecord, jsonPointer, type KubeObject, objectId, pointerTokens, valueAt, writeAt } from "./kube-object";

/** A container env entry as the target hands it over: plain values, no Outputs. */
export interface EnvVar {
    name: string;
    value?: string;
    valueFrom?: Record<string, unknown>;
}

/** Where and how one branch's mirror runs: everything the rules need, nothing read from elsewhere. */
export interface RewriteTarget {
    /** The branch namespace every namespaced object moves to. */
    namespace: string;
    /** Added to every object's metadata.labels (stack label etc.). */
    labels: Record<string, string>;
    /** The mirror's pull secret, bound to every pod template. */
    pullSecretName: string;
    /** The mirror's ServiceAccount, bound to every pod template. */
    serviceAccountName: string;
    /** Read by no rule: cloudNames and cloudEnv already hold what differs between the modes. */
    cloudMode: "aws" | "emulated";
    /** Set (replaced by name, else appended) in every container that uses a mapped cloud name. */
    cloudEnv: EnvVar[];
    /** production: a repository without tag or digest; mirror: the full reference the mirror built. */
    images: { production: string; mirror: string }[];
    /** A production value (queue URL, bucket name, ...) and the branch's; `what` says which for people. */
    cloudNames: { production: string; mirror: string; what: string }[];
    /** Secrets the mirror creates itself with generated values: production's are never copied. */
    standIns: { name: string; keys: string[] }[];
    /** By workload metadata.name. */
    overrides: Record<string, ServiceOverride>;
    /** `<slug>.<previewDomain>`; hosts with none to replace them are a problem. */
    previewHost?: string;
    /** Ingress tls[].secretName becomes this; undefined drops the tls entries (reported). */
    previewTlsSecretName?: string;
    /** Custom resources the mirror's cluster knows; any other non-built-in kind is a problem. */
    knownCustomKinds: { apiVersion: string; kind: string; namespaced: boolean }[];
    /** The readiness and startup probes' longest period, in seconds; 0 keeps production's probes. */
    probePeriodSeconds: number;
}

/** The rule behind a change, a skip or a problem. */
export type RuleName =
    | "namespace"
    | "cluster-scoped"
    | "custom-kind"
    | "labels"
    | "image"
    | "pull-secret"
    | "service-account"
    | "cloud-identity"
    | "cloud-name"
    | "cloud-env"
    | "stand-in"
    | "replicas"
    | "resources"
    | "hpa"
    | "host"
    | "tls-secret"
    | "pod-security"
    | "priority-class"
    | "skip-await"
    | "probe-period";

/** One field the mirror sets differently from production. */
export interface FieldChange {
    /** RFC 6901 JSON pointer into the object. */
    path: string;
    /** undefined: production does not set the field. */
    production: unknown;
    /** undefined: the mirror removes the field. */
    mirror: unknown;
    rule: RuleName;
}

/** Everything the mirror does differently from production, and what it leaves out. */
export interface FidelityReport {
    /** Every applied object, in input order, even with no changes. */
    objects: { object: string; changes: FieldChange[] }[];
    skipped: { object: string; reason: string }[];
    standIns: { secret: string; keys: string[]; referencedBy: string[] }[];
    imagesKept: { object: string; container: string; image: string }[];
}

/** Every problem found in production's objects, thrown before anything is returned. */
export class RewriteError extends Error {
    constructor(readonly problems: string[]) {
        super(`${problems.length} problem${problems.length === 1 ? "" : "s"} in production's objects:\n${problems.map((p) => `- ${p}`).join("\n")}`);
        this.name = "RewriteError";
    }
}

/** One rule's result: the rewritten copy and the fields it changed. */
export interface Rewritten {
    object: KubeObject;
    changes: FieldChange[];
}

// ---------------------------------------------------------------------------------------------
// Editing with a record

/** A copy of one object that records every field written into it, for one rule. */
class Editor {
    readonly object: KubeObject;
    readonly changes: FieldChange[] = [];

    constructor(
        source: KubeObject,
        private readonly rule: RuleName,
    ) {
        this.object = structuredClone(source);
    }

    get(path: FieldPath): unknown {
        return valueAt(this.object, path);
    }

    /** Writes `value` (undefined removes); a write that leaves the field as it was is no change. */
    set(path: FieldPath, value: unknown): void {
        const before = this.get(path);
        if (isDeepStrictEqual(before, value)) {
            return;
        }
        this.changes.push({ path: jsonPointer(path), production: structuredClone(before), mirror: structuredClone(value), rule: this.rule });
        writeAt(this.object, path, structuredClone(value));
    }
}

function edit(object: KubeObject, rule: RuleName, body: (e: Editor) => void): Rewritten {
    const editor = new Editor(object, rule);
    body(editor);
    return { object: editor.object, changes: editor.changes };
}

/**
 * `production` with every change's mirror value written at its pointer, in order (undefined removes).
 * Equal to what `rewrite` returns for that object exactly when its report is complete.
 */
export function applyChanges(production: KubeObject, changes: readonly FieldChange[]): KubeObject {
    const out = structuredClone(production);
    for (const change of changes) {
        writeAt(out, pointerTokens(change.path), structuredClone(change.mirror));
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Kinds, scopes, pod templates

/** API groups Kubernetes serves itself; any other group is a custom resource. */
const BUILT_IN_GROUPS: ReadonlySet<string> = new Set([
    "",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "apps",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "internal.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "resource.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
    "storagemigration.k8s.io",
]);

/** Built-in kinds that are not namespaced: a mirror must not change what every namespace shares. */
const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
    "APIService",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "ClusterTrustBundle",
    "ComponentStatus",
    "CSIDriver",
    "CSINode",
    "CustomResourceDefinition",
    "DeviceClass",
    "FlowSchema",
    "IngressClass",
    "IPAddress",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "RuntimeClass",
    "ServiceCIDR",
    "StorageClass",
    "StorageVersionMigration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
    "VolumeAttributesClass",
]);

/** `apps/v1` → `apps`; `v1` → `` (the core group). */
export function apiGroup(apiVersion: string): string {
    const slash = apiVersion.lastIndexOf("/");
    return slash < 0 ? "" : apiVersion.slice(0, slash);
}

function isBuiltIn(o: KubeObject): boolean {
    return BUILT_IN_GROUPS.has(apiGroup(o.apiVersion));
}

/** Whether `o` is a built-in object of `kind` in `group` (a custom Widget named Ingress is not an Ingress). */
function isKind(o: KubeObject, group: string, kind: string): boolean {
    return o.kind === kind && apiGroup(o.apiVersion) === group;
}

/** How an object's kind is scoped: built-in from the table, custom from knownCustomKinds, else unknown. */
export function kindScope(o: KubeObject, knownCustomKinds: RewriteTarget["knownCustomKinds"]): "namespaced" | "cluster" | "unknown" {
    if (isBuiltIn(o)) {
        return CLUSTER_SCOPED_KINDS.has(o.kind) ? "cluster" : "namespaced";
    }
    const known = knownCustomKinds.find((k) => k.apiVersion === o.apiVersion && k.kind === o.kind);
    if (known === undefined) {
        return "unknown";
    }
    return known.namespaced ? "namespaced" : "cluster";
}

// A Map, not an object literal: a kind named `constructor` must not find Object's prototype.
const POD_SPEC_PATHS: ReadonlyMap<string, FieldPath> = new Map<string, FieldPath>([
    ["Pod", ["spec"]],
    ["PodTemplate", ["template", "spec"]],
    ["Deployment", ["spec", "template", "spec"]],
    ["StatefulSet", ["spec", "template", "spec"]],
    ["DaemonSet", ["spec", "template", "spec"]],
    ["ReplicaSet", ["spec", "template", "spec"]],
    ["ReplicationController", ["spec", "template", "spec"]],
    ["Job", ["spec", "template", "spec"]],
    ["CronJob", ["spec", "jobTemplate", "spec", "template", "spec"]],
]);

/** Where a built-in workload keeps its pod spec, or undefined for objects that have none. */
export function podSpecPath(o: KubeObject): FieldPath | undefined {
    const path = isBuiltIn(o) ? POD_SPEC_PATHS.get(o.kind) : undefined;
    return path !== undefined && isRecord(valueAt(o, path)) ? path : undefined;
}

const CONTAINER_LISTS = ["containers", "initContainers", "ephemeralContainers"] as const;

/** A container and its place in the object. */
interface ContainerAt {
    path: FieldPath;
    container: Record<string, unknown>;
}

type Json = Record<string, unknown>;

/** The objects of a JSON array with their indexes; anything else has none. */
function entries(value: unknown): [number, Json][] {
    return Array.isArray(value) ? value.flatMap((item: unknown, i) => (isRecord(item) ? [[i, item] as [number, Json]] : [])) : [];
}

/** Every container of the object's pod spec, with its path. */
export function containersOf(o: KubeObject, lists: readonly string[] = CONTAINER_LISTS): ContainerAt[] {
    const pod = podSpecPath(o);
    if (pod === undefined) {
        return [];
    }
    return lists.flatMap((list) => entries(valueAt(o, [...pod, list])).map(([i, container]) => ({ path: [...pod, list, i], container })));
}

function text(value: unknown): string | undefined {
    return typeof value === "string" ? value : undefined;
}

// ---------------------------------------------------------------------------------------------
// Rules that change fields

/** `namespace`: every namespaced object moves to the branch namespace. */
export function moveToNamespace(o: KubeObject, namespace: string): Rewritten {
    return edit(o, "namespace", (e) => e.set(["metadata", "namespace"], namespace));
}

/**
 * `labels`: the mirror's labels on every object and on every pod template (a bare Pod's own metadata
 * is the object's), so a reaper or a test finds whatever a stack left, pods included. Selectors are
 * never touched: a Deployment's is immutable, and the labels only add to what a selector matches.
 */
export function addLabels(o: KubeObject, labels: Record<string, string>): Rewritten {
    return edit(o, "labels", (e) => {
        const pod = podSpecPath(e.object);
        // The pod spec's sibling `metadata` is the pod template's; a Pod's spec has none of its own.
        const template = pod !== undefined && pod.length > 1 ? [...pod.slice(0, -1), "metadata", "labels"] : undefined;
        for (const [key, value] of Object.entries(labels)) {
            e.set(["metadata", "labels", key], value);
            if (template !== undefined) {
                e.set([...template, key], value);
            }
        }
    });
}

/** A reference without its tag and digest: `reg:5000/a/b:1@sha256:..` → `reg:5000/a/b` (a port is not a tag). */
export function imageRepository(image: string): string {
    const withoutDigest = image.split("@")[0];
    const colon = withoutDigest.lastIndexOf(":");
    return colon > withoutDigest.lastIndexOf("/") ? withoutDigest.slice(0, colon) : withoutDigest;
}

/** `image`: a container whose repository has a rule runs the branch's build instead of production's. */
export function mapImages(o: KubeObject, images: RewriteTarget["images"]): Rewritten {
    return edit(o, "image", (e) => {
        for (const { path, container } of containersOf(e.object)) {
            const image = text(container.image);
            const rule = image === undefined ? undefined : images.find((i) => i.production === imageRepository(image));
            if (rule !== undefined) {
                e.set([...path, "image"], rule.mirror);
            }
        }
    });
}

/** Containers whose image no rule maps: they run production's image, which the report says. */
export function keptImages(o: KubeObject, images: RewriteTarget["images"]): FidelityReport["imagesKept"] {
    return containersOf(o).flatMap(({ container }) => {
        const image = text(container.image);
        if (image === undefined || images.some((i) => i.production === imageRepository(image))) {
            return [];
        }
        return [{ object: objectId(o), container: text(container.name) ?? "", image }];
    });
}

/** `pull-secret`: the mirror's registry credentials, and only those, on every pod spec. */
export function bindPullSecret(o: KubeObject, pullSecretName: string): Rewritten {
    return edit(o, "pull-secret", (e) => {
        const pod = podSpecPath(e.object);
        if (pod !== undefined) {
            e.set([...pod, "imagePullSecrets"], [{ name: pullSecretName }]);
        }
    });
}

/** `service-account`: pods run as the mirror's ServiceAccount; the deprecated alias would contradict it. */
export function bindServiceAccount(o: KubeObject, serviceAccountName: string): Rewritten {
    return edit(o, "service-account", (e) => {
        const pod = podSpecPath(e.object);
        if (pod !== undefined) {
            e.set([...pod, "serviceAccountName"], serviceAccountName);
            e.set([...pod, "serviceAccount"], undefined);
        }
    });
}

/** `priority-class`: a PriorityClass that is skipped does not exist in the mirror, and admission refuses pods naming it. */
export function dropSkippedPriorityClass(o: KubeObject, skippedPriorityClasses: ReadonlySet<string>): Rewritten {
    return edit(o, "priority-class", (e) => {
        const pod = podSpecPath(e.object);
        const name = pod === undefined ? undefined : text(e.get([...pod, "priorityClassName"]));
        if (pod !== undefined && name !== undefined && skippedPriorityClasses.has(name)) {
            e.set([...pod, "priorityClassName"], undefined);
        }
    });
}

/** Annotations that bind a ServiceAccount to a production cloud identity (EKS IRSA, GKE, Azure). */
export const CLOUD_IDENTITY_ANNOTATIONS = ["eks.amazonaws.com/role-arn", "iam.gke.io/gcp-service-account", "azure.workload.identity/client-id"] as const;

/** `cloud-identity`: production's ServiceAccounts must not hand the mirror production's cloud role. */
export function dropCloudIdentity(o: KubeObject): Rewritten {
    return edit(o, "cloud-identity", (e) => {
        if (isKind(e.object, "", "ServiceAccount")) {
            for (const key of CLOUD_IDENTITY_ANNOTATIONS) {
                e.set(["metadata", "annotations", key], undefined);
            }
        }
    });
}

/** ConfigMap name → keys whose value is a production cloud name, for the ConfigMaps among `objects`. */
export function cloudConfigMapKeys(objects: readonly KubeObject[], cloudNames: RewriteTarget["cloudNames"]): Map<string, Set<string>> {
    const production = new Set(cloudNames.map((c) => c.production));
    const out = new Map<string, Set<string>>();
    for (const o of objects.filter((x) => isKind(x, "", "ConfigMap"))) {
        const data = isRecord(o.data) ? o.data : {};
        const keys = Object.keys(data).filter((k) => production.has(text(data[k]) ?? ""));
        out.set(o.metadata.name, new Set(keys));
    }
    return out;
}

/** Whether a container reads a production cloud name, directly in env or through a ConfigMap. */
function usesCloudName(container: Json, productionNames: ReadonlySet<string>, configMapKeys: ReadonlyMap<string, ReadonlySet<string>>): boolean {
    const direct = entries(container.env).some(([, v]) => productionNames.has(text(v.value) ?? ""));
    const byKey = entries(container.env).some(([, v]) => {
        const ref = valueAt(v, ["valueFrom", "configMapKeyRef"]);
        return isRecord(ref) && (configMapKeys.get(text(ref.name) ?? "")?.has(text(ref.key) ?? "") ?? false);
    });
    const byEnvFrom = entries(container.envFrom).some(([, f]) => (configMapKeys.get(text(valueAt(f, ["configMapRef", "name"])) ?? "")?.size ?? 0) > 0);
    return direct || byKey || byEnvFrom;
}

/**
 * `cloud-env`: a container that talks to a mapped cloud resource also gets the mirror's endpoint,
 * region and credentials, replacing production's entry of the same name (env wins over envFrom).
 * Runs before `cloud-name`, on production's values, which is how it sees the use.
 */
export function addCloudEnv(o: KubeObject, target: Pick<RewriteTarget, "cloudEnv" | "cloudNames">, configMapKeys: ReadonlyMap<string, ReadonlySet<string>>): Rewritten {
    const productionNames = new Set(target.cloudNames.map((c) => c.production));
    return edit(o, "cloud-env", (e) => {
        for (const { path, container } of containersOf(e.object, ["containers", "initContainers"])) {
            if (target.cloudEnv.length === 0 || !usesCloudName(container, productionNames, configMapKeys)) {
                continue;
            }
            if (!Array.isArray(container.env)) {
                e.set([...path, "env"], target.cloudEnv);
                continue;
            }
            for (const variable of target.cloudEnv) {
                const env = e.get([...path, "env"]) as unknown[];
                const index = env.findIndex((v) => isRecord(v) && v.name === variable.name);
                e.set([...path, "env", index < 0 ? env.length : index], variable);
            }
        }
    });
}

/** `cloud-name`: env values and referenced ConfigMap data that equal a production name get the branch's. */
export function mapCloudNames(o: KubeObject, cloudNames: RewriteTarget["cloudNames"], referencedConfigMaps: ReadonlySet<string>): Rewritten {
    const mirrorOf = (value: unknown): string | undefined => cloudNames.find((c) => c.production === value)?.mirror;
    return edit(o, "cloud-name", (e) => {
        for (const { path, container } of containersOf(e.object, ["containers", "initContainers"])) {
            for (const [i, variable] of entries(container.env)) {
                const mirror = mirrorOf(variable.value);
                if (mirror !== undefined) {
                    e.set([...path, "env", i, "value"], mirror);
                }
            }
        }
        const data = e.object.data;
        if (isKind(e.object, "", "ConfigMap") && referencedConfigMaps.has(e.object.metadata.name) && isRecord(data)) {
            for (const [key, value] of Object.entries(data)) {
                const mirror = mirrorOf(value);
                if (mirror !== undefined) {
                    e.set(["data", key], mirror);
                }
            }
        }
    });
}

/** Names of the ConfigMaps any pod spec among `objects` reads through configMapKeyRef or envFrom. */
export function referencedConfigMaps(objects: readonly KubeObject[]): Set<string> {
    const names = new Set<string>();
    for (const { container } of objects.flatMap((o) => containersOf(o))) {
        for (const [, v] of entries(container.env)) {
            const name = text(valueAt(v, ["valueFrom", "configMapKeyRef", "name"]));
            if (name !== undefined) {
                names.add(name);
            }
        }
        for (const [, f] of entries(container.envFrom)) {
            const name = text(valueAt(f, ["configMapRef", "name"]));
            if (name !== undefined) {
                names.add(name);
            }
        }
    }
    return names;
}

/** Kinds whose spec.replicas a replicas override sets. */
const SCALABLE = new Map([
    ["Deployment", "apps"],
    ["StatefulSet", "apps"],
    ["ReplicaSet", "apps"],
    ["ReplicationController", ""],
]);

/** `replicas`: a workload named in overrides runs that many pods. */
export function overrideReplicas(o: KubeObject, overrides: RewriteTarget["overrides"]): Rewritten {
    return edit(o, "replicas", (e) => {
        const replicas = overrideFor(overrides, e.object.metadata.name)?.replicas;
        if (replicas !== undefined && SCALABLE.get(e.object.kind) === apiGroup(e.object.apiVersion)) {
            e.set(["spec", "replicas"], replicas);
        }
    });
}

/** The override for a workload; own keys only, so a workload named `constructor` has none. */
function overrideFor(overrides: RewriteTarget["overrides"], name: string): ServiceOverride | undefined {
    return Object.prototype.hasOwnProperty.call(overrides, name) ? overrides[name] : undefined;
}

/**
 * `resources`: the override replaces every container's requests and limits, init containers
 * included: the largest init container sets the pod's request, and a production-sized one would
 * keep the pod from fitting the namespace's quota just the same.
 */
export function overrideResources(o: KubeObject, overrides: RewriteTarget["overrides"]): Rewritten {
    return edit(o, "resources", (e) => {
        const resources = overrideFor(overrides, e.object.metadata.name)?.resources;
        if (resources === undefined) {
            return;
        }
        for (const { path } of containersOf(e.object, ["containers", "initContainers"])) {
            e.set([...path, "resources"], resources);
        }
    });
}

/**
 * `hpa`: an autoscaler must not scale a workload past its replicas override. Kubernetes refuses
 * maxReplicas 0 (and minReplicas 0 without a feature gate), so an override of 0 clamps to 1.
 */
export function clampAutoscaler(o: KubeObject, overrides: RewriteTarget["overrides"]): Rewritten {
    return edit(o, "hpa", (e) => {
        const workload = text(e.get(["spec", "scaleTargetRef", "name"]));
        const replicas = workload === undefined ? undefined : overrideFor(overrides, workload)?.replicas;
        if (!isKind(e.object, "autoscaling", "HorizontalPodAutoscaler") || replicas === undefined) {
            return;
        }
        const cap = Math.max(replicas, 1);
        const min = e.get(["spec", "minReplicas"]);
        if (typeof min === "number" && min > cap) {
            e.set(["spec", "minReplicas"], cap);
        }
        const max = e.get(["spec", "maxReplicas"]);
        if (typeof max === "number" && max > cap) {
            e.set(["spec", "maxReplicas"], cap);
        }
    });
}

/** `tls-secret`: production's certificate is not the preview host's; the mirror's, or no TLS. */
export function replaceTlsSecret(o: KubeObject, previewTlsSecretName: string | undefined): Rewritten {
    return edit(o, "tls-secret", (e) => {
        if (!isKind(e.object, "networking.k8s.io", "Ingress") || !Array.isArray(e.get(["spec", "tls"]))) {
            return;
        }
        if (previewTlsSecretName === undefined) {
            e.set(["spec", "tls"], undefined);
            return;
        }
        for (const [i] of entries(e.get(["spec", "tls"]))) {
            e.set(["spec", "tls", i, "secretName"], previewTlsSecretName);
        }
    });
}

/** Paths of every host an Ingress or Gateway-API HTTPRoute routes by. */
export function hostPaths(o: KubeObject): FieldPath[] {
    if (isKind(o, "networking.k8s.io", "Ingress")) {
        const rules = entries(valueAt(o, ["spec", "rules"]))
            .filter(([, r]) => typeof r.host === "string")
            .map(([i]): FieldPath => ["spec", "rules", i, "host"]);
        const tls = entries(valueAt(o, ["spec", "tls"])).flatMap(([i, t]) => stringIndexes(t.hosts).map((j): FieldPath => ["spec", "tls", i, "hosts", j]));
        return [...rules, ...tls];
    }
    if (o.kind === "HTTPRoute" && apiGroup(o.apiVersion) === "gateway.networking.k8s.io") {
        return stringIndexes(valueAt(o, ["spec", "hostnames"])).map((j): FieldPath => ["spec", "hostnames", j]);
    }
    return [];
}

function stringIndexes(value: unknown): number[] {
    return Array.isArray(value) ? value.flatMap((v: unknown, i) => (typeof v === "string" ? [i] : [])) : [];
}

/** `host`: production's hostnames route to production; every one becomes the branch's preview host. */
export function replaceHosts(o: KubeObject, previewHost: string | undefined): Rewritten {
    return edit(o, "host", (e) => {
        if (previewHost === undefined) {
            return;
        }
        for (const path of hostPaths(e.object)) {
            e.set(path, previewHost);
        }
    });
}

/** The annotation that tells the kubernetes provider not to wait for an object to become ready. */
export const SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait";

/**
 * `skip-await`: the provider waits for an Ingress to get a load-balancer address and for an HTTPRoute
 * to be accepted, which only production's ingress controller or gateway gives; a mirror's cluster may
 * run none, and `up` would then wait its whole timeout for routing no test uses.
 */
export function skipRoutingAwait(o: KubeObject): Rewritten {
    return edit(o, "skip-await", (e) => {
        if (isKind(e.object, "networking.k8s.io", "Ingress") || isKind(e.object, "gateway.networking.k8s.io", "HTTPRoute")) {
            e.set(["metadata", "annotations", SKIP_AWAIT_ANNOTATION], "true");
        }
    });
}

/** Workloads whose readiness the kubernetes provider awaits: their pods are ready when `up` says so. */
const AWAITED_WORKLOADS = new Set(["Deployment", "StatefulSet", "DaemonSet"]);

/** The pod template labels of every workload the provider awaits (one that is not told to skip it). */
export function awaitedPodLabels(objects: readonly KubeObject[]): Record<string, unknown>[] {
    return objects
        .filter((o) => isBuiltIn(o) && apiGroup(o.apiVersion) === "apps" && AWAITED_WORKLOADS.has(o.kind))
        .filter((o) => valueAt(o, ["metadata", "annotations", SKIP_AWAIT_ANNOTATION]) !== "true")
        .map((o) => valueAt(o, ["spec", "template", "metadata", "labels"]))
        .filter(isRecord);
}

/** Whether a non-empty selector picks pods with these labels. */
function selects(selector: Record<string, unknown>, labels: Record<string, unknown>): boolean {
    const pairs = Object.entries(selector);
    return pairs.length > 0 && pairs.every(([key, value]) => Object.prototype.hasOwnProperty.call(labels, key) && labels[key] === value);
}

/**
 * `skip-await`, for a Service: the provider waits 10 s after each change of a Service's endpoints for
 * them to settle, however early its pods are ready. When the Service routes to the pods of a workload
 * whose readiness the provider awaits anyway, that await already says the pods behind it are ready,
 * so the Service's own adds only time: a mirror was ready up to 10 s after its last Deployment. A
 * LoadBalancer Service keeps its await (its address comes from outside the cluster), as does one
 * that selects no awaited workload's pods.
 */
export function skipCoveredServiceAwait(o: KubeObject, podLabels: readonly Record<string, unknown>[]): Rewritten {
    return edit(o, "skip-await", (e) => {
        const selector = e.get(["spec", "selector"]);
        if (!isKind(e.object, "", "Service") || e.get(["spec", "type"]) === "LoadBalancer" || !isRecord(selector)) {
            return;
        }
        if (podLabels.some((labels) => selects(selector, labels))) {
            e.set(["metadata", "annotations", SKIP_AWAIT_ANNOTATION], "true");
        }
    });
}

/** A mirror's probe period cap when nothing says otherwise, in seconds. */
export const DEFAULT_PROBE_PERIOD_SECONDS = 1;

/** The longest cap that still means something; 0 keeps production's probes. */
export const PROBE_PERIOD_MAX_SECONDS = 60;

/** The range, as every error says it. */
export const PROBE_PERIOD_RANGE = `the probe period cap is a whole number of seconds from 1 to ${PROBE_PERIOD_MAX_SECONDS}, or 0 to keep production's probes`;

/** Why `seconds` is no probe period cap, or undefined. */
export function probePeriodProblem(seconds: number): string | undefined {
    return Number.isInteger(seconds) && seconds >= 0 && seconds <= PROBE_PERIOD_MAX_SECONDS ? undefined : PROBE_PERIOD_RANGE;
}

/** Kubernetes' defaults for a probe's periodSeconds and failureThreshold. */
const PROBE_DEFAULTS = { periodSeconds: 10, failureThreshold: 3 };

/** A probe's periodSeconds, Kubernetes' default where it sets none. */
const periodOf = (probe: Record<string, unknown>): number => (typeof probe.periodSeconds === "number" ? probe.periodSeconds : PROBE_DEFAULTS.periodSeconds);

/** What a probe checks, one of which each probe has: what an added startup probe copies from readiness. */
const PROBE_CHECK_FIELDS = ["httpGet", "tcpSocket", "exec", "grpc", "initialDelaySeconds", "timeoutSeconds"] as const;

/**
 * How long an added startup probe lets a container fail before the kubelet restarts it: a day, so
 * that it never ends a start that production's readiness probe (which restarts nothing) would have
 * waited out; a mirror's `up` gives up long before (readyTimeoutSeconds).
 */
const ADDED_STARTUP_WINDOW_SECONDS = 86_400;

/**
 * `probe-period`: a pod is ready at the first readiness probe that passes after it can serve, so a
 * production period of 5 or 10 s (right for a fleet under load) costs a mirror up to that much per
 * service, and more along a chain of services whose readiness asks the next one. Only the start is
 * sped up, and after it production's probes run as production's:
 *  - a container with a readiness probe and neither a startup nor a liveness probe gets a startup
 *    probe checking what its readiness probe checks, every `periodSeconds`: the kubelet probes
 *    readiness as soon as a startup probe passes, and a mirror left running probes no more often
 *    than production (each probe of every idle mirror costs the cluster CPU);
 *  - a startup probe of production's runs every `periodSeconds`;
 *  - with a liveness probe and no startup probe, the readiness probe itself runs every
 *    `periodSeconds`: an added startup probe would hold production's liveness probe back while the
 *    container starts.
 * A capped probe's failureThreshold grows so that failureThreshold × period, the time a pod may fail
 * before it counts as unready or failed to start, stays production's. 0 keeps production's probes.
 */
export function capProbePeriods(o: KubeObject, periodSeconds: number): Rewritten {
    return edit(o, "probe-period", (e) => {
        if (periodSeconds <= 0) {
            return;
        }
        const cap = (path: FieldPath, spec: Record<string, unknown>): void => {
            const period = periodOf(spec);
            const threshold = typeof spec.failureThreshold === "number" ? spec.failureThreshold : PROBE_DEFAULTS.failureThreshold;
            if (period > periodSeconds) {
                e.set([...path, "periodSeconds"], periodSeconds);
                e.set([...path, "failureThreshold"], Math.ceil((threshold * period) / periodSeconds));
            }
        };
        for (const { path, container } of containersOf(e.object, ["containers", "initContainers"])) {
            const { readinessProbe: readiness, startupProbe: startup, livenessProbe: liveness } = container;
            if (isRecord(startup)) {
                cap([...path, "startupProbe"], startup);
            } else if (isRecord(readiness) && isRecord(liveness)) {
                cap([...path, "readinessProbe"], readiness);
            } else if (isRecord(readiness) && periodOf(readiness) > periodSeconds) {
                const check = Object.fromEntries(PROBE_CHECK_FIELDS.filter((f) => readiness[f] !== undefined).map((f) => [f, readiness[f]]));
                e.set([...path, "startupProbe"], { ...check, periodSeconds, failureThreshold: Math.ceil(ADDED_STARTUP_WINDOW_SECONDS / periodSeconds) });
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Problems: found on production's objects, all of them before anything is returned

/** How a problem names an object that failed the input checks: by position, plus what it does say. */
function positionOf(o: unknown, index: number): string {
    const kind = isRecord(o) ? text(o.kind) : undefined;
    const name = isRecord(o) ? text(valueAt(o, ["metadata", "name"])) : undefined;
    const known = kind && name ? ` (${kind}/${name})` : kind ? ` (kind ${kind})` : name ? ` (name ${name})` : "";
    return `object #${index + 1}${known}`;
}

/** Input checks: apiVersion, kind and metadata.name are what every other rule and the apply rely on. */
export function inputProblems(o: unknown, index: number): string[] {
    if (!isRecord(o)) {
        return [`object #${index + 1} is ${o === null ? "null" : Array.isArray(o) ? "an array" : `a ${typeof o}`}, not a Kubernetes object: fix production's deployment source so that it renders objects only`];
    }
    const required: FieldPath[] = [["apiVersion"], ["kind"], ["metadata", "name"]];
    return required
        .filter((path) => !text(valueAt(o, path)))
        .map((path) => `${positionOf(o, index)}: ${jsonPointer(path)} is missing: every object needs apiVersion, kind and metadata.name; fix production's deployment source`);
}

/** `custom-kind`: a kind the mirror's cluster may not serve would fail halfway through the apply. */
export function customKindProblem(o: KubeObject, knownCustomKinds: RewriteTarget["knownCustomKinds"]): string | undefined {
    if (kindScope(o, knownCustomKinds) !== "unknown") {
        return undefined;
    }
    return (
        `${objectId(o)}: /apiVersion ${o.apiVersion} (kind ${o.kind}) is not built into Kubernetes and not listed under customResourceKinds: ` +
        `if the mirror's cluster has its CustomResourceDefinition, add { apiVersion: ${o.apiVersion}, kind: ${o.kind}, namespaced: true } ` +
        `(false if cluster-scoped) under customResourceKinds in the app description; otherwise remove the object from production's deployment`
    );
}

/** `host`: without a preview host, production's hostnames would route the mirror's traffic to production. */
export function hostProblems(o: KubeObject, previewHost: string | undefined): string[] {
    if (previewHost !== undefined) {
        return [];
    }
    return hostPaths(o).map((path) => `${objectId(o)}: ${jsonPointer(path)} is ${JSON.stringify(valueAt(o, path))} and there is no preview host to replace it with: set prod-mirror:previewDomain`);
}

/** A pod's reference to a Secret: which one, which keys it needs, and whether it may be missing. */
export interface SecretReference {
    secret: string;
    keys: string[];
    optional: boolean;
    path: FieldPath;
}

/** Every Secret the object's pod spec reads: env secretKeyRef, envFrom secretRef, secret and projected volumes. */
export function secretReferences(o: KubeObject): SecretReference[] {
    const pod = podSpecPath(o);
    if (pod === undefined) {
        return [];
    }
    const fromContainers = containersOf(o).flatMap(({ path, container }) => [
        ...entries(container.env).flatMap(([i, v]) => reference(valueAt(v, ["valueFrom", "secretKeyRef"]), "name", [...path, "env", i, "valueFrom", "secretKeyRef"])),
        ...entries(container.envFrom).flatMap(([i, f]) => reference(f.secretRef, "name", [...path, "envFrom", i, "secretRef"])),
    ]);
    const fromVolumes = entries(valueAt(o, [...pod, "volumes"])).flatMap(([i, v]) => [
        ...reference(v.secret, "secretName", [...pod, "volumes", i, "secret"]),
        ...entries(valueAt(v, ["projected", "sources"])).flatMap(([j, s]) => reference(s.secret, "name", [...pod, "volumes", i, "projected", "sources", j, "secret"])),
    ]);
    return [...fromContainers, ...fromVolumes];
}

/** One reference, if `ref` is one: the keys are secretKeyRef's `key` or a volume's items[].key. */
function reference(ref: unknown, nameField: string, path: FieldPath): SecretReference[] {
    const secret = isRecord(ref) ? text(ref[nameField]) : undefined;
    if (!isRecord(ref) || secret === undefined) {
        return [];
    }
    const keys = typeof ref.key === "string" ? [ref.key] : entries(ref.items).flatMap(([, item]) => (typeof item.key === "string" ? [item.key] : []));
    return [{ secret, keys, optional: ref.optional === true, path }];
}

/**
 * `stand-in`: a Secret production's objects do not ship is not in the mirror unless it is a stand-in
 * (with every key a pod needs); production's own values are never copied. `optional: true` references
 * may stay unresolved, as Kubernetes allows.
 */
export function standInProblems(o: KubeObject, shippedSecrets: ReadonlySet<string>, standIns: RewriteTarget["standIns"]): string[] {
    return secretReferences(o).flatMap((ref) => {
        const standIn = standIns.find((s) => s.name === ref.secret);
        if (ref.optional || (standIn === undefined && shippedSecrets.has(ref.secret))) {
            return [];
        }
        const where = `${objectId(o)}: ${jsonPointer(ref.path)}`;
        if (standIn === undefined) {
            const keys = ref.keys.length > 0 ? ref.keys.join(", ") : "<the keys it holds>";
            return [
                `${where} references Secret ${JSON.stringify(ref.secret)}, which production's objects do not ship and which is not a stand-in: ` +
                    `add it under standIns in the app description (standIns: { secrets: [{ name: ${ref.secret}, keys: [${keys}] }] }) or mark the reference optional: true`,
            ];
        }
        return ref.keys
            .filter((key) => !standIn.keys.includes(key))
            .map(
                (key) =>
                    `${where} needs key ${JSON.stringify(key)} of stand-in Secret ${JSON.stringify(ref.secret)}, whose keys are [${standIn.keys.join(", ")}]: ` +
                    `add it under standIns in the app description (keys: [${[...standIn.keys, key].join(", ")}]) or mark the reference optional: true`,
            );
    });
}

/** Volume types Pod Security `restricted` allows. */
const RESTRICTED_VOLUMES: ReadonlySet<string> = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]);
const ALLOWED_SECCOMP: ReadonlySet<unknown> = new Set(["RuntimeDefault", "Localhost"]);

/** One field Pod Security `restricted` refuses: where, what it holds, and what to write instead. */
interface Violation {
    path: FieldPath;
    fix: string;
    /** Says what is there when the value alone would not (an absent field that the pod level does not cover). */
    found?: string;
}

/**
 * `pod-security`: the mirror's namespace enforces `restricted`, so a pod template it would refuse is
 * a problem now rather than a ReplicaSet that never gets a pod. No change is made: running production's
 * workload with other privileges would not mirror it.
 */
export function podSecurityProblems(o: KubeObject): string[] {
    const pod = podSpecPath(o);
    if (pod === undefined) {
        return [];
    }
    const spec = valueAt(o, pod) as Json;
    const violations = [...podViolations(spec, pod), ...containersOf(o).flatMap((c) => containerViolations(c, spec))];
    return violations.map((v) => {
        const found = v.found ?? describeValue(valueAt(o, v.path));
        return `${objectId(o)}: ${jsonPointer(v.path)} is ${found}, which Pod Security "restricted" (enforced in the mirror's namespace) refuses: ${v.fix}`;
    });
}

function describeValue(value: unknown): string {
    return value === undefined ? "absent" : JSON.stringify(value);
}

function podViolations(spec: Json, pod: FieldPath): Violation[] {
    const out: Violation[] = [];
    for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
        if (spec[field] === true) {
            out.push({ path: [...pod, field], fix: `remove ${field}: a mirror's pod must not share the node's namespaces` });
        }
    }
    for (const [i, volume] of entries(spec.volumes)) {
        for (const type of Object.keys(volume).filter((k) => k !== "name" && !RESTRICTED_VOLUMES.has(k))) {
            out.push({ path: [...pod, "volumes", i, type], found: `a ${type} volume`, fix: `use one of ${[...RESTRICTED_VOLUMES].join(", ")} instead` });
        }
    }
    const context = isRecord(spec.securityContext) ? spec.securityContext : {};
    const at = [...pod, "securityContext"];
    if (context.runAsNonRoot === false) {
        out.push({ path: [...at, "runAsNonRoot"], fix: "set runAsNonRoot: true with a non-zero runAsUser" });
    }
    if (context.runAsUser === 0) {
        out.push({ path: [...at, "runAsUser"], fix: "run as a non-zero uid" });
    }
    const seccomp = valueAt(context, ["seccompProfile", "type"]);
    if (seccomp !== undefined && !ALLOWED_SECCOMP.has(seccomp)) {
        out.push({ path: [...at, "seccompProfile", "type"], fix: "set it to RuntimeDefault or Localhost" });
    }
    return out;
}

function containerViolations({ path, container }: ContainerAt, spec: Json): Violation[] {
    const context = isRecord(container.securityContext) ? container.securityContext : {};
    const podContext = isRecord(spec.securityContext) ? spec.securityContext : {};
    const at = [...path, "securityContext"];
    const out: Violation[] = [];
    if (context.privileged === true) {
        out.push({ path: [...at, "privileged"], fix: "remove privileged or set it to false" });
    }
    for (const [j, port] of entries(container.ports)) {
        if (port.hostPort !== undefined && port.hostPort !== 0) {
            out.push({ path: [...path, "ports", j, "hostPort"], fix: "remove hostPort: the mirror reaches pods through their Service" });
        }
    }
    if (context.allowPrivilegeEscalation !== false) {
        out.push({ path: [...at, "allowPrivilegeEscalation"], fix: "set allowPrivilegeEscalation: false in the container's securityContext" });
    }
    const drop = valueAt(context, ["capabilities", "drop"]);
    if (!Array.isArray(drop) || !drop.includes("ALL")) {
        out.push({ path: [...at, "capabilities", "drop"], fix: 'drop "ALL" capabilities in the container\'s securityContext' });
    }
    for (const j of stringIndexes(valueAt(context, ["capabilities", "add"])).filter((k) => valueAt(context, ["capabilities", "add", k]) !== "NET_BIND_SERVICE")) {
        out.push({ path: [...at, "capabilities", "add", j], fix: "add no capability but NET_BIND_SERVICE" });
    }
    out.push(...nonRootViolations(context, podContext, at));
    out.push(...seccompViolations(context, podContext, at));
    return out;
}

/** runAsNonRoot must be true in the container or, with the container silent, in the pod; uid 0 never. */
function nonRootViolations(context: Json, podContext: Json, at: FieldPath): Violation[] {
    const out: Violation[] = [];
    if (context.runAsNonRoot === false) {
        out.push({ path: [...at, "runAsNonRoot"], fix: "set runAsNonRoot: true with a non-zero runAsUser" });
    } else if (context.runAsNonRoot === undefined && podContext.runAsNonRoot !== true) {
        out.push({ path: [...at, "runAsNonRoot"], found: "absent and the pod's securityContext does not set runAsNonRoot: true", fix: "set runAsNonRoot: true in the pod's or the container's securityContext" });
    }
    if (context.runAsUser === 0) {
        out.push({ path: [...at, "runAsUser"], fix: "run as a non-zero uid" });
    }
    return out;
}

/** seccompProfile must be RuntimeDefault or Localhost in the container or, with the container silent, in the pod. */
function seccompViolations(context: Json, podContext: Json, at: FieldPath): Violation[] {
    const type = valueAt(context, ["seccompProfile", "type"]);
    const path = [...at, "seccompProfile", "type"];
    if (type !== undefined && !ALLOWED_SECCOMP.has(type)) {
        return [{ path, fix: "set it to RuntimeDefault or Localhost" }];
    }
    if (type === undefined && !ALLOWED_SECCOMP.has(valueAt(podContext, ["seccompProfile", "type"]))) {
        return [{ path, found: "absent and the pod's securityContext sets no RuntimeDefault or Localhost profile", fix: "set seccompProfile: { type: RuntimeDefault } in the pod's or the container's securityContext" }];
    }
    return [];
}

// ---------------------------------------------------------------------------------------------
// The whole rewrite

/** Why an object is not applied at all, or undefined when it is. */
export function skipReason(o: KubeObject, target: Pick<RewriteTarget, "knownCustomKinds" | "standIns">): string | undefined {
    if (kindScope(o, target.knownCustomKinds) === "cluster") {
        return "cluster-scoped: a mirror changes only its own namespace, never what every namespace shares";
    }
    if (isKind(o, "", "Secret") && target.standIns.some((s) => s.name === o.metadata.name)) {
        return "stand-in: the mirror creates this Secret with generated values; production's is never copied";
    }
    return undefined;
}

/** What the rules need to know about the whole set of production's objects. */
interface ProductionFacts {
    configMapKeys: Map<string, Set<string>>;
    referencedConfigMaps: Set<string>;
    shippedSecrets: Set<string>;
    skippedPriorityClasses: Set<string>;
    awaitedPodLabels: Record<string, unknown>[];
}

function productionFacts(objects: readonly KubeObject[], target: RewriteTarget): ProductionFacts {
    const names = (group: string, kind: string): Set<string> => new Set(objects.filter((o) => isKind(o, group, kind)).map((o) => o.metadata.name));
    return {
        configMapKeys: cloudConfigMapKeys(objects, target.cloudNames),
        referencedConfigMaps: referencedConfigMaps(objects),
        // A stand-in Secret production ships is skipped, so it does not count as shipped.
        shippedSecrets: new Set([...names("", "Secret")].filter((n) => !target.standIns.some((s) => s.name === n))),
        // Every PriorityClass is cluster-scoped, hence skipped.
        skippedPriorityClasses: names("scheduling.k8s.io", "PriorityClass"),
        awaitedPodLabels: awaitedPodLabels(objects),
    };
}

/** Every rule that changes fields, in the order they run; each sees the previous one's result. */
function rules(target: RewriteTarget, facts: ProductionFacts): ((o: KubeObject) => Rewritten)[] {
    return [
        (o) => moveToNamespace(o, target.namespace),
        (o) => addLabels(o, target.labels),
        (o) => mapImages(o, target.images),
        (o) => bindPullSecret(o, target.pullSecretName),
        (o) => bindServiceAccount(o, target.serviceAccountName),
        (o) => dropSkippedPriorityClass(o, facts.skippedPriorityClasses),
        (o) => dropCloudIdentity(o),
        (o) => addCloudEnv(o, target, facts.configMapKeys),
        (o) => mapCloudNames(o, target.cloudNames, facts.referencedConfigMaps),
        (o) => overrideReplicas(o, target.overrides),
        (o) => overrideResources(o, target.overrides),
        (o) => clampAutoscaler(o, target.overrides),
        (o) => replaceTlsSecret(o, target.previewTlsSecretName),
        (o) => replaceHosts(o, target.previewHost),
        (o) => skipRoutingAwait(o),
        (o) => skipCoveredServiceAwait(o, facts.awaitedPodLabels),
        (o) => capProbePeriods(o, target.probePeriodSeconds),
    ];
}

function objectProblems(o: KubeObject, target: RewriteTarget, facts: ProductionFacts): string[] {
    const kind = customKindProblem(o, target.knownCustomKinds);
    return [...(kind === undefined ? [] : [kind]), ...hostProblems(o, target.previewHost), ...standInProblems(o, facts.shippedSecrets, target.standIns), ...podSecurityProblems(o)];
}

/**
 * Two objects of one kind and name would be one object in the mirror's single namespace (production
 * may spread them over several): the apply would fail on the second, so it is a problem now.
 * `seen` maps group/kind/name to the position of the first.
 */
function duplicateProblem(o: KubeObject, index: number, seen: Map<string, number>): string[] {
    const key = `${apiGroup(o.apiVersion)}/${o.kind}/${o.metadata.name}`;
    const first = seen.get(key);
    if (first === undefined) {
        seen.set(key, index);
        return [];
    }
    return [
        `${objectId(o)}: object #${index + 1} has the kind and /metadata/name of object #${first + 1}, and the mirror puts both into one namespace: ` +
            `rename one or remove it from production's deployment`,
    ];
}

/** One applied object through every rule, each seeing the previous one's result. */
function applyRules(production: KubeObject, target: RewriteTarget, facts: ProductionFacts): Rewritten {
    let object = structuredClone(production);
    const changes: FieldChange[] = [];
    for (const rule of rules(target, facts)) {
        const step = rule(object);
        object = step.object;
        changes.push(...step.changes);
    }
    return { object, changes };
}

/**
 * The mirror's objects for one branch and the report of every difference from production's.
 * Throws a RewriteError listing every problem in `objects`, in input order, before returning anything.
 */
export function rewrite(objects: readonly KubeObject[], target: RewriteTarget): { objects: KubeObject[]; report: FidelityReport } {
    const checked = objects.map((o, index) => ({ o, index, problems: inputProblems(o, index) }));
    // Objects that fail the input checks cannot be named or scoped: their input problems are all they get.
    const facts = productionFacts(
        checked.filter((c) => c.problems.length === 0).map((c) => c.o),
        target,
    );
    const problems: string[] = [];
    const seen = new Map<string, number>();
    const out: KubeObject[] = [];
    const report: FidelityReport = { objects: [], skipped: [], standIns: [], imagesKept: [] };
    for (const { o: production, index, problems: inputs } of checked) {
        if (inputs.length > 0) {
            problems.push(...inputs);
            continue;
        }
        const reason = skipReason(production, target);
        if (reason !== undefined) {
            report.skipped.push({ object: objectId(production), reason });
            continue;
        }
        problems.push(...duplicateProblem(production, index, seen), ...objectProblems(production, target, facts));
        const { object, changes } = applyRules(production, target, facts);
        out.push(object);
        report.objects.push({ object: objectId(production), changes });
        report.imagesKept.push(...keptImages(production, target.images));
    }
    if (problems.length > 0) {
        throw new RewriteError(problems);
    }
    report.standIns = target.standIns.map((s) => ({
        secret: s.name,
        keys: [...s.keys],
        referencedBy: [...new Set(out.filter((o) => secretReferences(o).some((r) => r.secret === s.name)).map(objectId))],
    }));
    return { objects: out, report };
}

// ---------------------------------------------------------------------------------------------
// The report for people (`prod-mirror diff`)

/** Longest value shown in a report cell; the report is a summary, the objects hold the rest. */
const CELL_WIDTH = 60;

function cell(value: unknown, missing: string): string {
    if (value === undefined) {
        return missing;
    }
    const json = JSON.stringify(value);
    return json.length > CELL_WIDTH ? `${json.slice(0, CELL_WIDTH - 1)}…` : json;
}

/** Rows padded into columns two spaces apart, trailing blanks trimmed. */
function table(rows: string[][]): string[] {
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => [...r[c]].length)));
    return rows.map((r) => r.map((v, c) => v + " ".repeat(widths[c] - [...v].length)).join("  ").trimEnd());
}

/** A titled section: its rows as a table, or "none". */
function section(title: string, rows: string[][]): string[] {
    return rows.length === 0 ? [`${title}: none`] : [`${title}:`, ...table(rows).map((line) => `  ${line}`)];
}

/** The plain-text report: one row per changed field, then what was skipped, stood in for, and kept. */
export function describeReport(report: FidelityReport): string {
    const rows = [["object", "field", "production → mirror", "rule"]];
    for (const { object, changes } of report.objects) {
        if (changes.length === 0) {
            rows.push([object, "(no changes)", "", ""]);
        }
        for (const c of changes) {
            rows.push([object, c.path, `${cell(c.production, "(absent)")} → ${cell(c.mirror, "(removed)")}`, c.rule]);
        }
    }
    return [
        ...table(rows),
        "",
        ...section(
            "Skipped (not applied)",
            report.skipped.map((s) => [s.object, s.reason]),
        ),
        ...section(
            "Stand-in secrets (created by the mirror, never copied)",
            report.standIns.map((s) => [s.secret, `keys: ${s.keys.join(", ")}`, `referenced by: ${s.referencedBy.join(", ") || "nothing"}`]),
        ),
        ...section(
            "Images kept (no rule under images: production's image runs)",
            report.imagesKept.map((i) => [i.object, `container ${i.container}`, i.image]),
        ),
    ].join("\n");
}
