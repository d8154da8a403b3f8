// The per-branch rewrite of production's objects (the README's "The production description"): one describe per rule with the exact
// FieldChange list it must record, every kind of problem with its exact text, and a whole small
// production set rewritten with its full report. Every rule result also passes `complete`: writing
// each change's mirror value at its pointer onto production gives exactly the rewritten object, so a
// field changed without a report entry (or reported without being changed) fails here.
import * as assert from "assert";
import {
    addCloudEnv,
    addLabels,
    applyChanges,
    bindPullSecret,
    bindServiceAccount,
    clampAutoscaler,
    describeReport,
    dropCloudIdentity,
    dropSkippedPriorityClass,
    type FidelityReport,
    type FieldChange,
    imageRepository,
    inputProblems,
    keptImages,
    kindScope,
    mapCloudNames,
    mapImages,
    moveToNamespace,
    overrideReplicas,
    overrideResources,
    podSecurityProblems,
    replaceHosts,
    replaceTlsSecret,
    rewrite,
    skipRoutingAwait,
    skipCoveredServiceAwait,
    awaitedPodLabels,
    capProbePeriods,
    probePeriodProblem,
    RewriteError,
    type Rewritten,
    type RewriteTarget,
    standInProblems,
} from "../../components/rewrite";
import { jsonPointer, type KubeObject, objectId, pointerTokens, valueAt, writeAt } from "../../components/kube-object";
import { prng } from "./fixtures";

const QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/210987654321/deal-events";
const MIRROR_QUEUE_URL = "http://emulator.pm-feature-x:5000/000000000000/pm-feature-x-1a2b3c4d-deal-events";
const API_IMAGE = "127.0.0.1:5000/prod-mirror/api:feature-x-abc1234";
const CLUSTER_REASON = "cluster-scoped: a mirror changes only its own namespace, never what every namespace shares";

const TARGET: RewriteTarget = {
    namespace: "pm-feature-x",
    labels: { "prod-mirror.dev/stack": "feature-x", "app.kubernetes.io/managed-by": "prod-mirror" },
    pullSecretName: "pm-pull",
    serviceAccountName: "pm-workload",
    cloudMode: "emulated",
    cloudEnv: [
        { name: "AWS_ENDPOINT_URL", value: "http://emulator.pm-feature-x:5000" },
        { name: "AWS_REGION", value: "us-east-1" },
    ],
    images: [{ production: "registry.example.com/deals/api", mirror: API_IMAGE }],
    cloudNames: [
        { production: QUEUE_URL, mirror: MIRROR_QUEUE_URL, what: "queue deal-events URL" },
        { production: "acme-deal-receipts", mirror: "pm-feature-x-1a2b3c4d-receipts", what: "bucket receipts" },
    ],
    standIns: [{ name: "deal-signing", keys: ["key"] }],
    overrides: { api: { replicas: 1, resources: { requests: { cpu: "50m", memory: "64Mi" } } } },
    previewHost: "feature-x.localhost",
    knownCustomKinds: [
        { apiVersion: "example.com/v1", kind: "Widget", namespaced: true },
        { apiVersion: "example.com/v1", kind: "GlobalWidget", namespaced: false },
    ],
    probePeriodSeconds: 1,
};

/** Container settings `restricted` accepts when the pod sets runAsNonRoot and seccomp. */
const SAFE = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };

/** A pod spec `restricted` accepts, with one container running production's api image. */
function podSpec(): Record<string, any> {
    return {
        securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
        containers: [{ name: "api", image: "registry.example.com/deals/api:1.4.2", securityContext: structuredClone(SAFE) }],
    };
}

function deployment(name: string, spec: Record<string, any> = podSpec()): KubeObject {
    return { apiVersion: "apps/v1", kind: "Deployment", metadata: { name, namespace: "deals" }, spec: { replicas: 3, template: { spec } } };
}

function configMap(name: string, data: Record<string, string>): KubeObject {
    return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "deals" }, data };
}

/** The rule recorded exactly `expected`, and those changes are the whole difference (see the header). */
function complete(production: KubeObject, result: Rewritten, expected: FieldChange[]): void {
    assert.deepStrictEqual(result.changes, expected);
    assert.deepStrictEqual(applyChanges(production, result.changes), result.object);
}

/** Freezes every nested object, so a rule that writes into its input throws instead of passing. */
function frozen<T>(value: T): T {
    if (typeof value === "object" && value !== null) {
        Object.values(value).forEach(frozen);
        Object.freeze(value);
    }
    return value;
}

function problemsOf(run: () => unknown): string[] {
    try {
        run();
    } catch (e) {
        assert.ok(e instanceof RewriteError, String(e));
        return e.problems;
    }
    assert.fail("expected a RewriteError");
}

describe("kube-object", () => {
    it("jsonPointer escapes ~ as ~0 and / as ~1; pointerTokens decodes ~1 before ~0", () => {
        assert.strictEqual(jsonPointer(["metadata", "labels", "prod-mirror.dev/stack"]), "/metadata/labels/prod-mirror.dev~1stack");
        assert.strictEqual(jsonPointer(["data", "a~b/c", 0]), "/data/a~0b~1c/0");
        assert.deepStrictEqual(pointerTokens("/data/a~0b~1c/0"), ["data", "a~b/c", "0"]);
        assert.deepStrictEqual(pointerTokens("/x/~01"), ["x", "~1"]);
        assert.deepStrictEqual(pointerTokens(""), []);
        assert.throws(() => pointerTokens("data"), { message: '"data" is not a JSON pointer: it must be empty or start with "/"' });
    });

    it("writeAt creates missing parents, removes keys and splices array elements", () => {
        const o: Record<string, any> = { a: [1, 2, 3] };
        writeAt(o, ["b", "c"], "x");
        writeAt(o, ["a", 1], undefined);
        assert.deepStrictEqual(o, { a: [1, 3], b: { c: "x" } });
        writeAt(o, ["b", "c"], undefined);
        assert.deepStrictEqual(o, { a: [1, 3], b: {} });
        assert.throws(() => writeAt(o, [], 1), { message: "cannot write at the empty path: that would replace the whole object" });
    });

    it("objectId is Kind/name", () => {
        assert.strictEqual(objectId(deployment("api")), "Deployment/api");
    });
});

describe("rewrite rules", () => {
    describe("namespace", () => {
        it("sets metadata.namespace to the branch namespace, recording production's", () => {
            const d = frozen(deployment("api"));
            complete(d, moveToNamespace(d, "pm-feature-x"), [{ path: "/metadata/namespace", production: "deals", mirror: "pm-feature-x", rule: "namespace" }]);
        });

        it("records an absent namespace as undefined, and no change when it is already the branch's", () => {
            const s: KubeObject = { apiVersion: "v1", kind: "Service", metadata: { name: "api" } };
            complete(s, moveToNamespace(s, "pm-x"), [{ path: "/metadata/namespace", production: undefined, mirror: "pm-x", rule: "namespace" }]);
            const already = { ...s, metadata: { name: "api", namespace: "pm-x" } };
            complete(already, moveToNamespace(already, "pm-x"), []);
        });
    });

    describe("cluster-scoped and custom-kind", () => {
        it("scopes built-in kinds from the table and custom ones from knownCustomKinds", () => {
            const scope = (apiVersion: string, kind: string) => kindScope({ apiVersion, kind, metadata: { name: "x" } }, TARGET.knownCustomKinds);
            assert.strictEqual(scope("rbac.authorization.k8s.io/v1", "ClusterRole"), "cluster");
            assert.strictEqual(scope("scheduling.k8s.io/v1", "PriorityClass"), "cluster");
            assert.strictEqual(scope("v1", "Namespace"), "cluster");
            assert.strictEqual(scope("rbac.authorization.k8s.io/v1", "RoleBinding"), "namespaced");
            assert.strictEqual(scope("v1", "ConfigMap"), "namespaced");
            assert.strictEqual(scope("example.com/v1", "Widget"), "namespaced");
            assert.strictEqual(scope("example.com/v1", "GlobalWidget"), "cluster");
            // The version is part of what the cluster serves: v2 of a known v1 kind is unknown.
            assert.strictEqual(scope("example.com/v2", "Widget"), "unknown");
            // Gateway API is a set of CRDs, not built in, even under a k8s.io group.
            assert.strictEqual(scope("gateway.networking.k8s.io/v1", "HTTPRoute"), "unknown");
        });

        it("skips cluster-scoped objects (built-in and known custom) with the reason, and applies the rest", () => {
            const objects: KubeObject[] = [
                { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "reader" } },
                { apiVersion: "example.com/v1", kind: "GlobalWidget", metadata: { name: "g" } },
                { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w", namespace: "deals" }, spec: { size: 1 } },
            ];
            const { objects: out, report } = rewrite(objects, { ...TARGET, labels: {} });
            assert.deepStrictEqual(report.skipped, [
                { object: "ClusterRole/reader", reason: CLUSTER_REASON },
                { object: "GlobalWidget/g", reason: CLUSTER_REASON },
            ]);
            assert.deepStrictEqual(out, [{ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w", namespace: "pm-feature-x" }, spec: { size: 1 } }]);
            assert.deepStrictEqual(report.objects, [{ object: "Widget/w", changes: [{ path: "/metadata/namespace", production: "deals", mirror: "pm-feature-x", rule: "namespace" }] }]);
        });

        it("an unknown custom kind is a problem naming the object, /apiVersion and the fix", () => {
            const route: KubeObject = { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", metadata: { name: "web" }, spec: {} };
            assert.deepStrictEqual(problemsOf(() => rewrite([route], TARGET)), [
                "HTTPRoute/web: /apiVersion gateway.networking.k8s.io/v1 (kind HTTPRoute) is not built into Kubernetes and not listed under customResourceKinds: " +
                    "if the mirror's cluster has its CustomResourceDefinition, add { apiVersion: gateway.networking.k8s.io/v1, kind: HTTPRoute, namespaced: true } " +
                    "(false if cluster-scoped) under customResourceKinds in the app description; otherwise remove the object from production's deployment",
            ]);
        });
    });

    describe("labels", () => {
        it("adds every target label, keys escaped in the pointer, keeping production's own", () => {
            const s: KubeObject = { apiVersion: "v1", kind: "Service", metadata: { name: "api", labels: { app: "api", "prod-mirror.dev/stack": "old" } } };
            const result = addLabels(s, TARGET.labels);
            complete(s, result, [
                { path: "/metadata/labels/prod-mirror.dev~1stack", production: "old", mirror: "feature-x", rule: "labels" },
                { path: "/metadata/labels/app.kubernetes.io~1managed-by", production: undefined, mirror: "prod-mirror", rule: "labels" },
            ]);
            assert.deepStrictEqual(result.object.metadata.labels, { app: "api", "prod-mirror.dev/stack": "feature-x", "app.kubernetes.io/managed-by": "prod-mirror" });
        });

        it("creates metadata.labels when production has none", () => {
            const s: KubeObject = { apiVersion: "v1", kind: "Service", metadata: { name: "api" } };
            const result = addLabels(s, { a: "b" });
            complete(s, result, [{ path: "/metadata/labels/a", production: undefined, mirror: "b", rule: "labels" }]);
            assert.deepStrictEqual(result.object.metadata, { name: "api", labels: { a: "b" } });
        });

        it("labels every pod template too (a CronJob's inside its jobTemplate), never a selector; a Pod only once", () => {
            const deployment: KubeObject = {
                apiVersion: "apps/v1",
                kind: "Deployment",
                metadata: { name: "api" },
                spec: { selector: { matchLabels: { app: "api" } }, template: { metadata: { labels: { app: "api" } }, spec: { containers: [] } } },
            };
            const result = addLabels(deployment, { a: "b" });
            complete(deployment, result, [
                { path: "/metadata/labels/a", production: undefined, mirror: "b", rule: "labels" },
                { path: "/spec/template/metadata/labels/a", production: undefined, mirror: "b", rule: "labels" },
            ]);
            assert.deepStrictEqual((result.object.spec as any).selector, { matchLabels: { app: "api" } });
            const cron: KubeObject = { apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "nightly" }, spec: { jobTemplate: { spec: { template: { spec: { containers: [] } } } } } };
            complete(cron, addLabels(cron, { a: "b" }), [
                { path: "/metadata/labels/a", production: undefined, mirror: "b", rule: "labels" },
                { path: "/spec/jobTemplate/spec/template/metadata/labels/a", production: undefined, mirror: "b", rule: "labels" },
            ]);
            const pod: KubeObject = { apiVersion: "v1", kind: "Pod", metadata: { name: "debug" }, spec: { containers: [] } };
            complete(pod, addLabels(pod, { a: "b" }), [{ path: "/metadata/labels/a", production: undefined, mirror: "b", rule: "labels" }]);
        });
    });

    describe("image", () => {
        it("reads the repository without tag or digest, and a registry port is not a tag", () => {
            assert.strictEqual(imageRepository("registry.example.com/deals/api:1.4.2"), "registry.example.com/deals/api");
            assert.strictEqual(imageRepository(`registry.example.com/deals/api:1.4.2@sha256:${"a".repeat(64)}`), "registry.example.com/deals/api");
            assert.strictEqual(imageRepository(`registry.example.com/deals/api@sha256:${"a".repeat(64)}`), "registry.example.com/deals/api");
            assert.strictEqual(imageRepository("localhost:5000/deals/api"), "localhost:5000/deals/api");
            assert.strictEqual(imageRepository("localhost:5000/deals/api:2"), "localhost:5000/deals/api");
        });

        it("maps containers and init containers by repository; a longer repository does not match", () => {
            const spec = podSpec();
            spec.initContainers = [{ name: "migrate", image: `registry.example.com/deals/api@sha256:${"b".repeat(64)}` }];
            spec.containers.push({ name: "other", image: "registry.example.com/deals/api-worker:1" });
            const d = frozen(deployment("api", spec));
            complete(d, mapImages(d, TARGET.images), [
                { path: "/spec/template/spec/containers/0/image", production: "registry.example.com/deals/api:1.4.2", mirror: API_IMAGE, rule: "image" },
                { path: "/spec/template/spec/initContainers/0/image", production: `registry.example.com/deals/api@sha256:${"b".repeat(64)}`, mirror: API_IMAGE, rule: "image" },
            ]);
            assert.deepStrictEqual(keptImages(d, TARGET.images), [{ object: "Deployment/api", container: "other", image: "registry.example.com/deals/api-worker:1" }]);
        });

        it("an image without a rule is kept and reported, not a problem", () => {
            const spec = podSpec();
            spec.containers[0].image = "busybox:1.36";
            const { objects, report } = rewrite([deployment("tool", spec)], TARGET);
            assert.strictEqual((objects[0] as any).spec.template.spec.containers[0].image, "busybox:1.36");
            assert.deepStrictEqual(report.imagesKept, [{ object: "Deployment/tool", container: "api", image: "busybox:1.36" }]);
        });
    });

    describe("pull-secret", () => {
        it("replaces production's pull secrets with the mirror's on every pod spec kind", () => {
            const d = deployment("api");
            (d as any).spec.template.spec.imagePullSecrets = [{ name: "prod-registry" }, { name: "other" }];
            complete(d, bindPullSecret(d, "pm-pull"), [
                { path: "/spec/template/spec/imagePullSecrets", production: [{ name: "prod-registry" }, { name: "other" }], mirror: [{ name: "pm-pull" }], rule: "pull-secret" },
            ]);
            const cron: KubeObject = { apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "nightly" }, spec: { jobTemplate: { spec: { template: { spec: podSpec() } } } } };
            complete(cron, bindPullSecret(cron, "pm-pull"), [{ path: "/spec/jobTemplate/spec/template/spec/imagePullSecrets", production: undefined, mirror: [{ name: "pm-pull" }], rule: "pull-secret" }]);
            const pod: KubeObject = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: podSpec() };
            complete(pod, bindPullSecret(pod, "pm-pull"), [{ path: "/spec/imagePullSecrets", production: undefined, mirror: [{ name: "pm-pull" }], rule: "pull-secret" }]);
        });

        it("leaves objects without a pod spec, and a custom kind named like a workload, alone", () => {
            const s: KubeObject = { apiVersion: "v1", kind: "Service", metadata: { name: "api" }, spec: {} };
            complete(s, bindPullSecret(s, "pm-pull"), []);
            const custom: KubeObject = { apiVersion: "example.com/v1", kind: "Deployment", metadata: { name: "x" }, spec: { template: { spec: podSpec() } } };
            complete(custom, bindPullSecret(custom, "pm-pull"), []);
        });
    });

    describe("service-account", () => {
        it("binds the mirror's ServiceAccount and drops the deprecated serviceAccount alias", () => {
            const d = deployment("api");
            Object.assign((d as any).spec.template.spec, { serviceAccountName: "deals-api", serviceAccount: "deals-api" });
            complete(d, bindServiceAccount(d, "pm-workload"), [
                { path: "/spec/template/spec/serviceAccountName", production: "deals-api", mirror: "pm-workload", rule: "service-account" },
                { path: "/spec/template/spec/serviceAccount", production: "deals-api", mirror: undefined, rule: "service-account" },
            ]);
        });
    });

    describe("priority-class", () => {
        it("removes a priorityClassName naming a skipped PriorityClass, keeps any other", () => {
            const d = deployment("api");
            (d as any).spec.template.spec.priorityClassName = "deals-high";
            complete(d, dropSkippedPriorityClass(d, new Set(["deals-high"])), [{ path: "/spec/template/spec/priorityClassName", production: "deals-high", mirror: undefined, rule: "priority-class" }]);
            complete(d, dropSkippedPriorityClass(d, new Set(["other"])), []);
        });
    });

    describe("cloud-identity", () => {
        it("drops the EKS, GKE and Azure identity annotations from ServiceAccounts and keeps the rest", () => {
            const annotations = {
                "eks.amazonaws.com/role-arn": "arn:aws:iam::210987654321:role/deals",
                "iam.gke.io/gcp-service-account": "deals@acme.iam.gserviceaccount.com",
                "azure.workload.identity/client-id": "00000000-0000-0000-0000-000000000000",
                note: "kept",
            };
            const sa: KubeObject = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "deals", annotations } };
            const result = dropCloudIdentity(sa);
            complete(sa, result, [
                { path: "/metadata/annotations/eks.amazonaws.com~1role-arn", production: "arn:aws:iam::210987654321:role/deals", mirror: undefined, rule: "cloud-identity" },
                { path: "/metadata/annotations/iam.gke.io~1gcp-service-account", production: "deals@acme.iam.gserviceaccount.com", mirror: undefined, rule: "cloud-identity" },
                { path: "/metadata/annotations/azure.workload.identity~1client-id", production: "00000000-0000-0000-0000-000000000000", mirror: undefined, rule: "cloud-identity" },
            ]);
            assert.deepStrictEqual(result.object.metadata.annotations, { note: "kept" });
            const cm: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", annotations: { "eks.amazonaws.com/role-arn": "a" } } };
            complete(cm, dropCloudIdentity(cm), []);
        });
    });

    describe("cloud-name", () => {
        it("maps env values and referenced ConfigMap data that EQUAL a production name, nothing else", () => {
            const spec = podSpec();
            spec.containers[0].env = [
                { name: "QUEUE_URL", value: QUEUE_URL },
                { name: "NOTE", value: `see ${QUEUE_URL}` },
                { name: "BUCKET", value: "acme-deal-receipts" },
            ];
            const d = deployment("api", spec);
            complete(d, mapCloudNames(d, TARGET.cloudNames, new Set()), [
                { path: "/spec/template/spec/containers/0/env/0/value", production: QUEUE_URL, mirror: MIRROR_QUEUE_URL, rule: "cloud-name" },
                { path: "/spec/template/spec/containers/0/env/2/value", production: "acme-deal-receipts", mirror: "pm-feature-x-1a2b3c4d-receipts", rule: "cloud-name" },
            ]);
            const cm = configMap("deals-config", { "queue/url": QUEUE_URL, level: "info" });
            complete(cm, mapCloudNames(cm, TARGET.cloudNames, new Set(["deals-config"])), [{ path: "/data/queue~1url", production: QUEUE_URL, mirror: MIRROR_QUEUE_URL, rule: "cloud-name" }]);
            // A ConfigMap no pod reads through env is left as production wrote it.
            complete(cm, mapCloudNames(cm, TARGET.cloudNames, new Set(["other"])), []);
        });
    });

    describe("cloud-env", () => {
        const keys = new Map([["deals-config", new Set(["QUEUE"])], ["plain", new Set<string>()]]);

        it("replaces by name, else appends, in a container that uses a production name directly", () => {
            const spec = podSpec();
            spec.containers[0].env = [{ name: "AWS_REGION", value: "eu-west-1" }, { name: "BUCKET", value: "acme-deal-receipts" }];
            spec.containers.push({ name: "sidecar", image: "envoy:1", env: [{ name: "AWS_REGION", value: "eu-west-1" }], securityContext: structuredClone(SAFE) });
            const d = deployment("api", spec);
            complete(d, addCloudEnv(d, TARGET, keys), [
                { path: "/spec/template/spec/containers/0/env/2", production: undefined, mirror: { name: "AWS_ENDPOINT_URL", value: "http://emulator.pm-feature-x:5000" }, rule: "cloud-env" },
                { path: "/spec/template/spec/containers/0/env/0", production: { name: "AWS_REGION", value: "eu-west-1" }, mirror: { name: "AWS_REGION", value: "us-east-1" }, rule: "cloud-env" },
            ]);
        });

        it("sets the whole env of a container that uses a mapped name only through envFrom or configMapKeyRef", () => {
            const spec = podSpec();
            spec.containers[0].envFrom = [{ configMapRef: { name: "deals-config" } }];
            spec.initContainers = [{ name: "wait", image: "x:1", env: [{ name: "Q", valueFrom: { configMapKeyRef: { name: "deals-config", key: "QUEUE" } } }] }];
            const d = deployment("api", spec);
            complete(d, addCloudEnv(d, TARGET, keys), [
                { path: "/spec/template/spec/containers/0/env", production: undefined, mirror: TARGET.cloudEnv, rule: "cloud-env" },
                { path: "/spec/template/spec/initContainers/0/env/1", production: undefined, mirror: TARGET.cloudEnv[0], rule: "cloud-env" },
                { path: "/spec/template/spec/initContainers/0/env/2", production: undefined, mirror: TARGET.cloudEnv[1], rule: "cloud-env" },
            ]);
        });

        it("leaves containers that use no mapped name, or read an unmapped key or ConfigMap", () => {
            const spec = podSpec();
            spec.containers[0].env = [{ name: "Q", valueFrom: { configMapKeyRef: { name: "deals-config", key: "LEVEL" } } }];
            spec.containers[0].envFrom = [{ configMapRef: { name: "plain" } }, { configMapRef: { name: "absent" } }];
            const d = deployment("api", spec);
            complete(d, addCloudEnv(d, TARGET, keys), []);
        });
    });

    describe("replicas and resources", () => {
        it("sets replicas of the workload named in overrides, and only on scalable kinds", () => {
            const d = deployment("api");
            complete(d, overrideReplicas(d, TARGET.overrides), [{ path: "/spec/replicas", production: 3, mirror: 1, rule: "replicas" }]);
            complete(deployment("worker"), overrideReplicas(deployment("worker"), TARGET.overrides), []);
            const job: KubeObject = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "api" }, spec: { template: { spec: podSpec() } } };
            complete(job, overrideReplicas(job, TARGET.overrides), []);
            // Own keys only: a workload named like an Object.prototype member has no override.
            complete(deployment("constructor"), overrideReplicas(deployment("constructor"), {}), []);
        });

        it("replaces every container's and init container's resources", () => {
            const spec = podSpec();
            spec.containers[0].resources = { requests: { cpu: "2" }, limits: { cpu: "4" } };
            spec.initContainers = [{ name: "migrate", image: "x:1" }];
            const d = deployment("api", spec);
            const wanted = { requests: { cpu: "50m", memory: "64Mi" } };
            complete(d, overrideResources(d, TARGET.overrides), [
                { path: "/spec/template/spec/containers/0/resources", production: { requests: { cpu: "2" }, limits: { cpu: "4" } }, mirror: wanted, rule: "resources" },
                { path: "/spec/template/spec/initContainers/0/resources", production: undefined, mirror: wanted, rule: "resources" },
            ]);
        });
    });

    describe("hpa", () => {
        const hpa = (min: number | undefined, max: number): KubeObject => ({
            apiVersion: "autoscaling/v2",
            kind: "HorizontalPodAutoscaler",
            metadata: { name: "api" },
            spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "api" }, ...(min === undefined ? {} : { minReplicas: min }), maxReplicas: max },
        });

        it("clamps minReplicas and maxReplicas to the target workload's replicas override", () => {
            complete(hpa(3, 10), clampAutoscaler(hpa(3, 10), { api: { replicas: 2 } }), [
                { path: "/spec/minReplicas", production: 3, mirror: 2, rule: "hpa" },
                { path: "/spec/maxReplicas", production: 10, mirror: 2, rule: "hpa" },
            ]);
            complete(hpa(undefined, 10), clampAutoscaler(hpa(undefined, 10), { api: { replicas: 2 } }), [{ path: "/spec/maxReplicas", production: 10, mirror: 2, rule: "hpa" }]);
        });

        it("clamps to 1 for an override of 0 (Kubernetes refuses maxReplicas 0); leaves others alone", () => {
            complete(hpa(2, 5), clampAutoscaler(hpa(2, 5), { api: { replicas: 0 } }), [
                { path: "/spec/minReplicas", production: 2, mirror: 1, rule: "hpa" },
                { path: "/spec/maxReplicas", production: 5, mirror: 1, rule: "hpa" },
            ]);
            complete(hpa(1, 2), clampAutoscaler(hpa(1, 2), { api: { replicas: 5 } }), []);
            complete(hpa(3, 10), clampAutoscaler(hpa(3, 10), { api: { resources: {} } }), []);
        });
    });

    describe("host and tls-secret", () => {
        const ingress = (): KubeObject => ({
            apiVersion: "networking.k8s.io/v1",
            kind: "Ingress",
            metadata: { name: "web" },
            spec: {
                tls: [{ hosts: ["deals.example.com", "www.deals.example.com"], secretName: "deals-tls" }],
                rules: [{ host: "deals.example.com", http: {} }, { http: {} }],
            },
        });

        it("replaces every rule and tls host with the preview host", () => {
            complete(ingress(), replaceHosts(ingress(), "feature-x.localhost"), [
                { path: "/spec/rules/0/host", production: "deals.example.com", mirror: "feature-x.localhost", rule: "host" },
                { path: "/spec/tls/0/hosts/0", production: "deals.example.com", mirror: "feature-x.localhost", rule: "host" },
                { path: "/spec/tls/0/hosts/1", production: "www.deals.example.com", mirror: "feature-x.localhost", rule: "host" },
            ]);
            const route: KubeObject = { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", metadata: { name: "web" }, spec: { hostnames: ["deals.example.com"] } };
            complete(route, replaceHosts(route, "feature-x.localhost"), [{ path: "/spec/hostnames/0", production: "deals.example.com", mirror: "feature-x.localhost", rule: "host" }]);
        });

        it("sets tls[].secretName to the preview certificate, or drops tls when there is none", () => {
            complete(ingress(), replaceTlsSecret(ingress(), "preview-tls"), [{ path: "/spec/tls/0/secretName", production: "deals-tls", mirror: "preview-tls", rule: "tls-secret" }]);
            complete(ingress(), replaceTlsSecret(ingress(), undefined), [
                { path: "/spec/tls", production: [{ hosts: ["deals.example.com", "www.deals.example.com"], secretName: "deals-tls" }], mirror: undefined, rule: "tls-secret" },
            ]);
        });

        it("hosts without a preview host are a problem naming each field", () => {
            assert.deepStrictEqual(problemsOf(() => rewrite([ingress()], { ...TARGET, previewHost: undefined })), [
                'Ingress/web: /spec/rules/0/host is "deals.example.com" and there is no preview host to replace it with: set prod-mirror:previewDomain',
                'Ingress/web: /spec/tls/0/hosts/0 is "deals.example.com" and there is no preview host to replace it with: set prod-mirror:previewDomain',
                'Ingress/web: /spec/tls/0/hosts/1 is "www.deals.example.com" and there is no preview host to replace it with: set prod-mirror:previewDomain',
            ]);
        });
    });

    describe("skip-await", () => {
        it("tells the provider not to wait for production's ingress controller or gateway, on Ingresses and HTTPRoutes only", () => {
            const ingress: KubeObject = { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "web", annotations: { a: "b" } }, spec: {} };
            complete(ingress, skipRoutingAwait(ingress), [{ path: "/metadata/annotations/pulumi.com~1skipAwait", production: undefined, mirror: "true", rule: "skip-await" }]);
            const route: KubeObject = { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", metadata: { name: "web" } };
            complete(route, skipRoutingAwait(route), [{ path: "/metadata/annotations/pulumi.com~1skipAwait", production: undefined, mirror: "true", rule: "skip-await" }]);
            for (const other of [
                { apiVersion: "v1", kind: "Service", metadata: { name: "web" } },
                { apiVersion: "extensions.example.com/v1", kind: "Ingress", metadata: { name: "web" } },
                { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web" } },
            ]) {
                complete(other, skipRoutingAwait(other), []);
            }
        });

        const SKIP = [{ path: "/metadata/annotations/pulumi.com~1skipAwait", production: undefined, mirror: "true", rule: "skip-await" as const }];
        const service = (selector: unknown, type?: string): KubeObject => ({ apiVersion: "v1", kind: "Service", metadata: { name: "api" }, spec: { selector, ...(type ? { type } : {}) } });
        const workload = (kind: string, labels: Record<string, string>, apiVersion = "apps/v1", annotations?: Record<string, string>): KubeObject => ({
            apiVersion,
            kind,
            metadata: { name: "api", ...(annotations ? { annotations } : {}) },
            spec: { template: { metadata: { labels }, spec: podSpec() } },
        });

        it("skips a Service's endpoint await when it routes to pods of a workload whose readiness the provider awaits", () => {
            for (const kind of ["Deployment", "StatefulSet", "DaemonSet"]) {
                const labels = awaitedPodLabels([workload(kind, { app: "api", tier: "web" })]);
                const s = service({ app: "api" });
                complete(s, skipCoveredServiceAwait(s, labels), SKIP);
            }
        });

        it("keeps the await of a Service no awaited workload covers: other labels, no selector, LoadBalancer, a skipped or non-awaited workload", () => {
            const labels = awaitedPodLabels([workload("Deployment", { app: "api" })]);
            for (const s of [service({ app: "web" }), service({ app: "api", tier: "web" }), service(undefined), service({}), service({ app: "api" }, "LoadBalancer")]) {
                complete(s, skipCoveredServiceAwait(s, labels), []);
            }
            const notAwaited = awaitedPodLabels([
                workload("Deployment", { app: "api" }, "apps/v1", { "pulumi.com/skipAwait": "true" }),
                workload("ReplicaSet", { app: "api" }),
                workload("Deployment", { app: "api" }, "example.com/v1"),
            ]);
            assert.deepStrictEqual(notAwaited, []);
            const s = service({ app: "api" });
            complete(s, skipCoveredServiceAwait(s, notAwaited), []);
            // Only Services: a Deployment selecting itself is not touched.
            const d = workload("Deployment", { app: "api" });
            complete(d, skipCoveredServiceAwait(d, labels), []);
        });
    });

    describe("probe-period", () => {
        const probed = (probes: Record<string, unknown>, list = "containers"): KubeObject => {
            const spec = podSpec();
            spec[list] = [{ ...spec.containers[0], ...probes }];
            return deployment("api", spec);
        };
        const change = (path: string, production: unknown, mirror: unknown): FieldChange => ({ path: `/spec/template/spec/${path}`, production, mirror, rule: "probe-period" });

        it("gives a container with a readiness probe alone a startup probe checking the same thing every second; readiness stays production's", () => {
            const readiness = { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 5, initialDelaySeconds: 2, timeoutSeconds: 3, successThreshold: 2, failureThreshold: 4 };
            const o = probed({ readinessProbe: readiness });
            // A day of failures before a restart: production's readiness probe restarts nothing.
            complete(o, capProbePeriods(o, 1), [
                change("containers/0/startupProbe", undefined, { httpGet: { path: "/healthz", port: 8080 }, initialDelaySeconds: 2, timeoutSeconds: 3, periodSeconds: 1, failureThreshold: 86_400 }),
            ]);
            const two = capProbePeriods(o, 2);
            assert.deepStrictEqual(two.changes, [
                change("containers/0/startupProbe", undefined, { httpGet: { path: "/healthz", port: 8080 }, initialDelaySeconds: 2, timeoutSeconds: 3, periodSeconds: 2, failureThreshold: 43_200 }),
            ]);
            assert.deepStrictEqual(two.object, applyChanges(o, two.changes));
            // Kubernetes' default period is 10 s; an exec check is copied as it is.
            const exec = probed({ readinessProbe: { exec: { command: ["ready"] } } });
            assert.deepStrictEqual(capProbePeriods(exec, 1).changes, [change("containers/0/startupProbe", undefined, { exec: { command: ["ready"] }, periodSeconds: 1, failureThreshold: 86_400 })]);
        });

        it("caps production's startup probe, or with a liveness probe the readiness probe, and keeps production's failure window (failureThreshold x period)", () => {
            const started = probed({ readinessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 5 }, startupProbe: { exec: { command: ["true"] }, failureThreshold: 30 } });
            // Kubernetes' default period is 10 s: 30 x 10 s stays 300 x 1 s; the kubelet probes readiness once it passes.
            complete(started, capProbePeriods(started, 1), [
                change("containers/0/startupProbe/periodSeconds", undefined, 1),
                change("containers/0/startupProbe/failureThreshold", 30, 300),
            ]);
            // An added startup probe would hold the liveness probe back while the container starts.
            const live = probed({ livenessProbe: { periodSeconds: 30 }, readinessProbe: { periodSeconds: 5 } });
            complete(live, capProbePeriods(live, 1), [
                change("containers/0/readinessProbe/periodSeconds", 5, 1),
                change("containers/0/readinessProbe/failureThreshold", undefined, 15),
            ]);
            const two = capProbePeriods(live, 2);
            assert.deepStrictEqual(two.changes, [change("containers/0/readinessProbe/periodSeconds", 5, 2), change("containers/0/readinessProbe/failureThreshold", undefined, 8)]);
            assert.deepStrictEqual(two.object, applyChanges(live, two.changes));
        });

        it("treats init containers' probes (sidecars) alike, and leaves liveness probes, short periods and a cap of 0 alone", () => {
            const init = probed({ restartPolicy: "Always", readinessProbe: { tcpSocket: { port: 9000 }, periodSeconds: 3, failureThreshold: 1 } }, "initContainers");
            complete(init, capProbePeriods(init, 1), [change("initContainers/0/startupProbe", undefined, { tcpSocket: { port: 9000 }, periodSeconds: 1, failureThreshold: 86_400 })]);
            const kept = probed({ livenessProbe: { periodSeconds: 30 }, readinessProbe: { periodSeconds: 1 } });
            complete(kept, capProbePeriods(kept, 1), []);
            const fast = probed({ readinessProbe: { periodSeconds: 1 } });
            complete(fast, capProbePeriods(fast, 1), []);
            const livenessOnly = probed({ livenessProbe: { periodSeconds: 30 } });
            complete(livenessOnly, capProbePeriods(livenessOnly, 1), []);
            const production = probed({ readinessProbe: { periodSeconds: 10 } });
            complete(production, capProbePeriods(production, 0), []);
            const service: KubeObject = { apiVersion: "v1", kind: "Service", metadata: { name: "api" }, spec: { readinessProbe: { periodSeconds: 10 } } };
            complete(service, capProbePeriods(service, 1), []);
        });

        it("refuses a cap that is not a whole number of seconds from 0 to 60", () => {
            assert.deepStrictEqual([0, 1, 60].map(probePeriodProblem), [undefined, undefined, undefined]);
            for (const bad of [-1, 61, 1.5, NaN]) {
                assert.match(probePeriodProblem(bad) ?? "", /from 1 to 60, or 0 to keep production's probes/);
            }
        });
    });
});

describe("stand-in secrets", () => {
    function withSecrets(): KubeObject {
        const spec = podSpec();
        spec.containers[0].env = [{ name: "SIGNING_KEY", valueFrom: { secretKeyRef: { name: "deal-signing", key: "key" } } }];
        spec.containers[0].envFrom = [{ secretRef: { name: "shipped" } }];
        spec.volumes = [
            { name: "certs", secret: { secretName: "deal-signing", items: [{ key: "key", path: "k" }] } },
            { name: "all", projected: { sources: [{ configMap: { name: "c" } }, { secret: { name: "maybe", optional: true } }] } },
        ];
        return deployment("api", spec);
    }

    it("references resolved by a stand-in, a shipped Secret or optional: true are no problem", () => {
        assert.deepStrictEqual(standInProblems(withSecrets(), new Set(["shipped"]), TARGET.standIns), []);
        // optional: true also covers a key the stand-in does not have.
        const o = withSecrets();
        (o as any).spec.template.spec.containers[0].env.push({ name: "X", valueFrom: { secretKeyRef: { name: "deal-signing", key: "other", optional: true } } });
        assert.deepStrictEqual(standInProblems(o, new Set(["shipped"]), TARGET.standIns), []);
    });

    it("a Secret neither shipped nor a stand-in is a problem naming it, the referrer and the fix", () => {
        assert.deepStrictEqual(standInProblems(withSecrets(), new Set(), []), [
            'Deployment/api: /spec/template/spec/containers/0/env/0/valueFrom/secretKeyRef references Secret "deal-signing", which production\'s objects do not ship and which is not a stand-in: ' +
                "add it under standIns in the app description (standIns: { secrets: [{ name: deal-signing, keys: [key] }] }) or mark the reference optional: true",
            'Deployment/api: /spec/template/spec/containers/0/envFrom/0/secretRef references Secret "shipped", which production\'s objects do not ship and which is not a stand-in: ' +
                "add it under standIns in the app description (standIns: { secrets: [{ name: shipped, keys: [<the keys it holds>] }] }) or mark the reference optional: true",
            'Deployment/api: /spec/template/spec/volumes/0/secret references Secret "deal-signing", which production\'s objects do not ship and which is not a stand-in: ' +
                "add it under standIns in the app description (standIns: { secrets: [{ name: deal-signing, keys: [key] }] }) or mark the reference optional: true",
        ]);
    });

    it("a key the stand-in does not have is a problem, from secretKeyRef and from volume items", () => {
        assert.deepStrictEqual(standInProblems(withSecrets(), new Set(["shipped"]), [{ name: "deal-signing", keys: ["other"] }]), [
            'Deployment/api: /spec/template/spec/containers/0/env/0/valueFrom/secretKeyRef needs key "key" of stand-in Secret "deal-signing", whose keys are [other]: ' +
                "add it under standIns in the app description (keys: [other, key]) or mark the reference optional: true",
            'Deployment/api: /spec/template/spec/volumes/0/secret needs key "key" of stand-in Secret "deal-signing", whose keys are [other]: ' +
                "add it under standIns in the app description (keys: [other, key]) or mark the reference optional: true",
        ]);
    });

    it("production's own copy of a stand-in Secret is skipped, never applied", () => {
        const secret: KubeObject = { apiVersion: "v1", kind: "Secret", metadata: { name: "deal-signing" }, data: { key: "cHJvZHVjdGlvbg==" } };
        const { objects, report } = rewrite([secret, withSecrets()], { ...TARGET, standIns: [{ name: "deal-signing", keys: ["key"] }, { name: "shipped", keys: [] }] });
        assert.deepStrictEqual(
            objects.map((o) => objectId(o)),
            ["Deployment/api"],
        );
        assert.deepStrictEqual(report.skipped, [{ object: "Secret/deal-signing", reason: "stand-in: the mirror creates this Secret with generated values; production's is never copied" }]);
        assert.deepStrictEqual(report.standIns, [
            { secret: "deal-signing", keys: ["key"], referencedBy: ["Deployment/api"] },
            { secret: "shipped", keys: [], referencedBy: ["Deployment/api"] },
        ]);
    });
});

describe("pod-security (restricted): a problem, never a change", () => {
    const REFUSES = `which Pod Security "restricted" (enforced in the mirror's namespace) refuses`;
    const at = (pointer: string, found: string, fix: string) => `Deployment/api: /spec/template/spec${pointer} is ${found}, ${REFUSES}: ${fix}`;
    const RUN_AS_NON_ROOT = "set runAsNonRoot: true with a non-zero runAsUser";

    const cases: [string, (spec: Record<string, any>) => void, string[]][] = [
        ["privileged", (s) => (s.containers[0].securityContext.privileged = true), [at("/containers/0/securityContext/privileged", "true", "remove privileged or set it to false")]],
        ...["hostNetwork", "hostPID", "hostIPC"].map((f): [string, (spec: Record<string, any>) => void, string[]] => [
            f,
            (s) => (s[f] = true),
            [at(`/${f}`, "true", `remove ${f}: a mirror's pod must not share the node's namespaces`)],
        ]),
        [
            "a hostPath volume",
            (s) => (s.volumes = [{ name: "ok", emptyDir: {} }, { name: "h", hostPath: { path: "/var/run" } }]),
            [at("/volumes/1/hostPath", "a hostPath volume", "use one of configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret instead")],
        ],
        ["an nfs volume", (s) => (s.volumes = [{ name: "n", nfs: { server: "x", path: "/" } }]), [at("/volumes/0/nfs", "a nfs volume", "use one of configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret instead")]],
        ["a hostPort", (s) => (s.containers[0].ports = [{ containerPort: 80, hostPort: 0 }, { containerPort: 81, hostPort: 8081 }]), [at("/containers/0/ports/1/hostPort", "8081", "remove hostPort: the mirror reaches pods through their Service")]],
        ["runAsNonRoot false in the pod", (s) => (s.securityContext.runAsNonRoot = false), [
            at("/securityContext/runAsNonRoot", "false", RUN_AS_NON_ROOT),
            at("/containers/0/securityContext/runAsNonRoot", "absent and the pod's securityContext does not set runAsNonRoot: true", "set runAsNonRoot: true in the pod's or the container's securityContext"),
        ]],
        ["runAsNonRoot false in a container", (s) => (s.containers[0].securityContext.runAsNonRoot = false), [at("/containers/0/securityContext/runAsNonRoot", "false", RUN_AS_NON_ROOT)]],
        ["runAsNonRoot set nowhere", (s) => delete s.securityContext.runAsNonRoot, [
            at("/containers/0/securityContext/runAsNonRoot", "absent and the pod's securityContext does not set runAsNonRoot: true", "set runAsNonRoot: true in the pod's or the container's securityContext"),
        ]],
        ["runAsUser 0", (s) => {
            s.securityContext.runAsUser = 0;
            s.containers[0].securityContext.runAsUser = 0;
        }, [at("/securityContext/runAsUser", "0", "run as a non-zero uid"), at("/containers/0/securityContext/runAsUser", "0", "run as a non-zero uid")]],
        ["allowPrivilegeEscalation absent (init container)", (s) => (s.initContainers = [{ name: "init", image: "x:1", securityContext: { capabilities: { drop: ["ALL"] } } }]), [
            at("/initContainers/0/securityContext/allowPrivilegeEscalation", "absent", "set allowPrivilegeEscalation: false in the container's securityContext"),
        ]],
        ["allowPrivilegeEscalation true", (s) => (s.containers[0].securityContext.allowPrivilegeEscalation = true), [
            at("/containers/0/securityContext/allowPrivilegeEscalation", "true", "set allowPrivilegeEscalation: false in the container's securityContext"),
        ]],
        ["capabilities.drop without ALL", (s) => (s.containers[0].securityContext.capabilities = { drop: ["NET_RAW"] }), [
            at("/containers/0/securityContext/capabilities/drop", '["NET_RAW"]', 'drop "ALL" capabilities in the container\'s securityContext'),
        ]],
        ["capabilities.add beyond NET_BIND_SERVICE", (s) => (s.containers[0].securityContext.capabilities.add = ["NET_BIND_SERVICE", "SYS_ADMIN"]), [
            at("/containers/0/securityContext/capabilities/add/1", '"SYS_ADMIN"', "add no capability but NET_BIND_SERVICE"),
        ]],
        ["seccomp Unconfined in the pod", (s) => (s.securityContext.seccompProfile.type = "Unconfined"), [
            at("/securityContext/seccompProfile/type", '"Unconfined"', "set it to RuntimeDefault or Localhost"),
            at("/containers/0/securityContext/seccompProfile/type", "absent and the pod's securityContext sets no RuntimeDefault or Localhost profile", "set seccompProfile: { type: RuntimeDefault } in the pod's or the container's securityContext"),
        ]],
        ["seccomp Unconfined in a container", (s) => (s.containers[0].securityContext.seccompProfile = { type: "Unconfined" }), [
            at("/containers/0/securityContext/seccompProfile/type", '"Unconfined"', "set it to RuntimeDefault or Localhost"),
        ]],
        ["seccomp set nowhere", (s) => delete s.securityContext.seccompProfile, [
            at("/containers/0/securityContext/seccompProfile/type", "absent and the pod's securityContext sets no RuntimeDefault or Localhost profile", "set seccompProfile: { type: RuntimeDefault } in the pod's or the container's securityContext"),
        ]],
    ];
    for (const [what, mutate, expected] of cases) {
        it(`${what} is refused with the field's pointer`, () => {
            const spec = podSpec();
            mutate(spec);
            assert.deepStrictEqual(podSecurityProblems(deployment("api", spec)), expected);
        });
    }

    it("the full text of one problem", () => {
        const spec = podSpec();
        spec.hostNetwork = true;
        assert.deepStrictEqual(podSecurityProblems(deployment("api", spec)), [
            `Deployment/api: /spec/template/spec/hostNetwork is true, which Pod Security "restricted" (enforced in the mirror's namespace) refuses: remove hostNetwork: a mirror's pod must not share the node's namespaces`,
        ]);
    });

    it("accepts container-level settings, Localhost seccomp, NET_BIND_SERVICE and a restricted volume set", () => {
        const spec = podSpec();
        spec.securityContext = {};
        spec.containers[0].securityContext = { allowPrivilegeEscalation: false, runAsNonRoot: true, seccompProfile: { type: "Localhost", localhostProfile: "p.json" }, capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] } };
        spec.volumes = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"].map((t) => ({ name: t.toLowerCase(), [t]: {} }));
        assert.deepStrictEqual(podSecurityProblems(deployment("api", spec)), []);
    });
});

describe("rewrite", () => {
    it("lists every problem in input order, input problems by position, in one RewriteError", () => {
        const spec = podSpec();
        spec.containers[0].securityContext.privileged = true;
        spec.containers[0].env = [{ name: "K", valueFrom: { secretKeyRef: { name: "missing", key: "k" } } }];
        const objects = [
            { apiVersion: "example.com/v1", kind: "Gadget", metadata: { name: "g" } },
            { kind: "ConfigMap", metadata: {} },
            "not an object",
            { apiVersion: "v1", metadata: { name: "x" } },
            deployment("api", spec),
        ] as unknown as KubeObject[];
        let error: unknown;
        try {
            rewrite(objects, TARGET);
        } catch (e) {
            error = e;
        }
        assert.ok(error instanceof RewriteError);
        assert.strictEqual(error.name, "RewriteError");
        assert.strictEqual(
            error.message,
            [
                "7 problems in production's objects:",
                "- Gadget/g: /apiVersion example.com/v1 (kind Gadget) is not built into Kubernetes and not listed under customResourceKinds: " +
                    "if the mirror's cluster has its CustomResourceDefinition, add { apiVersion: example.com/v1, kind: Gadget, namespaced: true } " +
                    "(false if cluster-scoped) under customResourceKinds in the app description; otherwise remove the object from production's deployment",
                "- object #2 (kind ConfigMap): /apiVersion is missing: every object needs apiVersion, kind and metadata.name; fix production's deployment source",
                "- object #2 (kind ConfigMap): /metadata/name is missing: every object needs apiVersion, kind and metadata.name; fix production's deployment source",
                "- object #3 is a string, not a Kubernetes object: fix production's deployment source so that it renders objects only",
                "- object #4 (name x): /kind is missing: every object needs apiVersion, kind and metadata.name; fix production's deployment source",
                "- Deployment/api: /spec/template/spec/containers/0/env/0/valueFrom/secretKeyRef references Secret \"missing\", which production's objects do not ship and which is not a stand-in: " +
                    "add it under standIns in the app description (standIns: { secrets: [{ name: missing, keys: [k] }] }) or mark the reference optional: true",
                `- Deployment/api: /spec/template/spec/containers/0/securityContext/privileged is true, which Pod Security "restricted" (enforced in the mirror's namespace) refuses: remove privileged or set it to false`,
            ].join("\n"),
        );
    });

    it("an object with kind and name but no apiVersion is named by position and Kind/name", () => {
        assert.deepStrictEqual(inputProblems({ kind: "Service", metadata: { name: "api" } }, 4), [
            "object #5 (Service/api): /apiVersion is missing: every object needs apiVersion, kind and metadata.name; fix production's deployment source",
        ]);
        assert.deepStrictEqual(inputProblems(null, 0), ["object #1 is null, not a Kubernetes object: fix production's deployment source so that it renders objects only"]);
    });

    it("two objects of one kind and name (from two production namespaces) are a problem; other kinds may share a name", () => {
        const a = configMap("cfg", {});
        const b = { ...configMap("cfg", {}), metadata: { name: "cfg", namespace: "billing" } };
        const other: KubeObject = { apiVersion: "v1", kind: "Service", metadata: { name: "cfg" } };
        assert.deepStrictEqual(problemsOf(() => rewrite([a, other, b], TARGET)), [
            "ConfigMap/cfg: object #3 has the kind and /metadata/name of object #1, and the mirror puts both into one namespace: rename one or remove it from production's deployment",
        ]);
    });

    it("one problem is worded in the singular", () => {
        assert.throws(() => rewrite([{ apiVersion: "v1", kind: "Service", metadata: {} } as KubeObject], TARGET), {
            message: "1 problem in production's objects:\n- object #1 (kind Service): /metadata/name is missing: every object needs apiVersion, kind and metadata.name; fix production's deployment source",
        });
    });
});

describe("a whole production deployment", () => {
    const production = (): KubeObject[] => [
        { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: "deals-high" }, value: 100000 },
        { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "deals-api", namespace: "deals", annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::210987654321:role/deals-api" } } },
        configMap("deals-config", { QUEUE_URL, LOG_LEVEL: "info" }),
        {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "api", namespace: "deals", labels: { app: "api" } },
            spec: {
                replicas: 3,
                selector: { matchLabels: { app: "api" } },
                template: {
                    metadata: { labels: { app: "api" } },
                    spec: {
                        serviceAccountName: "deals-api",
                        priorityClassName: "deals-high",
                        imagePullSecrets: [{ name: "prod-registry" }],
                        securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } },
                        containers: [
                            {
                                name: "api",
                                image: "registry.example.com/deals/api:1.4.2",
                                envFrom: [{ configMapRef: { name: "deals-config" } }],
                                env: [
                                    { name: "RECEIPTS_BUCKET", value: "acme-deal-receipts" },
                                    { name: "AWS_REGION", value: "eu-west-1" },
                                    { name: "SIGNING_KEY", valueFrom: { secretKeyRef: { name: "deal-signing", key: "key" } } },
                                ],
                                ports: [{ containerPort: 8080 }],
                                readinessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 5 },
                                resources: { requests: { cpu: "500m", memory: "512Mi" } },
                                securityContext: structuredClone(SAFE),
                            },
                            { name: "proxy", image: "envoyproxy/envoy:v1.31.0", ports: [{ containerPort: 9901 }], securityContext: structuredClone(SAFE) },
                        ],
                    },
                },
            },
        },
        { apiVersion: "v1", kind: "Service", metadata: { name: "api", namespace: "deals" }, spec: { selector: { app: "api" }, ports: [{ port: 80, targetPort: 8080 }] } },
        {
            apiVersion: "networking.k8s.io/v1",
            kind: "Ingress",
            metadata: { name: "api", namespace: "deals" },
            spec: {
                ingressClassName: "nginx",
                tls: [{ hosts: ["deals.example.com"], secretName: "deals-tls" }],
                rules: [{ host: "deals.example.com", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "api", port: { number: 80 } } } }] } }],
            },
        },
        {
            apiVersion: "autoscaling/v2",
            kind: "HorizontalPodAutoscaler",
            metadata: { name: "api", namespace: "deals" },
            spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "api" }, minReplicas: 3, maxReplicas: 10 },
        },
        { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: "api", namespace: "deals" }, spec: { minAvailable: 2, selector: { matchLabels: { app: "api" } } } },
    ];
    const common: FieldChange[] = [
        { path: "/metadata/namespace", production: "deals", mirror: "pm-feature-x", rule: "namespace" },
        { path: "/metadata/labels/prod-mirror.dev~1stack", production: undefined, mirror: "feature-x", rule: "labels" },
        { path: "/metadata/labels/app.kubernetes.io~1managed-by", production: undefined, mirror: "prod-mirror", rule: "labels" },
    ];
    const POD = "/spec/template/spec";
    const RESOURCES = { requests: { cpu: "50m", memory: "64Mi" } };
    const EXPECTED: FidelityReport = {
        objects: [
            { object: "ServiceAccount/deals-api", changes: [...common, { path: "/metadata/annotations/eks.amazonaws.com~1role-arn", production: "arn:aws:iam::210987654321:role/deals-api", mirror: undefined, rule: "cloud-identity" }] },
            { object: "ConfigMap/deals-config", changes: [...common, { path: "/data/QUEUE_URL", production: QUEUE_URL, mirror: MIRROR_QUEUE_URL, rule: "cloud-name" }] },
            {
                object: "Deployment/api",
                changes: [
                    common[0],
                    common[1],
                    { path: "/spec/template/metadata/labels/prod-mirror.dev~1stack", production: undefined, mirror: "feature-x", rule: "labels" },
                    common[2],
                    { path: "/spec/template/metadata/labels/app.kubernetes.io~1managed-by", production: undefined, mirror: "prod-mirror", rule: "labels" },
                    { path: `${POD}/containers/0/image`, production: "registry.example.com/deals/api:1.4.2", mirror: API_IMAGE, rule: "image" },
                    { path: `${POD}/imagePullSecrets`, production: [{ name: "prod-registry" }], mirror: [{ name: "pm-pull" }], rule: "pull-secret" },
                    { path: `${POD}/serviceAccountName`, production: "deals-api", mirror: "pm-workload", rule: "service-account" },
                    { path: `${POD}/priorityClassName`, production: "deals-high", mirror: undefined, rule: "priority-class" },
                    { path: `${POD}/containers/0/env/3`, production: undefined, mirror: { name: "AWS_ENDPOINT_URL", value: "http://emulator.pm-feature-x:5000" }, rule: "cloud-env" },
                    { path: `${POD}/containers/0/env/1`, production: { name: "AWS_REGION", value: "eu-west-1" }, mirror: { name: "AWS_REGION", value: "us-east-1" }, rule: "cloud-env" },
                    { path: `${POD}/containers/0/env/0/value`, production: "acme-deal-receipts", mirror: "pm-feature-x-1a2b3c4d-receipts", rule: "cloud-name" },
                    { path: "/spec/replicas", production: 3, mirror: 1, rule: "replicas" },
                    { path: `${POD}/containers/0/resources`, production: { requests: { cpu: "500m", memory: "512Mi" } }, mirror: RESOURCES, rule: "resources" },
                    { path: `${POD}/containers/1/resources`, production: undefined, mirror: RESOURCES, rule: "resources" },
                    { path: `${POD}/containers/0/startupProbe`, production: undefined, mirror: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 1, failureThreshold: 86_400 }, rule: "probe-period" },
                ],
            },
            { object: "Service/api", changes: [...common, { path: "/metadata/annotations/pulumi.com~1skipAwait", production: undefined, mirror: "true", rule: "skip-await" }] },
            {
                object: "Ingress/api",
                changes: [
                    ...common,
                    { path: "/spec/tls", production: [{ hosts: ["deals.example.com"], secretName: "deals-tls" }], mirror: undefined, rule: "tls-secret" },
                    { path: "/spec/rules/0/host", production: "deals.example.com", mirror: "feature-x.localhost", rule: "host" },
                    { path: "/metadata/annotations/pulumi.com~1skipAwait", production: undefined, mirror: "true", rule: "skip-await" },
                ],
            },
            {
                object: "HorizontalPodAutoscaler/api",
                changes: [...common, { path: "/spec/minReplicas", production: 3, mirror: 1, rule: "hpa" }, { path: "/spec/maxReplicas", production: 10, mirror: 1, rule: "hpa" }],
            },
            { object: "PodDisruptionBudget/api", changes: common },
        ],
        skipped: [{ object: "PriorityClass/deals-high", reason: CLUSTER_REASON }],
        standIns: [{ secret: "deal-signing", keys: ["key"], referencedBy: ["Deployment/api"] }],
        imagesKept: [{ object: "Deployment/api", container: "proxy", image: "envoyproxy/envoy:v1.31.0" }],
    };

    it("is rewritten with exactly the expected report, in input order, without touching the input", () => {
        const input = frozen(production());
        const { objects, report } = rewrite(input, TARGET);
        assert.deepStrictEqual(report, EXPECTED);
        assert.deepStrictEqual(input, production());
        assert.deepStrictEqual(
            objects.map((o) => objectId(o)),
            ["ServiceAccount/deals-api", "ConfigMap/deals-config", "Deployment/api", "Service/api", "Ingress/api", "HorizontalPodAutoscaler/api", "PodDisruptionBudget/api"],
        );
        // The output shares nothing with the input: editing it leaves production's objects as they were.
        (objects[2] as any).spec.template.spec.containers[0].env.push({ name: "X" });
        assert.deepStrictEqual(input, production());
    });

    it("the report is complete: production plus every change at its pointer is exactly each applied object", () => {
        const input = production().slice(1); // the skipped PriorityClass has no applied counterpart
        const { objects, report } = rewrite(production(), TARGET);
        assert.strictEqual(objects.length, input.length);
        objects.forEach((o, i) => assert.deepStrictEqual(applyChanges(input[i], report.objects[i].changes), o, report.objects[i].object));
        // And the changes are not vacuous: production differs from the mirror wherever a change says so.
        assert.notDeepStrictEqual(objects, input);
    });

    it("a second rewrite of the mirror's own objects changes only what the mirror's values still trigger", () => {
        // The mirror's objects are already in the namespace, labelled, bound, mapped and clamped.
        const { objects } = rewrite(production(), TARGET);
        const again = rewrite(objects, TARGET).report.objects.flatMap((o) => o.changes);
        assert.deepStrictEqual(again, []);
    });
});

describe("describeReport", () => {
    it("renders the table, the skipped objects, the stand-ins and the images kept", () => {
        const report: FidelityReport = {
            objects: [
                {
                    object: "Deployment/api",
                    changes: [
                        { path: "/metadata/namespace", production: "deals", mirror: "pm-x", rule: "namespace" },
                        { path: "/spec/template/spec/priorityClassName", production: "high", mirror: undefined, rule: "priority-class" },
                        { path: "/spec/template/spec/imagePullSecrets", production: undefined, mirror: [{ name: "pm-pull" }], rule: "pull-secret" },
                        { path: "/data/long", production: "x".repeat(70), mirror: "y", rule: "cloud-name" },
                    ],
                },
                { object: "Service/api", changes: [] },
            ],
            skipped: [{ object: "PriorityClass/high", reason: "cluster-scoped" }],
            standIns: [
                { secret: "deal-signing", keys: ["key", "alt"], referencedBy: ["Deployment/api", "Job/migrate"] },
                { secret: "unused", keys: ["k"], referencedBy: [] },
            ],
            imagesKept: [],
        };
        const long = `"${"x".repeat(58)}…`;
        assert.strictEqual(
            describeReport(report),
            [
                `object          field                                  production → mirror${" ".repeat(long.length + 8 - 19)}rule`,
                `Deployment/api  /metadata/namespace                    "deals" → "pm-x"${" ".repeat(long.length + 8 - 16)}namespace`,
                `Deployment/api  /spec/template/spec/priorityClassName  "high" → (removed)${" ".repeat(long.length + 8 - 18)}priority-class`,
                `Deployment/api  /spec/template/spec/imagePullSecrets   (absent) → [{"name":"pm-pull"}]${" ".repeat(long.length + 8 - 31)}pull-secret`,
                `Deployment/api  /data/long                             ${long} → "y"  cloud-name`,
                "Service/api     (no changes)",
                "",
                "Skipped (not applied):",
                "  PriorityClass/high  cluster-scoped",
                "Stand-in secrets (created by the mirror, never copied):",
                "  deal-signing  keys: key, alt  referenced by: Deployment/api, Job/migrate",
                "  unused        keys: k         referenced by: nothing",
                "Images kept (no rule under images: production's image runs): none",
            ].join("\n"),
        );
        assert.strictEqual(long.length, 60);
    });
});

describe("the report is complete on generated production sets", () => {
    const WORKLOADS: [string, string, (spec: Record<string, any>) => Record<string, unknown>][] = [
        ["apps/v1", "Deployment", (spec) => ({ replicas: 3, template: { spec } })],
        ["apps/v1", "StatefulSet", (spec) => ({ template: { spec } })],
        ["batch/v1", "CronJob", (spec) => ({ schedule: "@daily", jobTemplate: { spec: { template: { spec } } } })],
        ["v1", "Pod", (spec) => spec],
    ];
    const IMAGES = ["registry.example.com/deals/api:1", `registry.example.com/deals/api@sha256:${"c".repeat(64)}`, "busybox:1.36", API_IMAGE];
    const ENV = [
        { name: "QUEUE", value: QUEUE_URL },
        { name: "AWS_REGION", value: "eu-west-1" },
        { name: "PLAIN", value: "plain" },
        { name: "FROM_A", valueFrom: { configMapKeyRef: { name: "cfg", key: "A" } } },
        { name: "FROM_C", valueFrom: { configMapKeyRef: { name: "cfg", key: "C" } } },
    ];

    // Every rule that changes fields; the others only skip or find problems.
    const CHANGING_RULES = ["namespace", "labels", "image", "pull-secret", "service-account", "priority-class", "cloud-identity", "cloud-env", "cloud-name", "replicas", "resources", "hpa", "tls-secret", "host", "skip-await"];

    /** One random production set and target; every choice is a coin or a pick from a pool above. */
    function generated(next: () => number): { objects: KubeObject[]; target: RewriteTarget } {
        const coin = () => next() < 0.5;
        const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
        const some = <T>(xs: readonly T[]): T[] => xs.filter(coin);
        const metadata = (name: string) => ({
            name,
            ...(coin() ? { namespace: pick(["deals", "pm-feature-x"]) } : {}),
            ...(coin() ? { labels: Object.fromEntries(some([["app", "x"], ["prod-mirror.dev/stack", pick(["feature-x", "old"])]])) } : {}),
        });
        const container = (i: number) => ({
            name: `c${i}`,
            image: pick(IMAGES),
            securityContext: structuredClone(SAFE),
            ...(coin() ? { env: structuredClone(some(ENV)) } : {}),
            ...(coin() ? { envFrom: [{ configMapRef: { name: "cfg" } }] } : {}),
            ...(coin() ? { resources: { limits: { cpu: pick(["1", "50m"]) } } } : {}),
        });
        const spec: Record<string, any> = { ...podSpec(), containers: [0, 1, 2].slice(0, 1 + Math.floor(next() * 3)).map(container) };
        if (coin()) spec.initContainers = [container(9)];
        if (coin()) spec.imagePullSecrets = pick([[{ name: "prod" }], [{ name: "pm-pull" }]]);
        if (coin()) spec.serviceAccountName = pick(["deals", "pm-workload"]);
        if (coin()) spec.serviceAccount = "deals";
        if (coin()) spec.priorityClassName = pick(["high", "system-cluster-critical"]);
        const [apiVersion, kind, workloadSpec] = pick(WORKLOADS);
        const data = Object.fromEntries(some([["A", QUEUE_URL], ["B", "acme-deal-receipts"], ["C", "plain"]]));
        const annotations = Object.fromEntries(some([["eks.amazonaws.com/role-arn", "arn"], ["iam.gke.io/gcp-service-account", "g"], ["note", "n"]]));
        const hosts = some(["deals.example.com", "feature-x.localhost"]);
        const objects: KubeObject[] = [
            { apiVersion: "v1", kind: "ConfigMap", metadata: metadata("cfg"), data },
            { apiVersion: "v1", kind: "ServiceAccount", metadata: { ...metadata("deals"), annotations } },
            { apiVersion, kind, metadata: metadata("api"), spec: workloadSpec(spec) },
            {
                apiVersion: "networking.k8s.io/v1",
                kind: "Ingress",
                metadata: metadata("web"),
                spec: { ...(coin() ? { tls: [{ hosts, secretName: "t" }] } : {}), rules: hosts.map((host) => ({ host })) },
            },
            { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", metadata: metadata("route"), spec: { hostnames: hosts } },
            {
                apiVersion: "autoscaling/v2",
                kind: "HorizontalPodAutoscaler",
                metadata: metadata("api"),
                spec: { scaleTargetRef: { kind, name: "api" }, ...(coin() ? { minReplicas: pick([1, 2, 5]) } : {}), maxReplicas: pick([1, 3, 10]) },
            },
            ...(coin() ? [{ apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: "high" } }] : []),
        ];
        const target: RewriteTarget = {
            ...TARGET,
            cloudEnv: some(TARGET.cloudEnv),
            overrides: coin() ? { api: { ...(coin() ? { replicas: pick([0, 1, 4]) } : {}), ...(coin() ? { resources: { limits: { cpu: "50m" } } } : {}) } } : {},
            previewTlsSecretName: pick([undefined, "preview-tls", "t"]),
            knownCustomKinds: [...TARGET.knownCustomKinds, { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", namespaced: true }],
        };
        return { objects, target };
    }

    it("100 sets: each change's production value is production's, its mirror value differs, and applying them gives the mirror", () => {
        const next = prng(9);
        let changes = 0;
        const rules = new Set<string>();
        for (let n = 0; n < 100; n++) {
            const { objects, target } = generated(next);
            const input = frozen(structuredClone(objects));
            const out = rewrite(input, target);
            const applied = objects.filter((o) => o.kind !== "PriorityClass");
            assert.deepStrictEqual(out.report.objects.map((r) => r.object), applied.map(objectId), `case ${n}`);
            applied.forEach((production, i) => {
                const entry = out.report.objects[i];
                for (const change of entry.changes) {
                    assert.deepStrictEqual(valueAt(production, pointerTokens(change.path)), change.production, `case ${n} ${entry.object} ${change.path}`);
                    assert.notDeepStrictEqual(change.production, change.mirror, `case ${n} ${entry.object} ${change.path}`);
                    rules.add(change.rule);
                }
                assert.deepStrictEqual(applyChanges(production, entry.changes), out.objects[i], `case ${n} ${entry.object}`);
                changes += entry.changes.length;
            });
            assert.deepStrictEqual(input, objects, `case ${n}: the input was changed`);
        }
        // Not vacuous: the sets exercise many changes (2,536 for this seed, and every rule that changes fields).
        assert.ok(changes > 2000, `only ${changes} changes`);
        assert.deepStrictEqual([...rules].sort(), [...CHANGING_RULES].sort());
    });
});
