import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AppImage } from "./app-image";
import { workloadServiceAccountAnnotations, type AwsCloudSettings } from "./aws-cloud-resources";
import { mirrorKey, type BranchContext } from "./branch-context";
import { BranchNamespace } from "./branch-namespace";
import { cloudEnv, cloudNames, CloudResources, CloudSettings, createCloudResources } from "./cloud-resources";
import { appProblems, DEFAULT_INSTALLATION, DEFAULT_NAME_PREFIX, type AppSpec, type ContainerDefaults, type ImageBuilder, type QuotaSpec, type ServiceOverride, type ServiceSpec } from "./app-spec";
import { awsTags, commonLabels } from "./manifests";
import { MirrorService } from "./mirror-service";
import { bucketVar, queueNameVar, queueUrlVar, serviceUrlVar, tableVar } from "./env-contract";
import { DEFAULT_CLUSTER_DOMAIN, imageTag, namespaceName } from "./naming";
import { RegistrySecret } from "./registry-secret";

/** The cloud settings as the caller gives them; the mirror adds what it owns (pull secret, account). */
export type MirrorCloudSettings = { region: string } & (({ mode: "aws" } & AwsCloudSettings) | { mode: "emulated"; image: string });

export interface ProductionMirrorArgs {
    context: BranchContext;
    /** The Pulumi stack, for labels, annotations and tags. */
    stack: string;
    /** The production description. */
    app: AppSpec;
    /** Per-service replicas/resources for the mirror. Default: none. */
    overrides?: Record<string, ServiceOverride>;
    registry: { server: string; username: pulumi.Input<string>; password: pulumi.Input<string> };
    /** Repository path for built images. Default: `prod-mirror`. */
    imageRepository?: string;
    /**
     * Who builds the services' `build` sections: `docker` (here, with @pulumi/docker) or `external`
     * (already pushed under builtImageName; deployed by tag). Default: `docker`.
     */
    imageBuilder?: ImageBuilder;
    cloud: MirrorCloudSettings;
    /** Prefix of the namespace and cloud names. Default: DEFAULT_NAME_PREFIX (`pm`). */
    namePrefix?: string;
    /**
     * The installation every object (label) and AWS resource (tag) is marked with: `reap` removes
     * leftovers only of its own installation. Default: DEFAULT_INSTALLATION.
     */
    installation?: string;
    /** Default: `cluster.local`. */
    clusterDomain?: string;
    /** Default: DEFAULT_QUOTA. */
    quota?: QuotaSpec;
    /** Default: DEFAULT_CONTAINER_DEFAULTS. */
    containerDefaults?: ContainerDefaults;
}

/** What a test runner needs about one cloud mode's resources. */
export interface CloudSummary {
    mode: string;
    region: string;
    endpoint?: string;
    queues: Record<string, { name: string; url: string }>;
    buckets: Record<string, { name: string }>;
    tables: Record<string, { name: string }>;
}

/** The in-cluster URL of a service, computed from names alone so services may use each other freely. */
export function serviceUrl(service: string, namespace: string, port: number, clusterDomain: string): string {
    return `http://${service}.${namespace}.svc.${clusterDomain}:${port}`;
}

/** The mirror's view of a service: production's description with the mirror's overrides applied. */
export function applyOverride(service: ServiceSpec, override: ServiceOverride | undefined): ServiceSpec {
    return {
        ...service,
        replicas: override?.replicas ?? service.replicas,
        resources: override?.resources ?? service.resources,
    };
}

/** TCP ports pods must reach outside the cluster: none when emulated, 443 and a custom endpoint's port for aws. */
export function externalEgressPorts(cloud: ProductionMirrorArgs["cloud"]): number[] {
    if (cloud.mode === "emulated") {
        return [];
    }
    const ports = new Set<number>([443]);
    const endpoint = cloud.workloadEndpoint ?? cloud.endpoint;
    if (endpoint !== undefined) {
        const parsed = new URL(endpoint);
        ports.add(parsed.port ? Number(parsed.port) : parsed.protocol === "https:" ? 443 : 80);
    }
    return [...ports].sort((a, b) => a - b);
}

/**
 * Why `app` cannot be mirrored, or undefined: the first of app-spec's appProblems, the very rules
 * parseApp applies, worded for a program that builds the description itself.
 */
export function appProblem(app: AppSpec): string | undefined {
    return appProblems(app)[0]?.message;
}

/**
 * A full production mirror for one branch: its namespace, the registry pull secret and the account
 * the workloads run as, the images, the cloud resources in the stack's mode, and every service
 * wired to them.
 */
export class ProductionMirror extends pulumi.ComponentResource {
    public readonly namespace: pulumi.Output<string>;
    /** In-cluster URL per service. */
    public readonly serviceUrls: pulumi.Output<Record<string, string>>;
    /** Image reference per service. */
    public readonly images: pulumi.Output<Record<string, string>>;
    public readonly cloud: pulumi.Output<CloudSummary>;
    public readonly expiresAt: pulumi.Output<string>;
    /** What a test runner exports: PROD_MIRROR_NAMESPACE, `<SERVICE>_URL`, and every cloud variable. */
    public readonly runnerEnv: pulumi.Output<Record<string, string>>;
    public readonly cloudResources: CloudResources;

    constructor(name: string, args: ProductionMirrorArgs, opts?: pulumi.ComponentResourceOptions) {
        // Checked before super(), so that a bad description declares nothing, not even this component.
        const problem = appProblem(args.app);
        if (problem !== undefined) {
            throw new Error(`ProductionMirror ${name}: ${problem}`);
        }
        super("prod-mirror:mirror:ProductionMirror", name, {}, opts);
        const prefix = args.namePrefix ?? DEFAULT_NAME_PREFIX;
        const installation = args.installation ?? DEFAULT_INSTALLATION;
        const clusterDomain = args.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
        const overrides = args.overrides ?? {};
        const { context } = args;
        const labels = commonLabels(context, args.stack, installation);
        // Names come from the mirror's key (the pull request's, when there is one), never the bare branch.
        const key = mirrorKey(context.branch, context.pullRequest);
        const nsName = namespaceName(key, prefix);
        const tag = imageTag(key, context.commit);
        const child = { parent: this };

        const ns = new BranchNamespace(
            `${name}-ns`,
            {
                name: nsName,
                context,
                stack: args.stack,
                installation,
                quota: args.quota,
                containerDefaults: args.containerDefaults,
                externalEgressPorts: externalEgressPorts(args.cloud),
            },
            child,
        );
        this.namespace = ns.name;

        const registry = new RegistrySecret(
            `${name}-registry`,
            {
                namespace: ns.name,
                server: args.registry.server,
                username: args.registry.username,
                password: args.registry.password,
                labels,
                serviceAccountAnnotations: args.cloud.mode === "aws" ? workloadServiceAccountAnnotations(args.cloud) : undefined,
            },
            child,
        );

        const common = { spec: args.app.cloud, names: cloudNames(args.app.cloud, prefix, key), tags: awsTags(context, args.stack, installation), region: args.cloud.region, namespace: ns.name, labels };
        const settings: CloudSettings =
            args.cloud.mode === "aws"
                ? args.cloud
                : { mode: "emulated", image: args.cloud.image, serviceAccountName: registry.serviceAccountName, imagePullSecretName: registry.secretName, clusterDomain };
        this.cloudResources = createCloudResources(`${name}-cloud`, common, settings, child);
        const cloud = this.cloudResources;

        const urls: Record<string, pulumi.Output<string>> = {};
        const images: Record<string, pulumi.Output<string>> = {};
        for (const declared of args.app.services) {
            const service = applyOverride(declared, overrides[declared.name]);
            const image = new AppImage(
                `${name}-${service.name}`,
                {
                    service: service.name,
                    tag,
                    build: service.build,
                    image: service.image,
                    registry: args.registry,
                    repository: args.imageRepository,
                    builder: args.imageBuilder,
                },
                child,
            );
            const env: k8s.types.input.core.v1.EnvVar[] = [
                ...cloudEnv(cloud, service.uses),
                ...service.uses.services.map((other) => {
                    const port = (args.app.services.find((s) => s.name === other) as ServiceSpec).port;
                    return { name: serviceUrlVar(other), value: serviceUrl(other, nsName, port, clusterDomain) };
                }),
                ...Object.entries(service.env).map(([k, v]) => ({ name: k, value: v })),
            ];
            const svc = new MirrorService(
                `${name}-${service.name}`,
                {
                    namespace: ns.name,
                    serviceName: service.name,
                    image: image.ref,
                    port: service.port,
                    replicas: service.replicas,
                    resources: service.resources,
                    readinessPath: service.readinessPath,
                    env,
                    serviceAccountName: registry.serviceAccountName,
                    imagePullSecretName: registry.secretName,
                    labels,
                    clusterDomain,
                },
                // Pods start only once their queues, buckets and tables exist (in emulated mode: once the Job ran).
                { ...child, dependsOn: [cloud] },
            );
            urls[service.name] = svc.url;
            images[service.name] = image.ref;
        }

        this.serviceUrls = pulumi.output(urls);
        this.images = pulumi.output(images);
        this.cloud = pulumi.output({
            mode: cloud.mode,
            region: cloud.region,
            endpoint: cloud.endpoint,
            queues: cloud.queues,
            buckets: cloud.buckets,
            tables: cloud.tables,
        });
        this.expiresAt = pulumi.output(context.expiresAt);

        const runner: Record<string, pulumi.Input<string>> = {
            PROD_MIRROR_NAMESPACE: this.namespace,
            PROD_MIRROR_BRANCH: context.branch,
            PROD_MIRROR_EXPIRES_AT: context.expiresAt,
            AWS_REGION: cloud.region,
        };
        if (cloud.endpoint !== undefined) {
            runner.AWS_ENDPOINT_URL = cloud.endpoint;
        }
        for (const [svc, url] of Object.entries(urls)) {
            runner[serviceUrlVar(svc)] = url;
        }
        for (const [q, v] of Object.entries(cloud.queues)) {
            runner[queueUrlVar(q)] = v.url;
            runner[queueNameVar(q)] = v.name;
        }
        for (const [b, v] of Object.entries(cloud.buckets)) {
            runner[bucketVar(b)] = v.name;
        }
        for (const [t, v] of Object.entries(cloud.tables)) {
            runner[tableVar(t)] = v.name;
        }
        this.runnerEnv = pulumi.output(runner);

        this.registerOutputs({
            namespace: this.namespace,
            serviceUrls: this.serviceUrls,
            images: this.images,
            cloud: this.cloud,
            expiresAt: this.expiresAt,
            runnerEnv: this.runnerEnv,
        });
    }
}
