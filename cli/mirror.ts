// The steps of a mirror's life, shared by the CLI commands and the integration tests: prepare the
// branch's stack (config, images), deploy it, open host access, destroy it.
import * as fs from "fs";
import * as path from "path";
import type { ConfigMap, OutputMap, Stack } from "@pulumi/pulumi/automation";
import { detectCi, mirrorKey, parsePullRequest, readGitCheckout, type BranchFacts, type PullRequest } from "../components/branch-context";
import { APP_FILE_MAX_BYTES } from "../components/app-file";
import { DEFAULT_CLOUD_MODE } from "../components/app-spec";
import { PROJECT } from "../components/config-error";
import { parseSettings, SETTINGS_KEYS, type MirrorSettings } from "../components/settings";
import { KEYS, MANAGED_BY, OPERATOR_GROUP } from "../components/manifests";
import { imageTag, labelValue, stackName as stackNameFor } from "../components/naming";
import { readProjectFile } from "../components/project-file";
import { buildAndPushImages, plannedImageBuilds } from "./app-images";
import { clusterAccessOf, probeCluster } from "./cluster-access";
import { recoverStack, type RunContext } from "./guarded-run";
import { expiryFrom, UsageError } from "./args";
import { kubectl, kubectlAsync, kubectlEach } from "./kubectl";
import { cliInstallation } from "./installation";
import { ensureLocalEnvironment, LOCAL_EMULATOR_REPOSITORY, localEmulatorTag, repoRoot, type LocalEnvironment } from "./local-environment";
import type { Place } from "./target-env";
import type { ExternalTarget } from "./target";
import { plainOutputs, runnerEnvOf, toDotenv } from "./outputs";
import { checkAwsEndpointAnswers, checkRegistryAnswers, resolveDigestReference } from "./registry-api";
import { startForwards, stopForwards, type Forward } from "./port-forward";
import { stackPath } from "./stack-path";
import { configureStack, destroyStack, findStack, maskedOutputs, openOrCreateStack } from "./stack";
import { formatStuckReport, heldBefore, readStuck } from "./stuck";

export type Log = (line: string) => void;

export interface BranchRef {
    branch: string;
    commit?: string;
    pullRequest?: PullRequest;
}

/** What names the mirror's stack and everything in it (components/branch-context mirrorKey). */
export function refKey(ref: BranchRef): string {
    return mirrorKey(ref.branch, ref.pullRequest);
}

/** What a person calls the mirror in a message: `branch B` or `pull request N of R (branch B)`. */
export function describeRef(ref: BranchRef): string {
    return ref.pullRequest === undefined ? `branch ${ref.branch}` : `pull request ${ref.pullRequest.number} of ${ref.pullRequest.sourceRepo} (branch ${ref.branch})`;
}

/** The flags that name the same mirror again, for the hints in messages. */
export function refFlags(ref: BranchRef): string {
    const branch = `--branch ${ref.branch}`;
    return ref.pullRequest === undefined ? branch : `${branch} --pr ${ref.pullRequest.number} --source-repo ${ref.pullRequest.sourceRepo}`;
}

interface Explicit {
    branch?: string;
    commit?: string;
    pullRequest?: number;
    sourceRepo?: string;
}

/**
 * Branch, commit and pull request: explicit values › CI variables › the git checkout. Branch and
 * pull request are one identity and come from one source, as in resolveBranchContext: an explicit
 * --branch without --pr is that branch's mirror, even inside a pull request's job.
 */
export function resolveRef(explicit: Explicit, ci: ReturnType<typeof detectCi>, git: () => BranchFacts | undefined): BranchRef {
    const fromFlags = explicit.branch !== undefined || explicit.pullRequest !== undefined;
    const branch = explicit.branch ?? ci?.branch ?? git()?.branch;
    if (branch === undefined) {
        throw new UsageError("no branch: pass --branch B, run inside a CI job, or check out a branch (HEAD is detached)");
    }
    const pullRequest = fromFlags
        ? explicit.pullRequest === undefined
            ? undefined
            : { number: explicit.pullRequest, sourceRepo: explicit.sourceRepo as string }
        : ci?.branch !== undefined
          ? parsePullRequest(ci, `CI (${ci.id})`, { number: "--pr N", sourceRepo: "--source-repo OWNER/REPO" })
          : undefined;
    const commit = explicit.commit ?? ci?.commit ?? git()?.commit;
    const ref = { branch, commit, ...(pullRequest === undefined ? {} : { pullRequest }) };
    // Refuses, before anything runs, a branch that could pose as a pull request's key.
    refKey(ref);
    return ref;
}

/** resolveRef on this process's environment and the repository's checkout. */
export function resolveBranch(explicit: Explicit): BranchRef {
    let git: BranchFacts | undefined | null = null;
    return resolveRef(explicit, detectCi(process.env), () => (git === null ? (git = readGitCheckout(repoRoot)) : git));
}

/** The local environment, with its variables applied to this process (the Automation API spawns `pulumi`). */
export function useLocalEnvironment(): LocalEnvironment {
    const local = ensureLocalEnvironment();
    Object.assign(process.env, local.env);
    return local;
}

/** The mirror's settings from a stack's config (read with `stack.getAllConfig()`). */
export function settingsOf(stackName: string, config: ConfigMap): MirrorSettings {
    const raw = Object.fromEntries(SETTINGS_KEYS.map((key) => [key, config[`${PROJECT}:${key}`]?.value]));
    return parseSettings(raw, { stack: stackName, readFile: (relative) => readProjectFile(repoRoot, relative, APP_FILE_MAX_BYTES) });
}

export interface PreparedMirror {
    stack: Stack;
    stackName: string;
    branch: string;
    settings: MirrorSettings;
    /** Where the mirror runs: the local default's environment or an external target's place. */
    local: Place;
}

/** What `alongside` is told: the commit and the expiry this run stamps into the stack's config. */
export interface Stamped {
    commit: string;
    expiresAt: string;
}

/**
 * Selects or creates the branch's stack, stamps its config and expiry (and `readyTimeoutSeconds`, when
 * given), builds and pushes its images. `alongside` (the CLI's state checks and tags: `pulumi`
 * processes that would otherwise wait their turn) runs while the images build, and for a stack created
 * now from its creation on, beside the config writes too: those go to the project's Pulumi.<stack>.yaml,
 * tags and state to the backend, and a new stack has no state to recover. The update must not.
 */
export async function prepareMirror(
    ref: BranchRef,
    ttlHours: number,
    local: Place,
    log: Log,
    readyTimeoutSeconds?: number,
    alongside?: (stack: Stack, stamped: Stamped, created: boolean) => Promise<unknown>,
): Promise<PreparedMirror> {
    if (ref.commit === undefined) {
        throw new UsageError(`no commit for ${describeRef(ref)}: pass --commit SHA or run in a git checkout`);
    }
    const stackName = stackNameFor(refKey(ref));
    log(`mirror of ${describeRef(ref)} @ ${ref.commit.slice(0, 7)} in stack ${stackName}`);
    const external = local.external;
    // An external target's stack is looked for before one is created: an emulated mirror with no
    // emulator image would fail only inside pulumi up. A stack found is the one used, with its config.
    const existing = external === undefined ? undefined : await findStack(stackName);
    const existingConfig = existing === undefined ? undefined : await existing.getAllConfig();
    if (external !== undefined) {
        externalDefaults(existingConfig ?? {}, external, stackName);
    }
    const { stack, created } =
        existing === undefined ? await openOrCreateStack(stackName, external?.secrets.kind === "url" ? external.secrets.url : undefined) : { stack: existing, created: false };
    const stamped: Stamped = { commit: ref.commit, expiresAt: expiryFrom(new Date(), ttlHours) };
    // A new stack's tags need nothing of its config: they start now, beside the config writes.
    const early = created ? alongside?.(stack, stamped, created) : undefined;
    // Awaited below, on every path: no unhandled rejection in between.
    early?.catch(() => undefined);
    try {
        const current = existingConfig ?? (await stack.getAllConfig());
        // The docker provider plugin cannot be built here, so the image step builds and pushes, and
        // the program deploys the exact references it pushed.
        const config = await configureStack(stack, {
            branch: ref.branch,
            commit: ref.commit,
            pullRequest: ref.pullRequest === undefined ? undefined : String(ref.pullRequest.number),
            sourceRepo: ref.pullRequest?.sourceRepo,
            expiresAt: stamped.expiresAt,
            // Always this CLI's own: its reap must recognise the mirror's leftovers (a template's value would not be).
            installation: cliInstallation(process.env),
            registryUsername: local.registry.username,
            registryPassword: local.registry.password,
            imageBuilder: "external",
            readyTimeoutSeconds,
        }, current, external === undefined ? await localDefaults(current, local) : externalDefaults(current, external, stackName, operatorGroupOf(process.env)));
        const settings = settingsOf(stack.name, config);
        // Before the build: a registry (or an aws-mode endpoint) that is down fails here in seconds, with
        // nothing pushed and the stack's state untouched, instead of as pods stuck pulling (or the AWS
        // provider retrying) minutes into the update.
        if (external === undefined) {
            const source = settings.registryServer === local.registry.server ? { kind: "local" as const } : { kind: "stack" as const, stackName };
            await checkRegistryAnswers(settings.registryServer, source);
        }
        if (settings.cloudMode === "aws" && settings.awsEndpoint !== undefined) {
            await checkAwsEndpointAnswers(settings.awsEndpoint, stackName);
        }
        const tag = imageTag(refKey(ref), ref.commit);
        // Both end before either's failure is thrown: nothing of this run is left working on the stack
        // once the caller gives up its lock.
        const ended = await Promise.allSettled([
            buildAndPushImages(plannedImageBuilds(settings.app, settings.registryServer, settings.imageRepository, tag, repoRoot), process.env, log, external?.registry),
            early ?? alongside?.(stack, stamped, created),
        ]);
        for (const end of ended) {
            if (end.status === "rejected") {
                throw end.reason;
            }
        }
        return { stack, stackName, branch: ref.branch, settings, local };
    } finally {
        // Ended, whatever failed first (a no-op once the images are built).
        await early?.catch(() => undefined);
    }
}

/** Writes outputs.json (secrets masked) and outputs.env (runnerEnv) for test runners. */
export function writeOutputFiles(outDir: string, outputs: OutputMap): { json: string; dotenv: string } {
    fs.mkdirSync(outDir, { recursive: true });
    const json = path.join(outDir, "outputs.json");
    const dotenv = path.join(outDir, "outputs.env");
    fs.writeFileSync(json, `${JSON.stringify(plainOutputs(outputs), null, 2)}\n`);
    fs.writeFileSync(dotenv, toDotenv(runnerEnvOf(outputs)));
    return { json, dotenv };
}

export function defaultOutDir(stackName: string): string {
    return stackPath(path.join(repoRoot, ".prod-mirror-out"), stackName);
}

/** Each Service's name and port, from the stack's serviceUrls output (`http://<name>.<ns>.svc.<domain>:<port>`). */
export function servicePorts(serviceUrls: Record<string, string>): Array<{ name: string; port: number }> {
    return Object.entries(serviceUrls).map(([name, url]) => ({ name, port: Number(new URL(url).port) }));
}

/** One port-forward per Service of the mirror, on free 127.0.0.1 ports. */
export async function forwardServices(mirror: PreparedMirror, namespace: string, serviceUrls: Record<string, string>): Promise<Forward[]> {
    return startForwards({
        runDir: path.join(mirror.local.mirrorsDir, "run"),
        logDir: path.join(mirror.local.mirrorsDir, "logs"),
        stackName: mirror.stackName,
        namespace,
        services: servicePorts(serviceUrls),
        env: process.env,
    });
}

/** The production description a stack of the local default mirrors, unless its config names another. */
export const LOCAL_APP_FILE = "app/production.yaml";

/**
 * A branch stack made by the CLI starts from the local default: the sample app's production
 * description, emulated AWS, the local registry. Values a developer set are kept: returns only the
 * keys `config` lacks, plus the emulator image when it is the local environment's own.
 */
async function localDefaults(config: ConfigMap, local: Place): Promise<Record<string, string>> {
    const has = (key: string): boolean => config[`${PROJECT}:${key}`] !== undefined;
    const defaults: Record<string, string> = {};
    if (!has("app") && !has("appFile")) {
        defaults.appFile = LOCAL_APP_FILE;
    }
    if (!has("cloudMode")) {
        defaults.cloudMode = "emulated";
    }
    if (!has("registryServer")) {
        defaults.registryServer = local.registry.server;
    }
    // The local environment's KUBECONFIG is that group (local/env.sh shellenv, access/).
    if (!has("operatorGroup")) {
        defaults.operatorGroup = OPERATOR_GROUP;
    }
    // The program has no emulator image of its own: the local environment's is the CLI's to give.
    // It runs by digest: a later push of moto's tag cannot change a running mirror's emulator
    // behind its stack. Re-resolved on each up, unless someone set another image.
    const emulatorImage = config[`${PROJECT}:emulatorImage`]?.value;
    const ours = emulatorImage === undefined || emulatorImage.startsWith(`${local.registry.server}/${LOCAL_EMULATOR_REPOSITORY}@`);
    if ((config[`${PROJECT}:cloudMode`]?.value ?? DEFAULT_CLOUD_MODE) === "emulated" && ours) {
        await checkRegistryAnswers(local.registry.server, { kind: "local" });
        defaults.emulatorImage = await resolveDigestReference(local.registry, LOCAL_EMULATOR_REPOSITORY, localEmulatorTag());
    }
    return defaults;
}

/**
 * What an external target writes into a stack besides the credentials: its registry (always: a
 * stack is the target's, whatever it held before) and the emulator image of emulated mode,
 * PROD_MIRROR_EMULATOR_IMAGE when set (the variable wins over the stack's value: otherwise it could
 * only ever apply to a stack's first up), else the stack's own. Nothing of the local default:
 * no local registry, no local emulator image. Throws, naming both settings, when emulated mode has
 * no image.
 */
export function externalDefaults(config: ConfigMap, target: ExternalTarget, stackName: string, operatorGroup?: string): Record<string, string> {
    const has = (key: string): boolean => config[`${PROJECT}:${key}`] !== undefined;
    const defaults: Record<string, string> = { registryServer: target.registry.server };
    if (operatorGroup !== undefined && !has("operatorGroup")) {
        defaults.operatorGroup = operatorGroup;
    }
    if (!has("app") && !has("appFile")) {
        defaults.appFile = LOCAL_APP_FILE;
    }
    if (!has("cloudMode")) {
        defaults.cloudMode = "emulated";
    }
    const mode = config[`${PROJECT}:cloudMode`]?.value ?? defaults.cloudMode ?? DEFAULT_CLOUD_MODE;
    if (target.emulatorImage !== undefined) {
        defaults.emulatorImage = target.emulatorImage;
    } else if (mode === "emulated" && !has("emulatorImage")) {
        throw new UsageError(`stack ${stackName} runs the AWS emulator (cloudMode emulated) but has no emulator image, and an external target has no local one to give: ` +
            `set PROD_MIRROR_EMULATOR_IMAGE=<registry>/<repository>:<tag> (moto_server with python3 + boto3; local/emulator builds one), ` +
            `or pulumi config set ${PROJECT}:emulatorImage <image> --stack ${stackName}; nothing was created`);
    }
    return defaults;
}

/**
 * The group a mirror's namespace binds to its admin role (prod-mirror:operatorGroup), for an external
 * target: PROD_MIRROR_OPERATOR_GROUP when set, else access/'s group when the cluster says this identity
 * is in it (`kubectl auth whoami`); else none, and the identity needs its rights in the namespace from
 * elsewhere (a cluster-admin, say). Without the binding, the least-privilege identity could create the
 * namespace but nothing in it.
 */
export function operatorGroupOf(env: NodeJS.ProcessEnv): string | undefined {
    const chosen = env.PROD_MIRROR_OPERATOR_GROUP;
    if (chosen !== undefined && chosen !== "") {
        return chosen;
    }
    const whoami = kubectl(["auth", "whoami", "-o", "json"], env, 10_000);
    if (!whoami.ok) {
        return undefined;
    }
    const groups = (JSON.parse(whoami.stdout) as { status?: { userInfo?: { groups?: string[] } } }).status?.userInfo?.groups ?? [];
    return groups.includes(OPERATOR_GROUP) ? OPERATOR_GROUP : undefined;
}

const SURVIVOR_KINDS = "all,secrets,configmaps,serviceaccounts,networkpolicies,resourcequotas,limitranges,jobs,roles,rolebindings";

/**
 * Objects of any kind still labelled with the stack, and the namespace(s) if they survived: across
 * the cluster when the identity may list it (a copy of the pull secret in another namespace counts),
 * else in every namespace of prod-mirror's that the identity may read: the least-privilege identity
 * of access/ reads nothing else, so it (or anyone with its rights) can have copied nothing elsewhere.
 */
export async function survivorsOf(stackName: string, namespace: string | undefined, env: NodeJS.ProcessEnv): Promise<string[]> {
    const selector = `${KEYS.stack}=${labelValue(stackName)}`;
    const lines = (out: string): string[] => out.split("\n").filter((l) => l !== "");
    const named = namespace !== undefined && namespace !== "";
    // All at once: each kubectl is 0.05-0.1 s, and `down` waits on this after the namespace is gone.
    // prod-mirror's namespaces are listed even when the cluster-wide listing then needs none of them.
    const [listed, ns, everywhere, ours] = await Promise.all([
        kubectlAsync(["get", "namespaces", "-l", selector, "-o", "name"], env),
        named ? kubectlAsync(["get", "namespace", namespace, "-o", "name", "--ignore-not-found"], env) : undefined,
        kubectlAsync(["get", SURVIVOR_KINDS, "-A", "-l", selector, "-o", "name"], env),
        kubectlAsync(["get", "namespaces", "-l", `${KEYS.managedBy}=${MANAGED_BY}`, "-o", "name"], env),
    ]);
    if (!listed.ok) {
        return [`(could not list namespaces labelled ${selector}: ${listed.stderr.trim()})`];
    }
    const namespaces = lines(listed.stdout);
    if (named && !namespaces.includes(`namespace/${namespace}`) && ns?.ok === true && ns.stdout.trim() !== "") {
        namespaces.push(ns.stdout.trim());
    }
    if (everywhere.ok) {
        return [...lines(everywhere.stdout), ...namespaces];
    }
    if (!/\bforbidden\b/i.test(everywhere.stderr)) {
        return [`(could not list objects labelled ${selector}: ${everywhere.stderr.trim()})`, ...namespaces];
    }
    const names = [...new Set([...namespaces, ...(ours.ok ? lines(ours.stdout) : [])])].map((n) => n.slice("namespace/".length));
    const inside = await kubectlEach(names.map((name) => ["get", SURVIVOR_KINDS, "-n", name, "-l", selector, "-o", "name"]), env);
    // Refused: another team's mirror, or a namespace being deleted, which loses its RoleBinding early
    // (the namespace itself is then the survivor).
    const found = inside.flatMap((r, i) => (r.ok ? lines(r.stdout).map((o) => `${o} (in ${names[i]})`) : []));
    return [...found, ...namespaces];
}

export interface DestroyResult {
    existed: boolean;
    /** What is still there after the destroy (see survivorsOf). */
    survivors: string[];
}

/** What `down` and `down --forget-state` both begin with: the mirror's port-forwards closed, its stack if the backend has one. */
export async function closeForwardsAndFindStack(key: string, local: { mirrorsDir: string }, log: Log): Promise<{ stackName: string; stack: Stack | undefined }> {
    const stackName = stackNameFor(key);
    const closed = stopForwards(path.join(local.mirrorsDir, "run"), stackName);
    if (closed > 0) {
        log(`closed ${closed} port-forward(s) of ${stackName}`);
    }
    return { stackName, stack: await findStack(stackName) };
}

/**
 * Closes the port-forwards, destroys the mirror, checks nothing survives, removes its stack. `key`
 * is refKey's: a branch mirror's key is its branch. `again` is the command that retries it, for messages.
 */
export async function destroyMirror(key: string, local: { mirrorsDir: string }, log: Log, run: RunContext = {}, again = "prod-mirror down"): Promise<DestroyResult> {
    const { stackName, stack } = await closeForwardsAndFindStack(key, local, log);
    if (stack === undefined) {
        return { existed: false, survivors: [] };
    }
    const survivors = await destroyAndRemoveStack(stack, stackName, process.env, log, (out) => process.stderr.write(out), run, again);
    return { existed: true, survivors };
}

/** A destroy gave up on a namespace that objects with finalizers hold; the message is formatStuckReport's. */
export class StuckNamespaceError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StuckNamespaceError";
    }
}

/**
 * Destroys a mirror's stack and removes it (with its outputs files) only when nothing labelled
 * with it survives; returns the survivors. Shared by `down` and `reap`. `stackName` is the short
 * name the labels carry; `stack.name` may be qualified by organisation and project. Throws
 * ClusterUnreachableError before anything runs when the stack's cluster does not answer, and
 * StuckNamespaceError when the namespace outlived prod-mirror:deleteTimeout; the stack is kept
 * either way, and `again` (the command that retries) is what the message tells the person to run.
 */
export async function destroyAndRemoveStack(
    stack: Stack,
    stackName: string,
    env: NodeJS.ProcessEnv,
    log: Log,
    onOutput: (out: string) => void,
    run: RunContext = {},
    again = "prod-mirror reap",
): Promise<string[]> {
    const access = await clusterAccessOf(stack, env);
    try {
        // Before anything else: against a cluster that is gone, pulumi would retry for minutes.
        probeCluster(access.env);
        // Emptying a namespace takes the API server 5-10 s whatever deletes it; started now, it runs while
        // pulumi starts, reads the state and reaches the Namespace, whose delete then only awaits the end.
        // Only namespaces labelled with this stack: never one a state's outputs merely name.
        // First, while this identity can still read inside them, what in them carries finalizers: the
        // namespace controller deletes the namespace's RoleBinding with the rest, and with it the
        // least-privilege identity's rights there (access/), so a stuck report must be able to do without.
        const selector = `${KEYS.stack}=${labelValue(stackName)}`;
        const held = heldBefore(selector, access.env);
        const early = held.then(() => kubectlAsync(["delete", "namespaces", "-l", selector, "--wait=false"], access.env));
        // A run killed half-way left a lock or pending operations: the destroy needs them cleared too.
        await recoverStack(stack, env, log, run, stackName);
        const namespace = (await maskedOutputs(stack)).namespace?.value as string | undefined;
        try {
            await destroyStack(stack, { onOutput, signal: run.signal });
        } catch (err) {
            // A cancelled destroy leaves a namespace half-way through its ordinary teardown: not stuck.
            const stuck = namespace === undefined || namespace === "" || run.signal?.aborted === true ? undefined : readStuck(namespace, access.env, await held);
            if (stuck?.ns.deletingSince !== undefined) {
                throw new StuckNamespaceError(formatStuckReport(stuck.ns, stuck.objects, again, stuck.listedBefore));
            }
            throw err;
        }
        const started = await early;
        if (!started.ok) {
            // Only time is lost: the destroy deleted the namespace itself.
            log(`could not start deleting ${stackName}'s namespace ahead of the destroy (kubectl ${started.failure}: ${started.stderr.trim()})`);
        }
        const survivors = await survivorsOf(stackName, namespace, access.env);
        if (survivors.length > 0) {
            // Keep the stack: it is the record of what this mirror was, for a second `down` or the reaper.
            return survivors;
        }
        await stack.workspace.removeStack(stack.name);
        fs.rmSync(defaultOutDir(stackName), { recursive: true, force: true });
        return [];
    } finally {
        access.close();
    }
}
