import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AppImage, TAG_PLACEHOLDER } from "./app-image";
import { workloadServiceAccountAnnotations, type AwsCloudSettings } from "./cloud";
import { mirrorKey, type BranchContext } from "./branch-context";
import { BranchNamespace, deletedWithNamespace } from "./branch-namespace";
import { cloudAccessEnv, cloudNames, CloudResources, CloudSettings, createCloudResources } from "./cloud";
import { appProblems, type BuildSpec, DEFAULT_IMAGE_REPOSITORY, DEFAULT_INSTALLATION, DEFAULT_PREVIEW_DOMAIN, DEFAULT_NAME_PREFIX, type AppSpec, type ContainerDefaults, type ImageBuilder, type QuotaSpec, type ServiceOverride } from "./app-spec";
import { awsTags, commonLabels } from "./manifests";
import { bucketVar, queueNameVar, queueUrlVar, serviceUrlVar, tableVar } from "./env-contract";
import { generatedImage, generateProduction, productionCloudNames, type ProductionCloudNames } from "./generate";
import type { KubeObject } from "./kube-object";
import { builtImageName, DEFAULT_CLUSTER_DOMAIN, imageTag, namespaceName, previewHost, serviceUrl } from "./naming";
import { RegistrySecret } from "./registry-secret";
import { LateValues } from "./late-values";
import { DEFAULT_READY_TIMEOUT_SECONDS, readyTimeoutProblem, readyTimeouts } from "./ready-timeout";
import { DEFAULT_PROBE_PERIOD_SECONDS, podSpecPath, probePeriodProblem, rewrite, RewriteError, type FidelityReport, type RewriteTarget } from "./rewrite";
import { StandIn } from "./stand-in";

/** The cloud settings as the caller gives them; the mirror adds what it owns (pull secret, account). */
export type MirrorCloudSettings = { region: string } & (({ mode: "aws" } & AwsCloudSettings) | { mode: "emulated"; image: string });

export interface ProductionMirrorArgs {
    context: BranchContext;
    /** The Pulumi stack, for labels, annotations and tags. */
    stack: string;
    /** The production description. */
    app: AppSpec;
    /**
     * Production's own objects, rendered into the branch's namespace (mirrorNamespace) from the
     * description's `deployment` (render.ts) before the mirror is declared. Default: generated from the
     * description's `services` (generate.ts). Both go through the same rewrite.
     */
    production?: KubeObject[];
    /** Per-workload replicas/resources for the mirror. Default: none. */
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
    /** How long a destroy waits for the namespace to go, in seconds. Default: DEFAULT_DELETE_TIMEOUT_SECONDS (BranchNamespace). */
    deleteTimeoutSeconds?: number;
    /** The least-privilege group bound to MIRROR_ADMIN_ROLE in the namespace. Default: none (BranchNamespace). */
    operatorGroup?: string;
    /** Ingress and HTTPRoute hosts become `<namespace>.<previewDomain>`. Default: DEFAULT_PREVIEW_DOMAIN. */
    previewDomain?: string;
    /** The Secret an Ingress's TLS entries name in the mirror. Default: none, so TLS entries are dropped (and reported). */
    previewTlsSecret?: string;
    /**
     * How long the provider waits for each of production's objects to become ready on create and
     * update (its customTimeouts), within ready-timeout.ts's range. Default: DEFAULT_READY_TIMEOUT_SECONDS (180).
     */
    readyTimeoutSeconds?: number;
    /**
     * How often the mirror's containers are probed while they start (the `probe-period` rule);
     * 0 keeps production's probes. Default: DEFAULT_PROBE_PERIOD_SECONDS (1).
     */
    probePeriodSeconds?: number;
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

/** An image the mirror runs instead of production's, before it is declared. */
interface ImageRule {
    /** Production's repository (for a generated description, the bare service name the generator gives). */
    production: string;
    service: string;
    build?: BuildSpec;
    /** A prebuilt reference (`{tag}` filled), for a generated description's service that names one. */
    image?: string;
}

/** The images the mirror runs: one per image rule, or one per service of a generated description. */
function imageRules(args: ProductionMirrorArgs): ImageRule[] {
    return args.production === undefined
        ? args.app.services.map((s) => ({ production: generatedImage(s.name), service: s.name, build: s.build, image: s.image }))
        : (args.app.images ?? []).map((rule) => ({ production: rule.production, service: rule.service, build: rule.build }));
}

/** The names the mirror's own resources give the rewrite (or stand-ins for them, in the dry run). */
type MirrorNames = Pick<RewriteTarget, "pullSecretName" | "serviceAccountName" | "cloudEnv" | "images" | "cloudNames">;

/** The rewrite's target in `namespace`: what the description and settings say, plus the mirror's names. */
function rewriteTarget(args: ProductionMirrorArgs, namespace: string, labels: Record<string, string>, names: MirrorNames): RewriteTarget {
    return {
        namespace,
        labels,
        ...names,
        cloudMode: args.cloud.mode,
        standIns: (args.app.standIns?.secrets ?? []).map((s) => ({ name: s.name, keys: s.keys })),
        overrides: args.overrides ?? {},
        previewHost: previewHost(namespace, args.previewDomain ?? DEFAULT_PREVIEW_DOMAIN),
        previewTlsSecretName: args.previewTlsSecret,
        knownCustomKinds: args.app.customResourceKinds ?? [],
        probePeriodSeconds: args.probePeriodSeconds ?? DEFAULT_PROBE_PERIOD_SECONDS,
    };
}

/**
 * Why production's objects cannot be mirrored faithfully, or undefined: the rewrite's problems
 * (rewrite.ts), found with stand-in values for the names the mirror's own resources get later, so
 * that a bad deployment declares nothing, not even the namespace.
 */
export function rewriteProblem(production: KubeObject[], args: ProductionMirrorArgs): string | undefined {
    const dry = "prod-mirror-check";
    try {
        rewrite(
            production,
            rewriteTarget(args, dry, {}, {
                pullSecretName: dry,
                serviceAccountName: dry,
                cloudEnv: [],
                images: imageRules(args).map((rule) => ({ production: rule.production, mirror: dry })),
                cloudNames: [],
            }),
        );
        return undefined;
    } catch (err) {
        if (err instanceof RewriteError) {
            return err.message;
        }
        throw err;
    }
}

/**
 * Where a mirror made before production's objects went through the rewrite kept a service's
 * Deployment and Service: under a `prod-mirror:app:MirrorService` component named `<mirror>-<service>`.
 * Aliased, an existing mirror's objects are updated in place on its next `up`; without, the engine
 * would create them under the new name (server-side apply takes over the live object) and then
 * delete the old name, which is the same live object.
 */
export function legacyAliases(mirror: string, obj: KubeObject, parent: pulumi.Resource): pulumi.Alias[] {
    const role = obj.apiVersion === "apps/v1" && obj.kind === "Deployment" ? "deployment" : obj.apiVersion === "v1" && obj.kind === "Service" ? "service" : undefined;
    if (role === undefined) {
        return [];
    }
    const service = obj.metadata.name;
    return [{ name: `${mirror}-${service}-${role}`, parent: pulumi.createUrn(`${mirror}-${service}`, "prod-mirror:app:MirrorService", parent) }];
}

/**
 * The kinds a pod reads as it is created or started: created after it, the pod is refused (a missing
 * ServiceAccount) or left in CreateContainerConfigError until the kubelet's back-off retries.
 */
const READ_AT_POD_START = new Set(["ConfigMap", "Secret", "ServiceAccount"]);

/** The namespace a mirror of `context` gets: what a renderer needs before the mirror is declared. */
export function mirrorNamespace(context: BranchContext, namePrefix: string = DEFAULT_NAME_PREFIX): string {
    return namespaceName(mirrorKey(context.branch, context.pullRequest), namePrefix);
}

/** One image the mirror runs instead of production's: production's repository → the branch's image. */
interface MirrorImage {
    production: string;
    service: string;
    image: AppImage;
}

/**
 * A full production mirror for one branch: its namespace, the registry pull secret and the account
 * the workloads run as, the images, the cloud resources in the stack's mode, stand-ins for the
 * Secrets production keeps elsewhere, and production's own objects rewritten for the branch
 * (rewrite.ts), with the report of every field the rewrite changed.
 */
export class ProductionMirror extends pulumi.ComponentResource {
    public readonly namespace: pulumi.Output<string>;
    /** In-cluster URL per Service. */
    public readonly serviceUrls: pulumi.Output<Record<string, string>>;
    /** Image reference per image the mirror builds (per service for a generated description). */
    public readonly images: pulumi.Output<Record<string, string>>;
    public readonly cloud: pulumi.Output<CloudSummary>;
    public readonly expiresAt: pulumi.Output<string>;
    /** What a test runner exports: PROD_MIRROR_NAMESPACE, `<SERVICE>_URL`, and every cloud variable. */
    public readonly runnerEnv: pulumi.Output<Record<string, string>>;
    /** Every difference between production's objects and the mirror's, with the rule that made it. */
    public readonly fidelity: pulumi.Output<FidelityReport>;
    /** The Service to start from (entryServiceOf); empty when the mirror has no Service. */
    public readonly entryService: pulumi.Output<string>;
    public readonly cloudResources: CloudResources;

    constructor(name: string, args: ProductionMirrorArgs, opts?: pulumi.ComponentResourceOptions) {
        // Checked before super(), so that a bad description declares nothing, not even this component.
        // RunErrors: `pulumi up` prints the message alone, without a stack trace burying the fix.
        const problem = appProblem(args.app);
        if (problem !== undefined) {
            throw new pulumi.RunError(`ProductionMirror ${name}: ${problem}`);
        }
        const readyTimeoutSeconds = args.readyTimeoutSeconds ?? DEFAULT_READY_TIMEOUT_SECONDS;
        const badTimeout = readyTimeoutProblem(readyTimeoutSeconds);
        if (badTimeout !== undefined) {
            throw new pulumi.RunError(`ProductionMirror ${name}: readyTimeoutSeconds ${readyTimeoutSeconds} is out of range: ${badTimeout}, e.g. ${DEFAULT_READY_TIMEOUT_SECONDS}`);
        }
        const badProbePeriod = probePeriodProblem(args.probePeriodSeconds ?? DEFAULT_PROBE_PERIOD_SECONDS);
        if (badProbePeriod !== undefined) {
            throw new pulumi.RunError(`ProductionMirror ${name}: probePeriodSeconds ${args.probePeriodSeconds} is out of range: ${badProbePeriod}, e.g. ${DEFAULT_PROBE_PERIOD_SECONDS}`);
        }
        const production = args.production ?? generateProduction(args.app);
        const unmirrorable = rewriteProblem(production, args);
        if (unmirrorable !== undefined) {
            throw new pulumi.RunError(`ProductionMirror ${name}: ${unmirrorable}`);
        }
        super("prod-mirror:mirror:ProductionMirror", name, {}, opts);
        const prefix = args.namePrefix ?? DEFAULT_NAME_PREFIX;
        const installation = args.installation ?? DEFAULT_INSTALLATION;
        const clusterDomain = args.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
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
                deleteTimeoutSeconds: args.deleteTimeoutSeconds,
                operatorGroup: args.operatorGroup,
                externalEgressPorts: externalEgressPorts(args.cloud),
            },
            child,
        );
        this.namespace = ns.name;
        // Everything from here on lives in the namespace, except cloud resources (the transform skips them).
        const inNamespace = { parent: this, transforms: [deletedWithNamespace(ns.namespace)] };

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
            inNamespace,
        );

        const common = { spec: args.app.cloud, names: cloudNames(args.app.cloud, prefix, key), tags: awsTags(context, args.stack, installation), region: args.cloud.region, namespace: ns.name, labels };
        const settings: CloudSettings =
            args.cloud.mode === "aws"
                ? args.cloud
                : { mode: "emulated", image: args.cloud.image, serviceAccountName: registry.serviceAccountName, imagePullSecretName: registry.secretName, clusterDomain };
        this.cloudResources = createCloudResources(`${name}-cloud`, common, settings, inNamespace);
        const cloud = this.cloudResources;

        const mirrorImages = this.declareImages(name, args, tag);
        const standIns = (args.app.standIns?.secrets ?? []).map(
            (standIn) => new StandIn(`${name}-standin-${standIn.name}`, { namespace: ns.name, name: standIn.name, keys: standIn.keys, labels }, inNamespace),
        );

        const late = new LateValues();
        const target = rewriteTarget(args, nsName, labels, {
            pullSecretName: late.placeholder(registry.secretName),
            serviceAccountName: late.placeholder(registry.serviceAccountName),
            cloudEnv: cloudAccessEnv(cloud).map(({ name, value, valueFrom }) =>
                valueFrom === undefined
                    ? { name, value: late.placeholder(value as pulumi.Input<string>) }
                    : { name, valueFrom: { secretKeyRef: { name: late.placeholder(valueFrom.secretKeyRef.name), key: valueFrom.secretKeyRef.key } } },
            ),
            images: mirrorImages.map((i) => ({ production: i.production, mirror: late.placeholder(i.image.ref) })),
            cloudNames: mirrorCloudNames(productionCloudNames(args.app.cloud), cloud).map((n) => ({ ...n, mirror: late.placeholder(n.mirror) })),
        });
        const rewritten = rewrite(production, target);
        // Two groups, as kubectl applies a kustomization's ConfigMaps and Secrets before its workloads: a pod
        // created before the ConfigMap or Secret it reads is refused by the kubelet (CreateContainerConfigError)
        // and retried only after a back-off of 10 s or more, which made some mirrors ready twice as late.
        const supporting = rewritten.objects.filter((o) => podSpecPath(o) === undefined);
        const workloads = rewritten.objects.filter((o) => podSpecPath(o) !== undefined);
        const apply = (group: string, objects: KubeObject[], after: pulumi.Input<pulumi.Resource>[]): k8s.yaml.ConfigGroup =>
            new k8s.yaml.ConfigGroup(
                group,
                {
                    // The late values back in as Outputs: each object depends on the resources whose values it carries.
                    objs: late.fill(objects) as KubeObject[],
                    transformations: [
                        (obj: KubeObject, opts: pulumi.CustomResourceOptions) => {
                            // The objects carry the namespace as plain text, which orders nothing.
                            opts.dependsOn = [ns.ready, ...after];
                            opts.aliases = legacyAliases(name, obj, this);
                            // The provider's own await bound is 10 minutes per Deployment; a service
                            // that never becomes ready must fail `up` within the mirror's bound. An
                            // option, not the pulumi.com/timeoutSeconds annotation, so the live
                            // objects stay production's.
                            opts.customTimeouts = readyTimeouts(readyTimeoutSeconds);
                        },
                    ],
                },
                inNamespace,
            );
        const configuration = apply(`${name}-app`, supporting, []);
        // Pods wait for what they read as they start, not for the whole group: its Services await
        // endpoints, which only the workloads' pods can give them (up to 10 s each for nothing).
        const readAtStart = supporting
            .filter((o) => o.apiVersion === "v1" && READ_AT_POD_START.has(o.kind))
            .map((o) => configuration.getResource(`v1/${o.kind}` as "v1/ConfigMap", o.metadata.namespace as string, o.metadata.name));
        // Pods start while the cloud resources are being made, as production's would start against
        // resources that exist already: a service that needs one reports not ready until it is there
        // (the sample's readiness probes ask), so the Deployment's own await covers it, and a mirror is
        // ready after the slower of the two instead of their sum. A name the engine knows only once
        // the resource exists (a queue URL on AWS) still orders its users after it. Pods do wait for
        // the stand-in Secrets and production's own configuration they read.
        apply(`${name}-workloads`, workloads, [...standIns, ...readAtStart]);
        this.fidelity = pulumi.output(late.fill(rewritten.report)) as pulumi.Output<FidelityReport>;
        const urls = pulumi.output(serviceUrls(rewritten.objects, nsName, clusterDomain));
        this.entryService = pulumi.output(entryServiceOf(rewritten.objects, args.app) ?? "");
        this.serviceUrls = urls;
        this.images = pulumi.output(Object.fromEntries(mirrorImages.map((i) => [i.service, i.image.ref])));
        this.cloud = pulumi.output({
            mode: cloud.mode,
            region: cloud.region,
            endpoint: cloud.endpoint,
            queues: cloud.queues,
            buckets: cloud.buckets,
            tables: cloud.tables,
        });
        this.expiresAt = pulumi.output(context.expiresAt);
        this.runnerEnv = pulumi.all([urls, this.cloud]).apply(([serviceUrlsByName, summary]) => runnerEnvironment(context, nsName, serviceUrlsByName, summary));

        this.registerOutputs({
            namespace: this.namespace,
            serviceUrls: this.serviceUrls,
            images: this.images,
            cloud: this.cloud,
            expiresAt: this.expiresAt,
            runnerEnv: this.runnerEnv,
            fidelity: this.fidelity,
            entryService: this.entryService,
        });
    }

    /** An AppImage per image rule (imageRules). */
    private declareImages(name: string, args: ProductionMirrorArgs, tag: string): MirrorImage[] {
        return imageRules(args).map((rule) => ({
            production: rule.production,
            service: rule.service,
            image: new AppImage(
                `${name}-${rule.service}`,
                {
                    service: rule.service,
                    tag,
                    build: rule.build,
                    // A rule without a build: CI pushed the branch's image under the name the mirror would give it.
                    image: rule.build === undefined ? (rule.image ?? builtImageName(args.registry.server, args.imageRepository ?? DEFAULT_IMAGE_REPOSITORY, rule.service, TAG_PLACEHOLDER)) : undefined,
                    registry: args.registry,
                    repository: args.imageRepository,
                    builder: args.imageBuilder,
                },
                { parent: this },
            ),
        }));
    }
}

/** Production's name or URL of each declared resource → the branch's copy. */
export function mirrorCloudNames(production: ProductionCloudNames, cloud: CloudResources): { production: string; mirror: pulumi.Output<string>; what: string }[] {
    return [
        ...Object.entries(production.queues).flatMap(([q, names]) => [
            { production: names.url, mirror: cloud.queues[q].url, what: `queue ${q} URL` },
            { production: names.name, mirror: cloud.queues[q].name, what: `queue ${q} name` },
        ]),
        ...Object.entries(production.buckets).map(([b, name]) => ({ production: name, mirror: cloud.buckets[b].name, what: `bucket ${b}` })),
        ...Object.entries(production.tables).map(([t, name]) => ({ production: name, mirror: cloud.tables[t].name, what: `table ${t}` })),
    ];
}

/** The Service an Ingress (or its default backend) sends traffic to first, if any: production's front door. */
function ingressBackend(objects: KubeObject[]): string | undefined {
    for (const o of objects) {
        if (o.kind !== "Ingress") {
            continue;
        }
        const spec = (o.spec ?? {}) as { defaultBackend?: { service?: { name?: string } }; rules?: { http?: { paths?: { backend?: { service?: { name?: string } } }[] } }[] };
        const first = spec.rules?.flatMap((r) => r.http?.paths ?? []).find((p) => p.backend?.service?.name !== undefined)?.backend?.service?.name;
        if (first ?? spec.defaultBackend?.service?.name) {
            return first ?? spec.defaultBackend?.service?.name;
        }
    }
    return undefined;
}

/**
 * The Service a person or a test starts from: the one production's Ingress routes to; for a
 * generated description, the first service no other one calls; else the first Service.
 */
export function entryServiceOf(objects: KubeObject[], app: AppSpec): string | undefined {
    const services = objects.filter((o) => o.kind === "Service" && o.apiVersion === "v1").map((o) => o.metadata.name);
    const called = new Set(app.services.flatMap((s) => s.uses.services));
    const uncalled = app.services.find((s) => !called.has(s.name))?.name;
    return ingressBackend(objects) ?? uncalled ?? app.services[0]?.name ?? services[0];
}

/** The in-cluster URL of each Service the mirror applies, on its first port. */
export function serviceUrls(objects: KubeObject[], namespace: string, clusterDomain: string): Record<string, string> {
    const urls: Record<string, string> = {};
    for (const o of objects) {
        const ports = (o.spec as { ports?: { port: number }[] } | undefined)?.ports;
        if (o.kind === "Service" && o.apiVersion === "v1" && ports !== undefined && ports.length > 0) {
            urls[o.metadata.name] = serviceUrl(o.metadata.name, namespace, ports[0].port, clusterDomain);
        }
    }
    return urls;
}

/** The test runner's environment: the mirror's identity, every Service's URL and every cloud name. */
export function runnerEnvironment(context: BranchContext, namespace: string, urls: Record<string, string>, cloud: pulumi.Unwrap<CloudSummary>): Record<string, string> {
    const runner: Record<string, string> = {
        PROD_MIRROR_NAMESPACE: namespace,
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
    return runner;
}
