import * as fs from "fs";
import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { CloudResources, CloudResourcesArgs } from "./shape";
import { DEFAULT_CLUSTER_DOMAIN, serviceUrl } from "../naming";
import { AWS_TAG_KEYS, KEYS, restrictedContainerSecurity, restrictedPodSecurity, TMP_MOUNT, TMP_VOLUME } from "../manifests";
import { SKIP_AWAIT_ANNOTATION } from "../rewrite";

/** What `emulated` mode needs beyond the common args. */
export interface EmulatedCloudSettings {
    /** An image with `moto_server` and python3 + boto3 on PATH, runnable as any non-root uid. */
    image: string;
    /** Runs the emulator (it carries the registry pull secret). */
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
 * The program that creates the declared resources in the emulator, a Python file of its own so that
 * Python's tools check it (tests/unit/create-script.test.ts byte-compiles and lints it). Found beside
 * this module both under ts-node and in `npm run build`'s dist/, which copies it.
 */
export const CREATE_SCRIPT_FILE = path.join(__dirname, "emulator", "create_resources.py");

/** Where the emulator's pod finds the creation script (a ConfigMap volume; the root filesystem is read-only). */
export const SCRIPT_DIR = "/etc/prod-mirror";
export const CREATE_SCRIPT_KEY = "create_resources.py";
const SCRIPT_VOLUME = "create-script";

/** The creation script's text, as the ConfigMap carries it. */
export function createScript(file = CREATE_SCRIPT_FILE): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new Error(`cannot read the emulator's creation script ${file} (${reason}): it ships beside ${path.basename(__filename)}; restore it from git, or rebuild with 'npm run build' when running from dist/`, { cause: err });
    }
}

/**
 * `emulated` mode: moto's server as a Deployment + Service in the branch's namespace, whose container
 * creates the declared queues, buckets and tables in it (same names and tags as `aws` mode) every time
 * it starts, before it turns ready. Everything lives in the namespace and goes with it. moto keeps state
 * in memory: a restarted emulator has the resources again but none of their data (messages, objects,
 * items).
 */
export class EmulatedCloudResources extends pulumi.ComponentResource implements CloudResources {
    public readonly mode = "emulated" as const;
    public readonly region: string;
    public readonly endpoint: pulumi.Output<string>;
    public readonly queues: CloudResources["queues"] = {};
    public readonly buckets: CloudResources["buckets"] = {};
    public readonly tables: CloudResources["tables"] = {};
    public readonly credentialsSecretName: pulumi.Output<string>;
    /** The emulator; ready only once the declared resources exist in it. */
    public readonly emulator: k8s.apps.v1.Deployment;

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

        // Every tag but the expiry: the CLI moves the expiry on each `up`, and the declaration below is in the
        // emulator's pod template, so a moving expiry would restart the emulator (wiping its data) on every
        // renewing `up`. The expiry is the namespace's (label and annotation), and the resources go with it.
        const { [AWS_TAG_KEYS.expiresAt]: _expiry, ...stableTags } = args.tags;
        const resources = {
            tags: stableTags,
            queues: args.spec.queues.map((q) => ({ name: args.names.queues[q.name], visibilityTimeoutSeconds: q.visibilityTimeoutSeconds })),
            buckets: args.spec.buckets.map((b) => args.names.buckets[b.name]),
            tables: args.spec.tables.map((t) => ({ ...t, name: args.names.tables[t.name] })),
        };
        // The script as a file in the pod: the emulator's image is any image with moto and boto3 (the
        // caller's, not necessarily ours), so it cannot be relied on to carry it. Autonamed: a changed
        // script gets a new ConfigMap, which changes the pod template and restarts the emulator with it.
        const scriptMap = new k8s.core.v1.ConfigMap(
            `${name}-create-script`,
            { metadata: { namespace: args.namespace, labels: args.labels }, data: { [CREATE_SCRIPT_KEY]: script } },
            child,
        );

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
                            serviceAccountName: args.serviceAccountName,
                            imagePullSecrets: [{ name: args.imagePullSecretName }],
                            automountServiceAccountToken: false,
                            securityContext: restrictedPodSecurity(),
                            volumes: [TMP_VOLUME, { name: SCRIPT_VOLUME, configMap: { name: scriptMap.metadata.name } }],
                            containers: [
                                {
                                    name: "moto",
                                    image: args.image,
                                    // Every pod start goes to the registry with the pull secret: a re-pushed tag (the emulator's
                                    // version tag, a rebuilt branch image) is picked up, and the credential is exercised.
                                    imagePullPolicy: "Always",
                                    command: ["moto_server", "-H", "0.0.0.0", "-p", String(EMULATOR_PORT)],
                                    ports: [{ name: "http", containerPort: EMULATOR_PORT }],
                                    env: [
                                        { name: "HOME", value: "/tmp" },
                                        { name: "AWS_REGION", value: args.region },
                                        { name: "AWS_DEFAULT_REGION", value: args.region },
                                        ...credentialEnv,
                                        { name: "PROD_MIRROR_RESOURCES", value: JSON.stringify(resources) },
                                    ],
                                    // moto keeps everything in memory: each start of this container (a new pod, a
                                    // restarted node, a crash) begins empty, so each start creates the declared
                                    // resources again, idempotently. The kubelet does not mark the container
                                    // running until the hook has succeeded, so the readiness probe (and with it the
                                    // Service, and `up`'s wait for the Deployment) only sees an emulator that has
                                    // them; a hook that fails kills the container (FailedPostStartHook event with
                                    // the script's message, then CrashLoopBackOff), so `up` fails on the Deployment.
                                    // No separate creation Job: it would repeat what every start does, and a restart
                                    // would not re-run it.
                                    lifecycle: {
                                        postStart: { exec: { command: ["python3", `${SCRIPT_DIR}/${CREATE_SCRIPT_KEY}`, `http://127.0.0.1:${EMULATOR_PORT}`] } },
                                    },
                                    // As the probe-period rule makes production's: ready within a second of the hook (the
                                    // kubelet probes readiness as soon as the startup probe passes), then probed every 10 s.
                                    startupProbe: { httpGet: { path: "/moto-api/", port: EMULATOR_PORT }, periodSeconds: 1, failureThreshold: 60 },
                                    readinessProbe: { httpGet: { path: "/moto-api/", port: EMULATOR_PORT }, periodSeconds: 10 },
                                    resources: { requests: { cpu: "100m", memory: "192Mi" }, limits: { cpu: "1", memory: "512Mi" } },
                                    securityContext: restrictedContainerSecurity(),
                                    volumeMounts: [TMP_MOUNT, { name: SCRIPT_VOLUME, mountPath: SCRIPT_DIR, readOnly: true }],
                                },
                            ],
                        },
                    },
                },
            },
            { ...child, customTimeouts: { create: "5m", update: "5m", delete: "2m" } },
        );
        this.emulator = deployment;
        new k8s.core.v1.Service(
            `${name}-emulator`,
            {
                // The Deployment's await already says its pod is ready; the provider's own Service await
                // would add 10 s of endpoint settling to every new mirror (rewrite.ts, skipCoveredServiceAwait).
                metadata: { name: EMULATOR_NAME, namespace: args.namespace, labels, annotations: { [SKIP_AWAIT_ANNOTATION]: "true" } },
                spec: { selector, ports: [{ name: "http", port: EMULATOR_PORT, targetPort: EMULATOR_PORT }] },
            },
            child,
        );
        // From the names alone, not from the Service's outputs: those resolve only once the provider has
        // awaited the Service's endpoints (the emulator ready), and every pod wired to the endpoint
        // would wait for that instead of starting alongside the emulator.
        this.endpoint = pulumi.output(args.namespace).apply((ns) => serviceUrl(EMULATOR_NAME, ns, EMULATOR_PORT, clusterDomain));

        // Names are fixed before anything runs, so they are known even in preview; consumers that need
        // the resources to exist depend on this component, whose Deployment is ready only once they do.
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
