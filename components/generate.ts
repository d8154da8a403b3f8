// The short `services` description, turned into the objects production would run. A description
// without a `deployment` source is a generator, not a second deployment model: its output goes
// through the same rewrite and the same apply as a team's own manifests, so both kinds of mirror
// are made and reported the same way. Pure: the tests compare its output literally.
import type { AppSpec, CloudSpec, ServiceSpec } from "./app-spec";
import { bucketVar, queueNameVar, queueUrlVar, serviceUrlVar, tableVar } from "./env-contract";
import type { KubeObject } from "./kube-object";
import { namespaceLocalUrl } from "./naming";
import { containerResources, KEYS, restrictedContainerSecurity, restrictedPodSecurity, TMP_MOUNT, TMP_VOLUME } from "./manifests";

/**
 * The names production gives the declared cloud resources, keyed by declared name. A description
 * that does not say (`production:` absent) means production uses the declared name itself; a queue's
 * URL is then the one real SQS would give it in GENERATED_PRODUCTION_REGION and account.
 */
export interface ProductionCloudNames {
    queues: Record<string, { url: string; name: string }>;
    buckets: Record<string, string>;
    tables: Record<string, string>;
}

export const GENERATED_PRODUCTION_REGION = "us-east-1";
/** AWS's documentation account: a queue URL that names no real account. */
export const GENERATED_PRODUCTION_ACCOUNT = "123456789012";

export function productionCloudNames(cloud: CloudSpec): ProductionCloudNames {
    return {
        queues: Object.fromEntries(
            cloud.queues.map((q) => {
                const name = q.production?.name ?? q.name;
                const url = q.production?.url ?? `https://sqs.${GENERATED_PRODUCTION_REGION}.amazonaws.com/${GENERATED_PRODUCTION_ACCOUNT}/${name}`;
                return [q.name, { url, name }];
            }),
        ),
        buckets: Object.fromEntries(cloud.buckets.map((b) => [b.name, b.production ?? b.name])),
        tables: Object.fromEntries(cloud.tables.map((t) => [t.name, t.production ?? t.name])),
    };
}

/** The image a generated Deployment names: the bare service name, which the mirror's image rule maps. */
export function generatedImage(service: string): string {
    return service;
}

function serviceEnv(service: ServiceSpec, app: AppSpec, names: ProductionCloudNames): { name: string; value: string }[] {
    const port = (other: string): number => (app.services.find((s) => s.name === other) as ServiceSpec).port;
    return [
        { name: "PORT", value: String(service.port) },
        { name: "HOME", value: "/tmp" },
        ...service.uses.queues.flatMap((q) => [
            { name: queueUrlVar(q), value: names.queues[q].url },
            { name: queueNameVar(q), value: names.queues[q].name },
        ]),
        ...service.uses.buckets.map((b) => ({ name: bucketVar(b), value: names.buckets[b] })),
        ...service.uses.tables.map((t) => ({ name: tableVar(t), value: names.tables[t] })),
        ...service.uses.services.map((other) => ({ name: serviceUrlVar(other), value: namespaceLocalUrl(other, port(other)) })),
        ...Object.entries(service.env).map(([name, value]) => ({ name, value })),
    ];
}

/** A Deployment under the restricted security settings with a readiness probe, and its ClusterIP Service. */
export function generateService(service: ServiceSpec, app: AppSpec, names: ProductionCloudNames): KubeObject[] {
    const selector = { [KEYS.name]: service.name, [KEYS.service]: service.name };
    const resources = containerResources(service.resources);
    const deployment: KubeObject = {
        apiVersion: "apps/v1",
        kind: "Deployment",
        // The Deployment shares the Service's name so `kubectl logs deploy/<service>` works for whoever debugs a branch.
        metadata: { name: service.name, labels: { ...selector } },
        spec: {
            replicas: service.replicas,
            selector: { matchLabels: { ...selector } },
            template: {
                metadata: { labels: { ...selector } },
                spec: {
                    // The workloads never talk to the Kubernetes API.
                    automountServiceAccountToken: false,
                    securityContext: restrictedPodSecurity(),
                    volumes: [{ ...TMP_VOLUME, emptyDir: { ...TMP_VOLUME.emptyDir } }],
                    containers: [
                        {
                            name: service.name,
                            image: generatedImage(service.name),
                            // Every pod start goes to the registry with the pull secret: a re-pushed tag
                            // is picked up, and the credential is exercised.
                            imagePullPolicy: "Always",
                            ports: [{ name: "http", containerPort: service.port }],
                            env: serviceEnv(service, app, names),
                            readinessProbe: { httpGet: { path: service.readinessPath, port: service.port }, periodSeconds: 3, failureThreshold: 3 },
                            ...(resources === undefined ? {} : { resources }),
                            securityContext: restrictedContainerSecurity(),
                            volumeMounts: [{ ...TMP_MOUNT }],
                        },
                    ],
                },
            },
        },
    };
    const svc: KubeObject = {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: service.name, labels: { ...selector } },
        spec: { selector: { ...selector }, ports: [{ name: "http", port: service.port, targetPort: service.port }] },
    };
    return [deployment, svc];
}

/** Every service's objects, in the description's order. */
export function generateProduction(app: AppSpec): KubeObject[] {
    const names = productionCloudNames(app.cloud);
    return app.services.flatMap((service) => generateService(service, app, names));
}
