import * as assert from "assert";
import { generateProduction, generateService, productionCloudNames, RUN_AS } from "../../components";
import { sampleApp } from "./fixtures";

describe("generate: the services description as production's objects", () => {
    it("names production's cloud resources by their declared names unless the description says otherwise", () => {
        const cloud = sampleApp().cloud;
        assert.deepStrictEqual(productionCloudNames(cloud), {
            queues: { "deal-events": { url: "https://sqs.us-east-1.amazonaws.com/123456789012/deal-events", name: "deal-events" } },
            buckets: { receipts: "receipts" },
            tables: { deals: "deals" },
        });
        cloud.queues[0].production = { url: "https://sqs.eu-west-1.amazonaws.com/210987654321/deals-q" };
        cloud.buckets[0].production = "acme-receipts";
        cloud.tables[0].production = "acme-deals";
        assert.deepStrictEqual(productionCloudNames(cloud), {
            queues: { "deal-events": { url: "https://sqs.eu-west-1.amazonaws.com/210987654321/deals-q", name: "deal-events" } },
            buckets: { receipts: "acme-receipts" },
            tables: { deals: "acme-deals" },
        });
        cloud.queues[0].production = { name: "deals-q" };
        assert.deepStrictEqual(productionCloudNames(cloud).queues, {
            "deal-events": { url: "https://sqs.us-east-1.amazonaws.com/123456789012/deals-q", name: "deals-q" },
        });
    });

    it("gives a service a Deployment and a Service, with production's names in its env and its own image name", () => {
        const app = sampleApp();
        const [deployment, service] = generateService(app.services[0], app, productionCloudNames(app.cloud));
        const selector = { "app.kubernetes.io/name": "api", "prod-mirror.dev/service": "api" };
        assert.deepStrictEqual(deployment, {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "api", labels: selector },
            spec: {
                replicas: 1,
                selector: { matchLabels: selector },
                template: {
                    metadata: { labels: selector },
                    spec: {
                        automountServiceAccountToken: false,
                        securityContext: { runAsNonRoot: true, runAsUser: RUN_AS, runAsGroup: RUN_AS, fsGroup: RUN_AS, seccompProfile: { type: "RuntimeDefault" } },
                        volumes: [{ name: "tmp", emptyDir: { sizeLimit: "256Mi" } }],
                        containers: [
                            {
                                name: "api",
                                image: "api",
                                imagePullPolicy: "Always",
                                ports: [{ name: "http", containerPort: 8080 }],
                                env: [
                                    { name: "PORT", value: "8080" },
                                    { name: "HOME", value: "/tmp" },
                                    { name: "DEAL_EVENTS_QUEUE_URL", value: "https://sqs.us-east-1.amazonaws.com/123456789012/deal-events" },
                                    { name: "DEAL_EVENTS_QUEUE_NAME", value: "deal-events" },
                                    { name: "DEALS_TABLE", value: "deals" },
                                ],
                                readinessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 3, failureThreshold: 3 },
                                securityContext: {
                                    runAsNonRoot: true,
                                    runAsUser: RUN_AS,
                                    runAsGroup: RUN_AS,
                                    allowPrivilegeEscalation: false,
                                    readOnlyRootFilesystem: true,
                                    capabilities: { drop: ["ALL"] },
                                    seccompProfile: { type: "RuntimeDefault" },
                                },
                                volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                            },
                        ],
                    },
                },
            },
        });
        assert.deepStrictEqual(service, {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: "api", labels: selector },
            spec: { selector, ports: [{ name: "http", port: 8080, targetPort: 8080 }] },
        });
    });

    it("wires other services by their in-namespace URL, then the service's own env, and carries replicas and resources", () => {
        const app = sampleApp();
        app.services[2].resources = { limits: { cpu: "250m" } };
        const [deployment] = generateService(app.services[2], app, productionCloudNames(app.cloud));
        const spec = deployment.spec as any;
        assert.strictEqual(spec.replicas, 2);
        assert.deepStrictEqual(spec.template.spec.containers[0].env, [
            { name: "PORT", value: "8000" },
            { name: "HOME", value: "/tmp" },
            { name: "API_URL", value: "http://api:8080" },
            { name: "WORKER_URL", value: "http://worker:8081" },
            { name: "LOG_LEVEL", value: "debug" },
        ]);
        assert.deepStrictEqual(spec.template.spec.containers[0].resources, { limits: { cpu: "250m" } });
    });

    it("generates every service in the description's order, and never shares nested objects between them", () => {
        const objects = generateProduction(sampleApp());
        assert.deepStrictEqual(
            objects.map((o) => `${o.kind}/${o.metadata.name}`),
            ["Deployment/api", "Service/api", "Deployment/worker", "Service/worker", "Deployment/gateway", "Service/gateway"],
        );
        const volumes = (o: any): unknown => o.spec.template.spec.volumes[0];
        assert.notStrictEqual(volumes(objects[0]), volumes(objects[2]));
        (volumes(objects[0]) as any).emptyDir.sizeLimit = "1Gi";
        assert.strictEqual((volumes(objects[2]) as any).emptyDir.sizeLimit, "256Mi");
    });
});
