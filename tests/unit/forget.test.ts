// Issue 12: `down --forget-state` drops a stack whose cluster is gone and lists everything its
// state recorded, so a person can clean up by hand. An exported deployment in, literal text out.
import * as assert from "assert";
import { isKubeconfigContents } from "../../cli/cluster-access";
import { formatForgetReport, recordedResources } from "../../cli/forget";

const NS = "pm-gone-1a2b3c4d";
/** The shape of `stack.exportStack().deployment` (version 3), trimmed to what matters. */
const DEPLOYMENT = {
    manifest: { time: "2026-11-26T19:00:00Z" },
    resources: [
        { urn: "urn:pulumi:gone::prod-mirror::pulumi:pulumi:Stack::prod-mirror-gone", custom: false, type: "pulumi:pulumi:Stack" },
        { urn: "urn:pulumi:gone::prod-mirror::pulumi:providers:kubernetes::kubernetes", custom: true, id: "4f1c", type: "pulumi:providers:kubernetes" },
        { urn: "urn:pulumi:gone::prod-mirror::prod-mirror:k8s:BranchNamespace::mirror-ns", custom: false, type: "prod-mirror:k8s:BranchNamespace" },
        { urn: "urn:...:mirror-ns-namespace", custom: true, id: NS, type: "kubernetes:core/v1:Namespace", outputs: { metadata: { name: NS } } },
        { urn: "urn:...:mirror-api", custom: true, id: `${NS}/api`, type: "kubernetes:apps/v1:Deployment", outputs: { metadata: { name: "api", namespace: NS } } },
        { urn: "urn:...:mirror-config", custom: true, id: `${NS}/config-x9`, type: "kubernetes:core/v1:ConfigMap", outputs: { metadata: { name: "config-x9", namespace: NS } } },
        { urn: "urn:...:mirror-queue", custom: true, id: "https://sqs.us-east-1.amazonaws.com/123456789012/pm-gone-deal-events", type: "aws:sqs/queue:Queue", outputs: { name: "pm-gone-deal-events" } },
        { urn: "urn:...:mirror-bucket", custom: true, id: "pm-gone-uploads", type: "aws:s3/bucketV2:BucketV2", outputs: { bucket: "pm-gone-uploads" } },
    ],
};

describe("what down --forget-state says may remain", () => {
    it("lists the real resources only: Kubernetes objects by kind, name and namespace, the rest by id", () => {
        assert.deepStrictEqual(recordedResources(DEPLOYMENT), [
            { type: "aws:s3/bucketV2:BucketV2", where: "pm-gone-uploads" },
            { type: "aws:sqs/queue:Queue", where: "https://sqs.us-east-1.amazonaws.com/123456789012/pm-gone-deal-events" },
            { type: "kubernetes:apps/v1:Deployment", where: `Deployment/api -n ${NS}` },
            { type: "kubernetes:core/v1:ConfigMap", where: `ConfigMap/config-x9 -n ${NS}` },
            { type: "kubernetes:core/v1:Namespace", where: `Namespace/${NS}` },
        ]);
        assert.deepStrictEqual(recordedResources({ manifest: {} }), []);
        assert.deepStrictEqual(recordedResources(undefined), []);
    });

    it("prints the namespace, every recorded resource and how to remove them", () => {
        assert.strictEqual(
            formatForgetReport("gone-1a2b3c4d", NS, "https://127.0.0.1:1", recordedResources(DEPLOYMENT)),
            [
                "stack gone-1a2b3c4d removed without touching the cluster at https://127.0.0.1:1; nothing was deleted.",
                "what may remain, as the state last recorded it (5 resource(s)):",
                `  namespace: ${NS}`,
                "  Kubernetes objects:",
                `    Deployment/api -n ${NS}  (kubernetes:apps/v1:Deployment)`,
                `    ConfigMap/config-x9 -n ${NS}  (kubernetes:core/v1:ConfigMap)`,
                `    Namespace/${NS}  (kubernetes:core/v1:Namespace)`,
                "  other resources (e.g. AWS), by id:",
                "    aws:s3/bucketV2:BucketV2  pm-gone-uploads",
                "    aws:sqs/queue:Queue  https://sqs.us-east-1.amazonaws.com/123456789012/pm-gone-deal-events",
                `if the cluster comes back: kubectl delete namespace ${NS} removes the objects in it`,
                "AWS resources are not in the cluster: delete them in their account, or let 'prod-mirror reap --aws-endpoint URL' " +
                    "remove this installation's orphan buckets, queues and tables (by their tags, once older than --min-age)",
            ].join("\n"),
        );
    });

    it("names the Kubernetes objects a namespace delete does not remove", () => {
        const clusterWide = { urn: "urn:...:crb", custom: true, id: "pm-gone-reader", type: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", outputs: { metadata: { name: "pm-gone-reader" } } };
        const report = formatForgetReport("gone-1a2b3c4d", NS, undefined, recordedResources({ resources: [...DEPLOYMENT.resources, clusterWide] }));
        assert.ok(report.includes(`\n    ClusterRoleBinding/pm-gone-reader  (kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding)\n`), report);
        assert.ok(report.includes(`\nif the cluster comes back: kubectl delete namespace ${NS} removes the objects in it; delete the 1 Kubernetes object(s) above outside it by hand\n`), report);
    });

    it("says when the state recorded no namespace and nothing outside the cluster", () => {
        assert.strictEqual(
            formatForgetReport("empty-1a2b3c4d", undefined, undefined, []),
            ["stack empty-1a2b3c4d removed without touching the cluster; nothing was deleted.", "what may remain, as the state last recorded it (0 resource(s)):", "  namespace: (none recorded)"].join("\n"),
        );
    });
});

describe("the stack's kubeconfig, as the provider reads prod-mirror:kubeconfig", () => {
    it("takes a one-line value for a path and a multi-line or JSON value for the contents", () => {
        assert.deepStrictEqual(
            ["/home/me/.kube/config", "C:\\kube\\config", "apiVersion: v1\nclusters: []\n", '{"apiVersion": "v1", "clusters": []}', '  {"apiVersion":"v1"}'].map(isKubeconfigContents),
            [false, false, true, true, true],
        );
    });
});
