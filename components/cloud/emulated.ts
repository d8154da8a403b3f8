import * as fs from "fs";
import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { CloudResources, CloudResourcesArgs } from "./shape";
import { DEFAULT_CLUSTER_DOMAIN, serviceUrl } from "../naming";
import { AWS_TAG_KEYS, KEYS, restrictedContainerSecurity, restrictedPodSecurity, TMP_MOUNT, TMP_VOLUME } from "../manifests";

/** What `emulated` mode needs beyond the common args. */
export interface EmulatedCloudSettings {
    /** An image with `moto_server` and python3 + boto3 on PATH, runnable as any non-root uid. */
    image: string;
    /** Runs the emulator and the creation Job (it carries the registry pull secret). */
    serviceAccountName: pulumi.Input<string>;
    imagePullSecretName: pulumi.Input<string>;
    /** The cluster's DNS domain, for the in-cluster endpoint. Default: `cluster.local`. */
    clusterDomain?: string;
}

export type EmulatedCloudResourcesArgs = CloudResourcesArgs & EmulatedCloudSettings;

/** The emulator's Service name and port; the endpoint is `http://aws-emulator.<ns>.svc.<domain>:4566`. */
export const EMULATOR_NAME = "aws-emulator";
export const EMULATOR_PORT = 4566;
/** The account moto answers for; its queue URLs are `<endpoint>/<account>/<queue>`. */
export const EMULATOR_ACCOUNT = "123456789012";
/** moto accepts any key; these only exist so the wiring is the same as with real keys. */
export const EMULATOR_CREDENTIALS = { AWS_ACCESS_KEY_ID: "prod-mirror", AWS_SECRET_ACCESS_KEY: "prod-mirror" };

/**
 * The creation Job's program, a Python file of its own so that Python's tools check it
 * (tests/unit/create-script.test.ts byte-compiles and lints it). Found beside this module both under
 * ts-node and in `npm run build`'s dist/, which copies it.
 */
export const CREATE_SCRIPT_FILE = path.join(__dirname, "emulator", "create_resources.py");

/** The creation script's text, passed verbatim as `python3 -c <text>`. */
export function createScript(file = CREATE_SCRIPT_FILE): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new Error(`cannot read the emulator's creation script ${file} (${reason}): it ships beside ${path.basename(__filename)}; restore it from git, or rebuild with 'npm run build' when running from dist/`, { cause: err });
    }
}

/**
 * `emulated` mode: moto's server as a Deployment + Service in the branch's namespace, and a Job that
 * creates the declared queues, buckets and tables in it with the same names and tags as `aws` mode.
 * Everything lives in the namespace and goes with it. The emulator keeps state in memory, so a
 * restarted emulator pod comes back empty until the next `pulumi up` re-creates the Job.
 */
export class EmulatedCloudResources extends pulumi.ComponentResource implements CloudResources {
    public readonly mode = "emulated" as const;
    public readonly region: string;
    public readonly endpoint: pulumi.Output<string>;
    public readonly queues: CloudResources["queues"] = {};
    public readonly buckets: CloudResources["buckets"] = {};
    public readonly tables: CloudResources["tables"] = {};
    public readonly credentialsSecretName: pulumi.Output<string>;
    /** The Job that created the resources; services depend on it. */
    public readonly job: k8s.batch.v1.Job;

    constructor(name: string, args: EmulatedCloudResourcesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("prod-mirror:cloud:EmulatedCloudResources", name, {}, opts);
        const clusterDomain = args.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
        // Read before any child is declared: a missing file fails the program, not a half-made mirror.
        const script = createScript();
        this.region = args.region;
        const selector = { [KEYS.name]: EMULATOR_NAME, [KEYS.component]: "aws-emulator" };
        const labels = { ...args.labels, ...selector };
        const child = { parent: this };

        const credentials = new k8s.core.v1.Secret(
            `${name}-credentials`,
            {
                metadata: { namespace: args.namespace, labels: args.labels },
                stringData: pulumi.secret(EMULATOR_CREDENTIALS),
            },
            child,
        );
        this.credentialsSecretName = credentials.metadata.name;
        const credentialEnv = Object.keys(EMULATOR_CREDENTIALS).map((key) => ({
            name: key,
            valueFrom: { secretKeyRef: { name: this.credentialsSecretName, key } },
        }));

        const podSpec = {
            serviceAccountName: args.serviceAccountName,
            imagePullSecrets: [{ name: args.imagePullSecretName }],
            automountServiceAccountToken: false,
            securityContext: restrictedPodSecurity(),
            volumes: [TMP_VOLUME],
        };
        const baseEnv = [
            { name: "HOME", value: "/tmp" },
            { name: "AWS_REGION", value: args.region },
            { name: "AWS_DEFAULT_REGION", value: args.region },
            ...credentialEnv,
        ];

        // Physical names: the Service's DNS name is the endpoint; the Deployment shares it for kubectl.
        const deployment = new k8s.apps.v1.Deployment(
            `${name}-emulator`,
            {
                metadata: { name: EMULATOR_NAME, namespace: args.namespace, labels },
                spec: {
                    replicas: 1,
                    selector: { matchLabels: selector },
                    template: {
                        metadata: { labels },
                        spec: {
                            ...podSpec,
                            containers: [
                                {
                                    name: "moto",
                                    image: args.image,
                                    // Every pod start goes to the registry with the pull secret: a re-pushed tag (the emulator's
                                    // version tag, a rebuilt branch image) is picked up, and the credential is exercised.
                                    imagePullPolicy: "Always",
                                    command: ["moto_server", "-H", "0.0.0.0", "-p", String(EMULATOR_PORT)],
                                    ports: [{ name: "http", containerPort: EMULATOR_PORT }],
                                    env: baseEnv,
                                    readinessProbe: {
                                        httpGet: { path: "/moto-api/", port: EMULATOR_PORT },
                                        periodSeconds: 2,
                                        failureThreshold: 30,
                                    },
                                    resources: { requests: { cpu: "100m", memory: "192Mi" }, limits: { cpu: "1", memory: "512Mi" } },
                                    securityContext: restrictedContainerSecurity(),
                                    volumeMounts: [TMP_MOUNT],
                                },
                            ],
                        },
                    },
                },
            },
            { ...child, customTimeouts: { create: "5m", update: "5m", delete: "2m" } },
        );
        new k8s.core.v1.Service(
            `${name}-emulator`,
            {
                metadata: { name: EMULATOR_NAME, namespace: args.namespace, labels },
                spec: { selector, ports: [{ name: "http", port: EMULATOR_PORT, targetPort: EMULATOR_PORT }] },
            },
            child,
        );
        // From the names alone, not from the Service's outputs: those resolve only once the provider has
        // awaited the Service's endpoints (the emulator ready), and every pod wired to the endpoint
        // would wait for that instead of starting alongside the emulator.
        this.endpoint = pulumi.output(args.namespace).apply((ns) => serviceUrl(EMULATOR_NAME, ns, EMULATOR_PORT, clusterDomain));

        // Every tag but the expiry: the CLI moves the expiry on each `up`, and a Job whose spec changed is
        // replaced, so a renewing `up` would create everything again. The expiry is the namespace's
        // (label and annotation), and the emulator's resources go with the namespace.
        const { [AWS_TAG_KEYS.expiresAt]: _expiry, ...stableTags } = args.tags;
        const resources = {
            tags: stableTags,
            queues: args.spec.queues.map((q) => ({ name: args.names.queues[q.name], visibilityTimeoutSeconds: q.visibilityTimeoutSeconds })),
            buckets: args.spec.buckets.map((b) => args.names.buckets[b.name]),
            tables: args.spec.tables.map((t) => ({ ...t, name: args.names.tables[t.name] })),
        };
        this.job = new k8s.batch.v1.Job(
            `${name}-create`,
            {
                metadata: {
                    namespace: args.namespace,
                    labels: { ...args.labels, [KEYS.component]: "aws-emulator-setup" },
                    // A Job that failed once is replaced on the next `pulumi up` instead of awaited again.
                    annotations: { "pulumi.com/replaceUnready": "true" },
                },
                spec: {
                    backoffLimit: 4,
                    activeDeadlineSeconds: 600,
                    template: {
                        metadata: { labels: { ...args.labels, [KEYS.component]: "aws-emulator-setup" } },
                        spec: {
                            ...podSpec,
                            restartPolicy: "Never",
                            containers: [
                                {
                                    name: "create",
                                    image: args.image,
                                    // Every pod start goes to the registry with the pull secret: a re-pushed tag (the emulator's
                                    // version tag, a rebuilt branch image) is picked up, and the credential is exercised.
                                    imagePullPolicy: "Always",
                                    // The text travels in the Job's own spec: no ConfigMap to keep in step, and no file
                                    // to write in a restricted pod whose root filesystem is read-only.
                                    command: ["python3", "-c", script],
                                    env: [
                                        ...baseEnv,
                                        { name: "AWS_ENDPOINT_URL", value: this.endpoint },
                                        { name: "PROD_MIRROR_RESOURCES", value: JSON.stringify(resources) },
                                    ],
                                    resources: { requests: { cpu: "50m", memory: "96Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
                                    securityContext: restrictedContainerSecurity(),
                                    volumeMounts: [TMP_MOUNT],
                                },
                            ],
                        },
                    },
                },
            },
            { ...child, dependsOn: [deployment], customTimeouts: { create: "10m", update: "10m", delete: "2m" } },
        );

        // Names are fixed before anything runs, so they are known even in preview; consumers that need
        // the resources to exist depend on this component, which includes the Job.
        for (const q of args.spec.queues) {
            const physical = args.names.queues[q.name];
            this.queues[q.name] = {
                name: pulumi.output(physical),
                url: pulumi.interpolate`${this.endpoint}/${EMULATOR_ACCOUNT}/${physical}`,
            };
        }
        for (const b of args.spec.buckets) {
            this.buckets[b.name] = { name: pulumi.output(args.names.buckets[b.name]) };
        }
        for (const t of args.spec.tables) {
            this.tables[t.name] = { name: pulumi.output(args.names.tables[t.name]) };
        }

        this.registerOutputs({ endpoint: this.endpoint, queues: this.queues, buckets: this.buckets, tables: this.tables });
    }
}
