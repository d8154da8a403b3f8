// The prod-mirror Pulumi program: read and validate the stack config (only here), resolve the
// branch, declare the mirror, export what a test runner needs. `pulumi up` creates the mirror,
// `pulumi destroy` removes it.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
    APP_FILE_MAX_BYTES,
    ConfigError,
    missingKeyError,
    parseSettings,
    PROJECT,
    ProductionMirror,
    readGitCheckout,
    resolveBranchContext,
    SETTINGS_KEYS,
    stackFile,
} from "./components";
import { readProjectFile } from "./components/project-file";
import type { KubeObject } from "./components/kube-object";
import { mirrorNamespace } from "./components/production-mirror";
import { renderSource, sourceProblems } from "./components/render";

const config = new pulumi.Config(PROJECT);
const stack = pulumi.getStack();
// Pulumi runs the program from the project directory, which project-relative paths are relative to.
const projectDir = process.cwd();

const settings = parseSettings(Object.fromEntries(SETTINGS_KEYS.map((key) => [key, config.get(key)])), {
    stack,
    readFile: (relative) => readProjectFile(projectDir, relative, APP_FILE_MAX_BYTES),
});

/** A required credential: our message when it is missing, then requireSecret so it stays secret. */
function requiredSecret(key: string, what: string, example: string): pulumi.Output<string> {
    if (config.getSecret(key) === undefined) {
        throw missingKeyError(stack, key, what, example, true);
    }
    return config.requireSecret(key);
}

const registryPassword = requiredSecret("registryPassword", `the password for ${settings.registryUsername} at ${settings.registryServer}`, "s3cr3t");

const awsAccessKeyId = config.getSecret("awsAccessKeyId");
const awsSecretAccessKey = config.getSecret("awsSecretAccessKey");
if ((awsAccessKeyId === undefined) !== (awsSecretAccessKey === undefined)) {
    const missing = awsAccessKeyId === undefined ? "awsAccessKeyId" : "awsSecretAccessKey";
    throw new ConfigError(
        `${PROJECT}:${missing} is missing from ${stackFile(stack)}: set both ${PROJECT}:awsAccessKeyId and ` +
            `${PROJECT}:awsSecretAccessKey, or neither (to use the ambient AWS credentials). ` +
            `Set it with: pulumi config set --secret ${PROJECT}:${missing} <value>`,
    );
}

const context = resolveBranchContext({
    stack,
    configured: { branch: settings.branch, commit: settings.commit, owner: settings.owner, pullRequest: settings.pullRequest, sourceRepo: settings.sourceRepo },
    env: process.env,
    git: () => readGitCheckout(projectDir),
    now: new Date(),
    ttlHours: settings.ttlHours,
    expiresAt: settings.expiresAt,
});

// Explicit, so the cluster is exactly the one the config names; unset keys mean the ambient
// KUBECONFIG (which `npm run local:up` exports) and its current context. prod-mirror:kubeconfig may
// hold the cluster's credentials, and the provider keeps its inputs in the state: read as a
// secret, it is encrypted there even when it was set without --secret.
const kubernetes = new k8s.Provider("kubernetes", {
    kubeconfig: config.getSecret("kubeconfig"),
    context: settings.kubeContext,
    enableServerSideApply: true,
});

// Production's own deployment, when the description names one: checked before anything is declared,
// rendered by the kubernetes provider itself (no helm or kustomize binary, no network).
const deployment = settings.app.deployment;
if (deployment !== undefined) {
    const problems = sourceProblems(deployment, projectDir);
    if (problems.length > 0) {
        // A RunError: `pulumi up` prints the problems alone, not buried under a stack trace.
        throw new pulumi.RunError(`the app description's deployment cannot be rendered:\n- ${problems.join("\n- ")}`);
    }
}

// Rendered before the mirror is declared, so that objects the mirror cannot reproduce faithfully stop
// the program before anything is created (ProductionMirror checks them first).
const production: Promise<KubeObject[] | undefined> =
    deployment === undefined ? Promise.resolve(undefined) : renderSource(deployment, { projectDir, namespace: mirrorNamespace(context, settings.namePrefix) }, { provider: kubernetes });

const mirror = production.then(
    (objects) =>
        new ProductionMirror(
            "mirror",
            {
                context,
                stack,
                app: settings.app,
                production: objects,
                overrides: settings.overrides,
                registry: { server: settings.registryServer, username: settings.registryUsername, password: registryPassword },
                imageRepository: settings.imageRepository,
                imageBuilder: settings.imageBuilder,
                cloud:
                    settings.cloudMode === "aws"
                        ? {
                              mode: "aws",
                              region: settings.awsRegion,
                              endpoint: settings.awsEndpoint,
                              workloadEndpoint: settings.awsWorkloadEndpoint,
                              accessKeyId: awsAccessKeyId,
                              secretAccessKey: awsSecretAccessKey,
                              workloadIdentityRoleArn: settings.awsWorkloadIdentity,
                          }
                        // parseSettings refuses an emulated stack without prod-mirror:emulatorImage.
                        : { mode: "emulated", region: settings.awsRegion, image: settings.emulatorImage as string },
                namePrefix: settings.namePrefix,
                installation: settings.installation,
                clusterDomain: settings.clusterDomain,
                quota: settings.quota,
                containerDefaults: settings.containerDefaults,
                deleteTimeoutSeconds: settings.deleteTimeoutSeconds,
                operatorGroup: settings.operatorGroup,
                previewDomain: settings.previewDomain,
                previewTlsSecret: settings.previewTlsSecret,
                readyTimeoutSeconds: settings.readyTimeoutSeconds,
                probePeriodSeconds: settings.probePeriodSeconds,
            },
            { providers: { kubernetes } },
        ),
);

/** One of the mirror's outputs, once the mirror is declared. */
function ofMirror<T>(pick: (m: ProductionMirror) => pulumi.Output<T>): pulumi.Output<T> {
    return pulumi.output(mirror.then(pick)) as pulumi.Output<T>;
}

/** The branch's namespace. */
export const namespace = ofMirror((m) => m.namespace);
/** In-cluster URL per service. */
export const serviceUrls = ofMirror((m) => m.serviceUrls);
/** Image reference per service. */
export const images = ofMirror((m) => m.images);
/** Cloud mode, region, endpoint and the physical names/URLs of queues, buckets and tables. */
export const cloud = ofMirror((m) => m.cloud);
/** When a reaper may delete this mirror (ISO 8601). */
export const expiresAt = ofMirror((m) => m.expiresAt);
/** Environment variables for a test runner (write them as dotenv). */
export const runnerEnv = ofMirror((m) => m.runnerEnv);
/** Every field the mirror changed from production's objects, the rule that changed it, and what it skipped (`prod-mirror diff`). */
export const fidelity = ofMirror((m) => m.fidelity);
/** The Service a person or a test starts from (production's Ingress backend, when it has one). */
export const entryService = ofMirror((m) => m.entryService);
export const branch = context.branch;
export const commit = context.commit;
export const owner = context.owner;
