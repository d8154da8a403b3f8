import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_READINESS_PATH, DEFAULT_REPLICAS, portProblem, type ResourceRequirements } from "./app-spec";
import { DEFAULT_CLUSTER_DOMAIN } from "./naming";
import { containerResources, KEYS, restrictedContainerSecurity, restrictedPodSecurity, TMP_MOUNT, TMP_VOLUME } from "./manifests";

export interface MirrorServiceArgs {
    namespace: pulumi.Input<string>;
    /** The service's name: the Kubernetes Service (and so its DNS name) and the Deployment. */
    serviceName: string;
    image: pulumi.Input<string>;
    /** Container and Service port; also passed as PORT. */
    port: number;
    /** Default: DEFAULT_REPLICAS (1). */
    replicas?: number;
    /** Default: none (the namespace's LimitRange applies). */
    resources?: ResourceRequirements;
    /** HTTP readiness probe path. Default: DEFAULT_READINESS_PATH (`/healthz`). */
    readinessPath?: string;
    /** Environment, in order: wired variables first, then the service's own. */
    env?: k8s.types.input.core.v1.EnvVar[];
    serviceAccountName: pulumi.Input<string>;
    imagePullSecretName: pulumi.Input<string>;
    /** Labels for every object. Default: none. */
    labels?: Record<string, string>;
    /** Cluster DNS domain, for `url`. Default: `cluster.local`. */
    clusterDomain?: string;
    /** Default: create/update 10m, delete 5m. */
    customTimeouts?: pulumi.CustomTimeouts;
}

export const DEFAULT_TIMEOUTS: pulumi.CustomTimeouts = { create: "10m", update: "10m", delete: "5m" };

/**
 * One service of the application: a Deployment running as the registry-bound ServiceAccount under
 * the restricted security settings, with a readiness probe, and a ClusterIP Service in front.
 */
export class MirrorService extends pulumi.ComponentResource {
    public readonly deployment: k8s.apps.v1.Deployment;
    public readonly service: k8s.core.v1.Service;
    /** `http://<service>.<namespace>.svc.<domain>:<port>`. */
    public readonly url: pulumi.Output<string>;

    constructor(name: string, args: MirrorServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        const problem = portProblem(args.port);
        if (problem !== undefined) {
            throw new Error(`MirrorService ${name}: port ${args.port}: ${problem}`);
        }
        super("prod-mirror:app:MirrorService", name, {}, opts);
        const replicas = args.replicas ?? DEFAULT_REPLICAS;
        const readinessPath = args.readinessPath ?? DEFAULT_READINESS_PATH;
        const labels = args.labels ?? {};
        const clusterDomain = args.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
        const timeouts = args.customTimeouts ?? DEFAULT_TIMEOUTS;
        const selector = { [KEYS.name]: args.serviceName, [KEYS.service]: args.serviceName };
        const podLabels = { ...labels, ...selector };

        // Physical names: the Service's is its DNS name, which other services are wired to; the
        // Deployment shares it so `kubectl logs deploy/<service>` works for whoever debugs a branch.
        this.deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: { name: args.serviceName, namespace: args.namespace, labels: podLabels },
                spec: {
                    replicas,
                    selector: { matchLabels: selector },
                    template: {
                        metadata: { labels: podLabels },
                        spec: {
                            serviceAccountName: args.serviceAccountName,
                            // Also listed on the ServiceAccount; naming it here keeps the pod spec
                            // self-sufficient if the ServiceAccount is edited by hand.
                            imagePullSecrets: [{ name: args.imagePullSecretName }],
                            automountServiceAccountToken: false,
                            securityContext: restrictedPodSecurity(),
                            volumes: [TMP_VOLUME],
                            containers: [
                                {
                                    name: args.serviceName,
                                    image: args.image,
                                    // Every pod start goes to the registry with the pull secret: a re-pushed tag (the emulator's
                                    // version tag, a rebuilt branch image) is picked up, and the credential is exercised.
                                    imagePullPolicy: "Always",
                                    ports: [{ name: "http", containerPort: args.port }],
                                    env: [
                                        { name: "PORT", value: String(args.port) },
                                        { name: "HOME", value: "/tmp" },
                                        ...(args.env ?? []),
                                    ],
                                    readinessProbe: {
                                        httpGet: { path: readinessPath, port: args.port },
                                        periodSeconds: 3,
                                        failureThreshold: 3,
                                    },
                                    resources: containerResources(args.resources),
                                    securityContext: restrictedContainerSecurity(),
                                    volumeMounts: [TMP_MOUNT],
                                },
                            ],
                        },
                    },
                },
            },
            { parent: this, customTimeouts: timeouts },
        );
        this.service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { name: args.serviceName, namespace: args.namespace, labels: podLabels },
                spec: { selector, ports: [{ name: "http", port: args.port, targetPort: args.port }] },
            },
            { parent: this, customTimeouts: timeouts },
        );
        this.url = pulumi.interpolate`http://${this.service.metadata.name}.${this.service.metadata.namespace}.svc.${clusterDomain}:${args.port}`;

        this.registerOutputs({ url: this.url });
    }
}
