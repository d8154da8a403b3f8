import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { MirrorService, RUN_AS } from "../../components";
import { inBothModes, settle, useMocks, valueOf } from "./mocks";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

describe("MirrorService", () => {
    inBothModes((preview) => {
        // Built afresh by each test: a mutation run credits a construction to the one test that ran it, so a
        // construction shared by several tests would be checked by the first of them only.
        const create = async () => {
            const mocks = await useMocks(preview);
            const timeouts: Record<string, pulumi.CustomTimeouts | undefined> = {};
            // A legacy transformation on the component sees each child's options, customTimeouts included.
            const record: pulumi.ResourceTransformation = ({ name, opts }) => {
                timeouts[name] = opts.customTimeouts;
                return undefined;
            };
            const svc = new MirrorService(
                "api",
                {
                    namespace: "pm-main",
                    serviceName: "api",
                    image: "r/api@sha256:abc",
                    port: 8080,
                    replicas: 3,
                    resources: { requests: { cpu: "100m" }, limits: { memory: "256Mi" } },
                    readinessPath: "/ready",
                    env: [{ name: "DEALS_TABLE", value: "pm-main-x-deals" }],
                    serviceAccountName: "workloads",
                    imagePullSecretName: "pull",
                    labels: { "app.kubernetes.io/managed-by": "prod-mirror" },
                },
                { transformations: [record] },
            );
            await settle(mocks);
            const deployment = mocks.one(DEPLOYMENT, "api-deployment").inputs;
            return { mocks, svc, deployment, pod: deployment.spec.template.spec, timeouts };
        };

        it("runs the image with the mirror's replicas, resources, port and readiness probe", async () => {
            const { deployment, pod } = await create();
            const [container] = pod.containers;
            assert.strictEqual(deployment.metadata.name, "api");
            assert.strictEqual(deployment.spec.replicas, 3);
            assert.strictEqual(container.image, "r/api@sha256:abc");
            assert.deepStrictEqual(container.resources, { requests: { cpu: "100m" }, limits: { memory: "256Mi" } });
            assert.deepStrictEqual(container.readinessProbe.httpGet, { path: "/ready", port: 8080 });
            assert.deepStrictEqual(container.env.slice(0, 3), [{ name: "PORT", value: "8080" }, { name: "HOME", value: "/tmp" }, { name: "DEALS_TABLE", value: "pm-main-x-deals" }]);
        });

        it("passes Pod Security `restricted`: non-root numeric user, no escalation, ALL dropped, RuntimeDefault", async () => {
            const { pod } = await create();
            assert.deepStrictEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: RUN_AS, runAsGroup: RUN_AS, fsGroup: RUN_AS, seccompProfile: { type: "RuntimeDefault" } });
            const sc = pod.containers[0].securityContext;
            assert.strictEqual(sc.allowPrivilegeEscalation, false);
            assert.deepStrictEqual(sc.capabilities, { drop: ["ALL"] });
            assert.deepStrictEqual(sc.seccompProfile, { type: "RuntimeDefault" });
            assert.strictEqual(sc.runAsNonRoot, true);
            assert.strictEqual(pod.automountServiceAccountToken, false);
        });

        it("runs as the registry-bound ServiceAccount and names the pull secret", async () => {
            const { pod } = await create();
            assert.strictEqual(pod.serviceAccountName, "workloads");
            assert.deepStrictEqual(pod.imagePullSecrets, [{ name: "pull" }]);
            // Every start pulls with the secret, so a re-pushed tag is picked up.
            assert.deepStrictEqual(pod.containers.map((c: any) => c.imagePullPolicy), ["Always"]);
        });

        it("fronts the pods with a Service whose selector matches them, and exports its in-cluster URL", async () => {
            const { mocks, svc, deployment } = await create();
            const service = mocks.one("kubernetes:core/v1:Service", "api-service").inputs;
            assert.deepStrictEqual(service.spec.selector, deployment.spec.selector.matchLabels);
            for (const [k, v] of Object.entries(service.spec.selector)) {
                assert.strictEqual(deployment.spec.template.metadata.labels[k], v);
            }
            assert.deepStrictEqual(service.spec.ports, [{ name: "http", port: 8080, targetPort: 8080 }]);
            assert.strictEqual(await valueOf(svc.url), "http://api.pm-main.svc.cluster.local:8080");
        });

        it("gives the Deployment and Service explicit custom timeouts", async () => {
            const { timeouts } = await create();
            assert.deepStrictEqual(timeouts["api-deployment"], { create: "10m", update: "10m", delete: "5m" });
            assert.deepStrictEqual(timeouts["api-service"], { create: "10m", update: "10m", delete: "5m" });
        });
    });

    describe("defaults", () => {
        async function build(extra: { clusterDomain?: string; customTimeouts?: pulumi.CustomTimeouts } = {}) {
            const mocks = await useMocks(false);
            const timeouts: Record<string, pulumi.CustomTimeouts | undefined> = {};
            const record: pulumi.ResourceTransformation = ({ name, opts }) => {
                timeouts[name] = opts.customTimeouts;
                return undefined;
            };
            const args = { namespace: "pm-main", serviceName: "web", image: "r/web:1", port: 9090, serviceAccountName: "workloads", imagePullSecretName: "pull", ...extra };
            const svc = new MirrorService("web", args, { transformations: [record] });
            await settle(mocks);
            return { mocks, svc, timeouts, deployment: mocks.one(DEPLOYMENT, "web-deployment").inputs, service: mocks.one("kubernetes:core/v1:Service", "web-service").inputs };
        }

        it("without options: one replica, /healthz, only PORT and HOME, cluster.local, 10m/10m/5m timeouts", async () => {
            const { svc, timeouts, deployment, service } = await build();
            const pod = deployment.spec.template.spec;
            const [container] = pod.containers;
            assert.strictEqual(deployment.spec.replicas, 1);
            assert.deepStrictEqual(container.readinessProbe.httpGet, { path: "/healthz", port: 9090 });
            assert.deepStrictEqual(container.env, [{ name: "PORT", value: "9090" }, { name: "HOME", value: "/tmp" }]);
            assert.deepStrictEqual(container.ports, [{ name: "http", containerPort: 9090 }]);
            assert.deepStrictEqual(pod.imagePullSecrets, [{ name: "pull" }]);
            assert.deepStrictEqual([pod.volumes, container.volumeMounts], [[{ name: "tmp", emptyDir: { sizeLimit: "256Mi" } }], [{ name: "tmp", mountPath: "/tmp" }]]);
            const selector = { "app.kubernetes.io/name": "web", "prod-mirror.dev/service": "web" };
            assert.deepStrictEqual([deployment.spec.selector.matchLabels, service.spec.selector], [selector, selector]);
            assert.deepStrictEqual(service.spec.ports, [{ name: "http", port: 9090, targetPort: 9090 }]);
            assert.strictEqual(await valueOf(svc.url), "http://web.pm-main.svc.cluster.local:9090");
            assert.deepStrictEqual([timeouts["web-deployment"], timeouts["web-service"]], [{ create: "10m", update: "10m", delete: "5m" }, { create: "10m", update: "10m", delete: "5m" }]);
        });

        it("takes the cluster domain and timeouts it is given instead", async () => {
            const { svc, timeouts } = await build({ clusterDomain: "corp.internal", customTimeouts: { create: "1m" } });
            assert.strictEqual(await valueOf(svc.url), "http://web.pm-main.svc.corp.internal:9090");
            assert.deepStrictEqual([timeouts["web-deployment"], timeouts["web-service"]], [{ create: "1m" }, { create: "1m" }]);
        });
    });

    it("refuses a port below 1024 before declaring anything: its non-root pod could not bind it", async () => {
        const mocks = await useMocks(false);
        const args = { namespace: "pm-main", serviceName: "web", image: "r/web", port: 80, serviceAccountName: "workloads", imagePullSecretName: "pull" };
        assert.throws(() => new MirrorService("web", args), {
            message:
                "MirrorService web: port 80: expected a port from 1024 to 65535: the mirror's pods run as non-root (uid 65532) with no capabilities " +
                "and cannot bind ports below 1024; make the service listen on a higher port (it gets it as PORT)",
        });
        await settle(mocks);
        assert.deepStrictEqual(mocks.registrations, []);
    });
});
