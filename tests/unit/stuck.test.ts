// Issue 12: a `down` that gave up on the namespace says which objects hold it, by kind and name,
// with their finalizers and the command that releases each. Literal kubectl output in, literal text out.
import * as assert from "assert";
import { finalizerHolders, formatStuckReport, kubectlResource, parseNamespace, stuckFromBefore, stuckObjects } from "../../cli/stuck";

/** `kubectl get namespace pm-stuck-1a2b3c4d -o json` while a ConfigMap's finalizer holds it. */
const TERMINATING = {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
        name: "pm-stuck-1a2b3c4d",
        deletionTimestamp: "2026-11-26T19:02:11Z",
        labels: { "kubernetes.io/metadata.name": "pm-stuck-1a2b3c4d" },
    },
    spec: { finalizers: ["kubernetes"] },
    status: {
        phase: "Terminating",
        conditions: [
            { type: "NamespaceDeletionDiscoveryFailure", status: "False", reason: "ResourcesDiscovered", message: "All resources successfully discovered" },
            { type: "NamespaceDeletionContentFailure", status: "False", reason: "ContentDeleted", message: "All content successfully deleted, may be waiting on finalization" },
            { type: "NamespaceContentRemaining", status: "True", reason: "SomeResourcesRemain", message: "Some resources are remaining: configmaps. has 1 resource instances" },
            { type: "NamespaceFinalizersRemaining", status: "True", reason: "SomeFinalizersRemain", message: "Some content in the namespace has finalizers remaining: prod-mirror.test/hold in 1 resource instances" },
        ],
    },
};

/** `kubectl get configmaps,widgets.example.com,... -n pm-stuck-1a2b3c4d -o json`. */
const LISTED = {
    apiVersion: "v1",
    kind: "List",
    items: [
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kube-root-ca.crt", namespace: "pm-stuck-1a2b3c4d" } },
        {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "held", namespace: "pm-stuck-1a2b3c4d", deletionTimestamp: "2026-11-26T19:02:12Z", finalizers: ["prod-mirror.test/hold"] },
        },
        {
            apiVersion: "example.com/v1",
            kind: "Widget",
            metadata: { name: "w1", namespace: "pm-stuck-1a2b3c4d", deletionTimestamp: "2026-11-26T19:02:13Z", finalizers: ["example.com/cleanup", "example.com/audit"] },
        },
        // Finalizers but not deleted: it holds nothing yet.
        { apiVersion: "v1", kind: "Secret", metadata: { name: "kept", namespace: "pm-stuck-1a2b3c4d", finalizers: ["example.com/keep"] } },
        // Deleted, finalizers gone: about to disappear on its own.
        { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "api", namespace: "pm-stuck-1a2b3c4d", deletionTimestamp: "2026-11-26T19:02:12Z", finalizers: [] } },
    ],
};

describe("what holds a namespace a destroy gave up on", () => {
    it("reads the namespace's phase, deletion time and the conditions that are True", () => {
        assert.deepStrictEqual(parseNamespace(TERMINATING), {
            name: "pm-stuck-1a2b3c4d",
            phase: "Terminating",
            deletingSince: "2026-11-26T19:02:11Z",
            conditions: [
                { type: "NamespaceContentRemaining", message: "Some resources are remaining: configmaps. has 1 resource instances" },
                { type: "NamespaceFinalizersRemaining", message: "Some content in the namespace has finalizers remaining: prod-mirror.test/hold in 1 resource instances" },
            ],
        });
        assert.deepStrictEqual(parseNamespace({ metadata: { name: "pm-live" }, status: { phase: "Active" } }), { name: "pm-live", phase: "Active", conditions: [] });
        assert.deepStrictEqual(parseNamespace(null), { name: "", phase: "", conditions: [] });
    });

    it("keeps exactly the deleted objects that still carry finalizers, sorted by kind and name", () => {
        assert.deepStrictEqual(stuckObjects(LISTED), [
            { resource: "configmap", kind: "ConfigMap", name: "held", finalizers: ["prod-mirror.test/hold"], deletingSince: "2026-11-26T19:02:12Z" },
            { resource: "widget.example.com", kind: "Widget", name: "w1", finalizers: ["example.com/cleanup", "example.com/audit"], deletingSince: "2026-11-26T19:02:13Z" },
        ]);
        assert.deepStrictEqual(stuckObjects({ kind: "List", items: [] }), []);
        assert.deepStrictEqual(stuckObjects("not a list"), []);
    });

    it("names a core kind bare and any other with its group, as kubectl patch takes them", () => {
        assert.deepStrictEqual(
            [kubectlResource("v1", "ConfigMap"), kubectlResource("apps/v1", "Deployment"), kubectlResource("cert-manager.io/v1", "Certificate")],
            ["configmap", "deployment.apps", "certificate.cert-manager.io"],
        );
    });

    it("reports each stuck object with its finalizers, the cluster's own words, and the two ways out", () => {
        const report = formatStuckReport(parseNamespace(TERMINATING), stuckObjects(LISTED), "prod-mirror down --branch stuck");
        assert.strictEqual(
            report,
            [
                "the namespace pm-stuck-1a2b3c4d did not go within prod-mirror:deleteTimeout (deleted at 2026-11-26T19:02:11Z, phase Terminating)",
                "these objects in it are deleted but wait for their finalizers:",
                "  ConfigMap/held  finalizers: prod-mirror.test/hold  (deleted at 2026-11-26T19:02:12Z)",
                "  Widget/w1  finalizers: example.com/cleanup, example.com/audit  (deleted at 2026-11-26T19:02:13Z)",
                "the namespace's status says:",
                "  NamespaceContentRemaining: Some resources are remaining: configmaps. has 1 resource instances",
                "  NamespaceFinalizersRemaining: Some content in the namespace has finalizers remaining: prod-mirror.test/hold in 1 resource instances",
                "to resolve: the controller that owns each finalizer must finish (is it running, and can it reach what it cleans up?);",
                "if that controller is gone for good, remove the finalizer by hand:",
                `  kubectl patch configmap/held -n pm-stuck-1a2b3c4d --type=merge -p '{"metadata":{"finalizers":null}}'`,
                `  kubectl patch widget.example.com/w1 -n pm-stuck-1a2b3c4d --type=merge -p '{"metadata":{"finalizers":null}}'`,
                "the stack is kept, with the namespace in it: once the namespace is gone or the objects are resolved, run 'prod-mirror down --branch stuck' again",
            ].join("\n"),
        );
    });

    it("says so when nothing holds a finalizer any more, and offers no patch", () => {
        const ns = parseNamespace({ ...TERMINATING, status: { phase: "Terminating", conditions: [] } });
        assert.strictEqual(
            formatStuckReport(ns, [], "prod-mirror reap"),
            [
                "the namespace pm-stuck-1a2b3c4d did not go within prod-mirror:deleteTimeout (deleted at 2026-11-26T19:02:11Z, phase Terminating)",
                "no object in it waits for a finalizer any more; the namespace controller may still be emptying it",
                "the stack is kept, with the namespace in it: once the namespace is gone or the objects are resolved, run 'prod-mirror reap' again",
            ].join("\n"),
        );
    });

    // The least-privilege identity loses its rights in the namespace with its RoleBinding, which the
    // namespace controller deletes with the rest: the report then comes from a list taken before.
    it("without rights inside any more: the objects listed before the deletion whose finalizers the namespace still names", () => {
        const before = finalizerHolders({
            items: [
                { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "held", finalizers: ["prod-mirror.test/hold"] } },
                { apiVersion: "v1", kind: "Secret", metadata: { name: "released", finalizers: ["example.com/done"] } },
                { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "plain" } },
            ],
        });
        assert.deepStrictEqual(before.map((o) => [o.kind, o.name, o.deletingSince]), [["ConfigMap", "held", ""], ["Secret", "released", ""]]);
        const ns = parseNamespace(TERMINATING);
        const stuck = stuckFromBefore(before, ns);
        assert.deepStrictEqual(stuck, [{ resource: "configmap", kind: "ConfigMap", name: "held", finalizers: ["prod-mirror.test/hold"], deletingSince: "2026-11-26T19:02:11Z" }]);
        assert.deepStrictEqual(stuckFromBefore(before, { ...ns, conditions: [] }), [], "nothing is named as remaining: nothing from before counts");
        const report = formatStuckReport(ns, stuck, "prod-mirror down --branch stuck", true).split("\n");
        assert.strictEqual(report[1], "these objects in it are deleted but wait for their finalizers (as listed before the deletion: this identity lost its rights in the namespace with it, so a cluster admin runs the patches below):");
        assert.strictEqual(report[2], "  ConfigMap/held  finalizers: prod-mirror.test/hold  (deleted at 2026-11-26T19:02:11Z)");
        assert.ok(report.includes(`  kubectl patch configmap/held -n pm-stuck-1a2b3c4d --type=merge -p '{"metadata":{"finalizers":null}}'`), report.join("\n"));
    });
});
