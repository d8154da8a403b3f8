import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { BranchNamespace } from "../../components";
import { deletedWithNamespace } from "../../components/branch-namespace";
import { CONTEXT } from "./fixtures";
import { inBothModes, settle, useMocks, valueOf } from "./mocks";

const POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";

describe("BranchNamespace", () => {
    inBothModes((preview) => {
        async function build(extra: { externalEgressPorts?: number[]; deleteTimeoutSeconds?: number; operatorGroup?: string } = {}) {
            const mocks = await useMocks(preview);
            const timeouts: Record<string, pulumi.CustomTimeouts | undefined> = {};
            const deletedWith: Record<string, pulumi.Resource | undefined> = {};
            const record: pulumi.ResourceTransformation = ({ name, opts }) => {
                timeouts[name] = opts.customTimeouts;
                deletedWith[name] = opts.deletedWith;
                return undefined;
            };
            const ns = new BranchNamespace("ns", { name: "pm-feature-login", context: CONTEXT, stack: "dev", ...extra }, { transformations: [record] });
            await settle(mocks);
            return { mocks, ns, timeouts, deletedWith };
        }

        it("leaves every object in the namespace to the namespace's deletion, and deletes the namespace itself", async () => {
            const { ns, deletedWith } = await build({ externalEgressPorts: [443] });
            const children = Object.keys(deletedWith).filter((name) => name !== "ns" && name !== "ns-namespace").sort();
            assert.deepStrictEqual(children, ["ns-allow-dns", "ns-allow-external", "ns-allow-same-namespace", "ns-default-deny", "ns-limits", "ns-quota"]);
            for (const name of children) {
                assert.strictEqual(deletedWith[name], ns.namespace, name);
            }
            assert.strictEqual(deletedWith["ns-namespace"], undefined);
        });

        it("binds the operator group to prod-mirror:mirror-admin in the namespace, deleted with it, before the quota goes in", async () => {
            const { mocks, ns, deletedWith } = await build({ operatorGroup: "team:ci" });
            const binding = mocks.one("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "ns-operators").inputs;
            assert.strictEqual(binding.metadata.namespace, "pm-feature-login");
            assert.deepStrictEqual(binding.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "prod-mirror:mirror-admin" });
            assert.deepStrictEqual(binding.subjects, [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "team:ci" }]);
            assert.strictEqual(deletedWith["ns-operators"], ns.namespace);
            // The quota takes `name`, which carries the binding: the engine creates it after.
            const deps = await (ns.name as any).allResources();
            assert.deepStrictEqual([...deps].map((r: any) => r.__name).sort(), ["ns-namespace", "ns-operators"]);
            assert.strictEqual((ns.ready as any).__name, "ns-operators");
        });

        it("makes no RoleBinding without an operator group", async () => {
            const { mocks, ns } = await build();
            assert.strictEqual(mocks.ofType("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").length, 0);
            assert.strictEqual(ns.ready, ns.namespace);
        });

        it("gives the namespace two minutes to delete by default, so a stuck finalizer cannot hold a destroy for Pulumi's ten", async () => {
            const { timeouts } = await build();
            assert.deepStrictEqual(timeouts["ns-namespace"], { delete: "120s" });
        });

        it("gives the namespace the delete timeout it is told", async () => {
            const { timeouts } = await build({ deleteTimeoutSeconds: 45 });
            assert.deepStrictEqual(timeouts["ns-namespace"], { delete: "45s" });
        });
        // Built afresh by each test: a mutation run credits a construction to the one test that ran it, so a
        // construction shared by several tests would be checked by the first of them only.
        const create = () => build();

        it("labels the namespace with branch, commit, owner, expiry and managed-by, and keeps exact values in annotations", async () => {
            const { mocks, ns } = await create();
            const { metadata } = mocks.one("kubernetes:core/v1:Namespace", "ns-namespace").inputs;
            assert.strictEqual(metadata.name, "pm-feature-login");
            assert.strictEqual(await valueOf(ns.name), "pm-feature-login");
            assert.deepStrictEqual(
                {
                    branch: metadata.labels["prod-mirror.dev/branch"],
                    commit: metadata.labels["prod-mirror.dev/commit"],
                    expires: metadata.labels["prod-mirror.dev/expires-at"],
                    managedBy: metadata.labels["app.kubernetes.io/managed-by"],
                    installation: metadata.labels["prod-mirror.dev/installation"],
                },
                { branch: "feature-Login-Flow-" + metadata.labels["prod-mirror.dev/branch"].slice(-8), commit: CONTEXT.commit, expires: "20261128T060000Z", managedBy: "prod-mirror", installation: "default" },
            );
            assert.match(metadata.labels["prod-mirror.dev/owner"], /^[A-Za-z0-9._-]{1,63}$/);
            for (const value of Object.values(metadata.labels) as string[]) {
                assert.match(value, /^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/, `label value ${value}`);
            }
            assert.deepStrictEqual(metadata.annotations, {
                "prod-mirror.dev/branch": "feature/Login-Flow",
                "prod-mirror.dev/commit": CONTEXT.commit,
                "prod-mirror.dev/owner": "Jane Doe <jane@example.com>",
                "prod-mirror.dev/expires-at": "2026-11-28T06:00:00.000Z",
                "prod-mirror.dev/stack": "dev",
            });
        });

        it("enforces Pod Security `restricted`", async () => {
            const { mocks } = await create();
            const { labels } = mocks.one("kubernetes:core/v1:Namespace", "ns-namespace").inputs.metadata;
            assert.strictEqual(labels["pod-security.kubernetes.io/enforce"], "restricted");
            assert.strictEqual(labels["pod-security.kubernetes.io/enforce-version"], "latest");
        });

        it("sets a ResourceQuota and a LimitRange from the defaults, in the namespace", async () => {
            const { mocks } = await create();
            const quota = mocks.one("kubernetes:core/v1:ResourceQuota", "ns-quota").inputs;
            assert.strictEqual(quota.metadata.namespace, "pm-feature-login");
            // The documented defaults (README, configuration reference), as literals.
            assert.deepStrictEqual(quota.spec.hard, { "requests.cpu": "4", "requests.memory": "8Gi", "limits.cpu": "8", "limits.memory": "16Gi", pods: "50" });
            // Created, not awaited: admission holds pods back until the quota is counted.
            assert.strictEqual(quota.metadata.annotations["pulumi.com/skipAwait"], "true");
            const [limit] = mocks.one("kubernetes:core/v1:LimitRange", "ns-limits").inputs.spec.limits;
            assert.deepStrictEqual(limit, {
                type: "Container",
                defaultRequest: { cpu: "50m", memory: "64Mi" },
                default: { cpu: "500m", memory: "256Mi" },
            });
        });

        it("denies all traffic by default and allows only the namespace itself and DNS", async () => {
            const { mocks } = await create();
            assert.deepStrictEqual(mocks.ofType(POLICY).map((p) => p.name).sort(), ["ns-allow-dns", "ns-allow-same-namespace", "ns-default-deny"]);
            assert.deepStrictEqual(mocks.one(POLICY, "ns-default-deny").inputs.spec, { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
            const same = mocks.one(POLICY, "ns-allow-same-namespace").inputs.spec;
            assert.deepStrictEqual([same.policyTypes, same.ingress, same.egress], [["Ingress", "Egress"], [{ from: [{ podSelector: {} }] }], [{ to: [{ podSelector: {} }] }]]);
            assert.deepStrictEqual(mocks.one(POLICY, "ns-allow-dns").inputs.spec.policyTypes, ["Egress"]);
            assert.deepStrictEqual(mocks.one(POLICY, "ns-allow-dns").inputs.spec.egress, [{ ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] }]);
        });

        it("opens external egress only on the ports asked for", async () => {
            const { mocks } = await build({ externalEgressPorts: [443, 4566] });
            assert.deepStrictEqual(mocks.one(POLICY, "ns-allow-external").inputs.spec.policyTypes, ["Egress"], "an egress-only policy must not also isolate ingress");
            const egress = mocks.one(POLICY, "ns-allow-external").inputs.spec.egress;
            assert.deepStrictEqual(egress, [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 443 }, { protocol: "TCP", port: 4566 }] }]);
        });
    });
});

describe("deletedWithNamespace", () => {
    const namespace = new pulumi.DependencyResource("urn:pulumi:dev::prod-mirror::kubernetes:core/v1:Namespace::ns");
    const transform = deletedWithNamespace(namespace);
    const run = (type: string, props: pulumi.Inputs) => transform({ custom: true, type, name: "x", props, opts: { protect: false } });

    it("hands a namespaced Kubernetes object's deletion to its namespace and keeps its other options", () => {
        const props = { metadata: { name: "api", namespace: "pm-feature-login" } };
        assert.deepStrictEqual(run("kubernetes:apps/v1:Deployment", props), { props, opts: { protect: false, deletedWith: namespace } });
    });

    it("leaves cluster-scoped objects, components and cloud resources to be deleted one by one", () => {
        assert.strictEqual(run("kubernetes:scheduling.k8s.io/v1:PriorityClass", { metadata: { name: "deals-critical" } }), undefined);
        assert.strictEqual(run("kubernetes:yaml:ConfigGroup", { objs: [] }), undefined);
        assert.strictEqual(run("aws:sqs/queue:Queue", { name: "pm-x-deals", metadata: { namespace: "pm-feature-login" } }), undefined);
        assert.strictEqual(run("pulumi:providers:kubernetes", {}), undefined);
    });
});
