// Where a mirror runs: the embedded local default, or an external target (cluster, registry, state
// backend, secrets provider) taken from the settings people already use. Pure: the environment, the
// command line's flags and the local environment's own values are passed in, and every missing or
// invalid part is reported at once, each with the variable that supplies it. The contract is
// /work/shared TARGET.md's table; where this module departs from it, a comment says why.
import { REGISTRY } from "../components/settings";
import { parseBackendUrl, redactBackendUrl, type Backend } from "./backend-url";

/** `PROD_MIRROR_TARGET`: `local` forces the local default, `external` an external target. */
export const TARGET_ENV = "PROD_MIRROR_TARGET";

/** The command line's part of a target. */
export interface TargetFlags {
    /** `--kubeconfig PATH` (absolute: the caller resolves it against its working directory). */
    kubeconfig?: string;
    /** `--context NAME`. */
    context?: string;
    /** What `--registry-password-stdin` read. */
    registryPassword?: string;
}

/**
 * The local default's own values of the variables that choose a target: what `local/env.sh shellenv`
 * exports, and what the CLI gives its children (a mirrors directory of its own has its own backend),
 * so both a shell that ran shellenv and a process the CLI or a test suite started stay local.
 */
export interface LocalValues {
    KUBECONFIG?: readonly string[];
    PULUMI_BACKEND_URL?: readonly string[];
    PROD_MIRROR_REGISTRY?: readonly string[];
}

export type ClusterTarget =
    /** `kubeconfig` is a path (or kubectl's colon-separated list); no context means its current one. */
    | { kind: "kubeconfig"; kubeconfig: string; context?: string; source: string }
    /** The pod's service account: the API server at KUBERNETES_SERVICE_HOST:PORT. */
    | { kind: "in-cluster"; server: string; source: string };

export interface RegistryCredentials {
    username: string;
    password: string;
    /** The variables (or flag) they came from, for messages. */
    source: string;
}

export interface RegistryTarget {
    server: string;
    serverSource: string;
    /** What the image step logs in with. */
    push: RegistryCredentials;
    /** What the mirror's pull secret carries: it outlives the job that pushed. */
    pull: RegistryCredentials;
}

export type SecretsProvider =
    | { kind: "passphrase"; source: "PULUMI_CONFIG_PASSPHRASE" | "PULUMI_CONFIG_PASSPHRASE_FILE" }
    /** A KMS (or vault) URL, passed to the Automation API when the stack is created. */
    | { kind: "url"; url: string; source: "PROD_MIRROR_SECRETS_PROVIDER" }
    /** Pulumi Cloud's own, the default of a Cloud backend. */
    | { kind: "service" };

export interface ExternalTarget {
    kind: "external";
    /** Why this target is external, e.g. `PULUMI_BACKEND_URL is set` or `PROD_MIRROR_TARGET=external`. */
    reason: string;
    cluster: ClusterTarget;
    registry: RegistryTarget;
    backend: Backend;
    secrets: SecretsProvider;
    /** PROD_MIRROR_EMULATOR_IMAGE, when set; otherwise the stack's prod-mirror:emulatorImage (see prepareMirror). */
    emulatorImage?: string;
}

export type Target = { kind: "local"; reason: string } | ExternalTarget;

export class TargetError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "TargetError";
    }
}

/** GitHub's registry: what GITHUB_ACTOR/GITHUB_TOKEN log in to. */
export const GITHUB_REGISTRY = "ghcr.io";

const SECRETS_PROVIDER_URL = /^(awskms|azurekeyvault|gcpkms|hashivault):\/\/\S+$/;

type Env = Readonly<Record<string, string | undefined>>;

/** A variable's value, or undefined when it is unset or empty (CI systems export unset variables as ""). */
function get(env: Env, name: string): string | undefined {
    const value = env[name];
    return value === undefined || value === "" ? undefined : value;
}

/**
 * Local or external, and why. External when forced, or when any of the choosing settings is set to
 * a value other than the local environment's own: a shell that ran `eval "$(local/env.sh shellenv)"`
 * still gets the local default.
 */
function chooseKind(env: Env, flags: TargetFlags, local: LocalValues): { kind: "local" | "external"; reason: string } {
    const forced = get(env, TARGET_ENV);
    if (forced !== undefined && forced !== "local" && forced !== "external") {
        throw new TargetError(`${TARGET_ENV} ${JSON.stringify(forced)} is not a target: set ${TARGET_ENV}=local (the local default) or ${TARGET_ENV}=external, or unset it`);
    }
    const triggers: string[] = [];
    if (flags.kubeconfig !== undefined && !(local.KUBECONFIG ?? []).includes(flags.kubeconfig)) triggers.push("--kubeconfig");
    if (flags.context !== undefined) triggers.push("--context");
    const differs = (name: string, localValues: readonly string[] | undefined): void => {
        const value = get(env, name);
        if (value !== undefined && !(localValues ?? []).includes(value)) triggers.push(name);
    };
    differs("KUBECONFIG", local.KUBECONFIG);
    differs("PROD_MIRROR_REGISTRY", local.PROD_MIRROR_REGISTRY);
    differs("CI_REGISTRY", local.PROD_MIRROR_REGISTRY);
    differs("PULUMI_BACKEND_URL", local.PULUMI_BACKEND_URL);
    if (forced === "local") {
        const flagged = triggers.filter((t) => t.startsWith("--"));
        if (flagged.length > 0) {
            throw new TargetError(`${flagged.join(" and ")} choose an external cluster, but ${TARGET_ENV}=local forces the local default: drop ${flagged.join(" and ")} or unset ${TARGET_ENV}`);
        }
        return { kind: "local", reason: `${TARGET_ENV}=local` };
    }
    if (forced === "external") {
        return { kind: "external", reason: `${TARGET_ENV}=external` };
    }
    if (triggers.length > 0) {
        return { kind: "external", reason: `${triggers.join(", ")} ${triggers.length === 1 ? "is" : "are"} set` };
    }
    return { kind: "local", reason: "nothing chooses another target" };
}

function resolveCluster(env: Env, flags: TargetFlags, forcedExternal: boolean, problems: string[]): ClusterTarget | undefined {
    const context = flags.context;
    if (flags.kubeconfig !== undefined) {
        return { kind: "kubeconfig", kubeconfig: flags.kubeconfig, context, source: context === undefined ? "--kubeconfig" : "--kubeconfig and --context" };
    }
    const fromEnv = get(env, "KUBECONFIG");
    if (fromEnv !== undefined) {
        return { kind: "kubeconfig", kubeconfig: fromEnv, context, source: context === undefined ? "KUBECONFIG (its current context)" : "KUBECONFIG and --context" };
    }
    const home = get(env, "HOME");
    if (context !== undefined && home !== undefined) {
        // kubectl's own default file: --context names a context, so there is a file the person means.
        return { kind: "kubeconfig", kubeconfig: `${home.replace(/\/+$/, "")}/.kube/config`, context, source: "--context (in $HOME/.kube/config)" };
    }
    const host = get(env, "KUBERNETES_SERVICE_HOST");
    // Only when asked for: a CLI that happens to run in a pod must not deploy to that pod's cluster
    // because nothing else was set.
    if (forcedExternal && host !== undefined) {
        const port = get(env, "KUBERNETES_SERVICE_PORT") ?? "443";
        return { kind: "in-cluster", server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`, source: "the pod's service account (KUBERNETES_SERVICE_HOST)" };
    }
    problems.push("cluster: none given; set KUBECONFIG=/path/to/kubeconfig or pass --kubeconfig PATH [--context NAME] (inside a pod, PROD_MIRROR_TARGET=external uses its service account)");
    return undefined;
}

/** The first pair that is set, or a problem for a half-given pair. */
function pair(env: Env, user: string, password: string, problems: string[], passwordValue = get(env, password), passwordSource = password): RegistryCredentials | undefined {
    const u = get(env, user);
    if (u === undefined && passwordValue === undefined) {
        return undefined;
    }
    if (u === undefined) {
        problems.push(`registry credentials: ${passwordSource} is set but ${user} is not: set ${user} to the user name that password belongs to`);
        return undefined;
    }
    if (passwordValue === undefined) {
        problems.push(`registry credentials: ${user} is set but ${password} is not: set it${password === "PROD_MIRROR_REGISTRY_PASSWORD" ? " or pass --registry-password-stdin" : ""}`);
        return undefined;
    }
    return { username: u, password: passwordValue, source: `${user}/${passwordSource}` };
}

function resolveRegistry(env: Env, flags: TargetFlags, problems: string[]): RegistryTarget | undefined {
    const ciRegistry = get(env, "CI_REGISTRY");
    const github = get(env, "GITHUB_ACTIONS") === "true" && get(env, "GITHUB_TOKEN") !== undefined;
    const explicit = get(env, "PROD_MIRROR_REGISTRY");
    // GitHub exports no registry variable: in a job that was given GITHUB_TOKEN, its registry is the one meant.
    const [server, serverSource] =
        explicit !== undefined ? [explicit, "PROD_MIRROR_REGISTRY"] : ciRegistry !== undefined ? [ciRegistry, "CI_REGISTRY"] : github ? [GITHUB_REGISTRY, "GITHUB_TOKEN (GitHub's registry)"] : [undefined, ""];
    if (server === undefined) {
        problems.push("registry: none given; set PROD_MIRROR_REGISTRY=host[:port] (GitLab CI sets CI_REGISTRY; a GitHub job with GITHUB_TOKEN uses ghcr.io)");
        return undefined;
    }
    if (!REGISTRY.test(server)) {
        problems.push(`registry: ${serverSource} ${JSON.stringify(server)} is not a registry host[:port] without a scheme, e.g. registry.example.com or 10.0.0.5:5000`);
        return undefined;
    }
    // CI credentials are the CI registry's: never sent to another registry the person named.
    const isCi = server === ciRegistry;
    const isGithub = server === GITHUB_REGISTRY;
    const before = problems.length;
    const push =
        pair(env, "PROD_MIRROR_REGISTRY_USER", "PROD_MIRROR_REGISTRY_PASSWORD", problems, flags.registryPassword ?? get(env, "PROD_MIRROR_REGISTRY_PASSWORD"), flags.registryPassword === undefined ? "PROD_MIRROR_REGISTRY_PASSWORD" : "--registry-password-stdin") ??
        (isCi ? pair(env, "CI_REGISTRY_USER", "CI_REGISTRY_PASSWORD", problems) : undefined) ??
        (isGithub ? pair(env, "GITHUB_ACTOR", "GITHUB_TOKEN", problems) : undefined);
    const pull =
        pair(env, "PROD_MIRROR_PULL_USER", "PROD_MIRROR_PULL_PASSWORD", problems) ??
        // A GitLab deploy token outlives the job; CI_REGISTRY_PASSWORD stops working when the job ends.
        (isCi ? pair(env, "CI_DEPLOY_USER", "CI_DEPLOY_PASSWORD", problems) : undefined) ??
        push;
    if (problems.length > before) {
        return undefined;
    }
    if (push === undefined || pull === undefined) {
        problems.push(`registry credentials for ${server}: none given; set PROD_MIRROR_REGISTRY_USER and PROD_MIRROR_REGISTRY_PASSWORD (or pass --registry-password-stdin)` +
            `${isCi ? ", or CI_REGISTRY_USER/CI_REGISTRY_PASSWORD" : ""}${isGithub ? ", or GITHUB_ACTOR/GITHUB_TOKEN" : ""}`);
        return undefined;
    }
    return { server, serverSource, push, pull };
}

function resolveBackend(env: Env, problems: string[]): Backend | undefined {
    const url = get(env, "PULUMI_BACKEND_URL");
    if (url === undefined) {
        problems.push("state backend: none given; set PULUMI_BACKEND_URL, e.g. s3://my-bucket/mirrors?region=eu-west-1, file:///var/lib/mirrors or https://api.pulumi.com");
        return undefined;
    }
    try {
        const backend = parseBackendUrl(url, "PULUMI_BACKEND_URL");
        // The CLI runs pulumi with a PULUMI_HOME of its own, where no `pulumi login` is stored.
        if (backend.kind === "cloud" && get(env, "PULUMI_ACCESS_TOKEN") === undefined) {
            problems.push(`state backend: PULUMI_BACKEND_URL ${url} is Pulumi Cloud, which needs PULUMI_ACCESS_TOKEN: set it to an access token of the organisation`);
            return undefined;
        }
        return backend;
    } catch (err) {
        problems.push(`state backend: ${(err as Error).message}`);
        return undefined;
    }
}

function resolveSecrets(env: Env, backend: Backend | undefined, problems: string[]): SecretsProvider | undefined {
    if (env.PULUMI_CONFIG_PASSPHRASE !== undefined) {
        // Set to "" is a choice (an empty passphrase), not an absence: pulumi accepts it.
        return { kind: "passphrase", source: "PULUMI_CONFIG_PASSPHRASE" };
    }
    if (get(env, "PULUMI_CONFIG_PASSPHRASE_FILE") !== undefined) {
        return { kind: "passphrase", source: "PULUMI_CONFIG_PASSPHRASE_FILE" };
    }
    const url = get(env, "PROD_MIRROR_SECRETS_PROVIDER");
    if (url !== undefined) {
        if (!SECRETS_PROVIDER_URL.test(url)) {
            problems.push(`secrets provider: PROD_MIRROR_SECRETS_PROVIDER ${JSON.stringify(url)} is not a KMS URL: give awskms://, azurekeyvault://, gcpkms:// or hashivault://, ` +
                "e.g. awskms://alias/prod-mirror?region=eu-west-1 (or set PULUMI_CONFIG_PASSPHRASE for a passphrase)");
            return undefined;
        }
        return { kind: "url", url, source: "PROD_MIRROR_SECRETS_PROVIDER" };
    }
    if (backend?.kind === "cloud") {
        return { kind: "service" };
    }
    if (backend !== undefined) {
        problems.push(`secrets provider: none for ${backend.kind}:// state; set PULUMI_CONFIG_PASSPHRASE, PULUMI_CONFIG_PASSPHRASE_FILE=/path/to/file, ` +
            "or PROD_MIRROR_SECRETS_PROVIDER=awskms://alias/prod-mirror?region=eu-west-1");
    }
    return undefined;
}

/**
 * The target the environment and flags choose. Throws one TargetError listing every missing or
 * invalid part of an external target, each with the variable that supplies it; never reads
 * `local`'s values into an external target (they only tell which settings are the local default's).
 */
export function resolveTarget(env: Env, flags: TargetFlags, local: LocalValues): Target {
    const chosen = chooseKind(env, flags, local);
    if (chosen.kind === "local") {
        return { kind: "local", reason: chosen.reason };
    }
    const problems: string[] = [];
    const cluster = resolveCluster(env, flags, get(env, TARGET_ENV) === "external", problems);
    const registry = resolveRegistry(env, flags, problems);
    const backend = resolveBackend(env, problems);
    const secrets = resolveSecrets(env, backend, problems);
    if (problems.length > 0 || cluster === undefined || registry === undefined || backend === undefined || secrets === undefined) {
        throw new TargetError(`an external target (chosen because ${chosen.reason}) needs a cluster, a registry and a state backend; ` +
            `${problems.length === 1 ? "one part is" : `${problems.length} parts are`} missing or invalid:\n  - ${problems.join("\n  - ")}\n` +
            `or set ${TARGET_ENV}=local for the local default`);
    }
    const emulatorImage = get(env, "PROD_MIRROR_EMULATOR_IMAGE");
    return { kind: "external", reason: chosen.reason, cluster, registry, backend, secrets, ...(emulatorImage === undefined ? {} : { emulatorImage }) };
}

/** One line per part, for `doctor` and the start of each command: never a password. */
export function describeTarget(target: Target): string[] {
    if (target.kind === "local") {
        return [`target:    local default (${target.reason})`];
    }
    const c = target.cluster;
    const r = target.registry;
    const s = target.secrets;
    return [
        `target:    external (${target.reason})`,
        `cluster:   ${c.kind === "in-cluster" ? `${c.server} (${c.source})` : `${c.kubeconfig}${c.context === undefined ? "" : ` context ${c.context}`} (${c.source})`}`,
        `registry:  ${r.server} (${r.serverSource}); push as ${r.push.username} (${r.push.source}); pull as ${r.pull.username} (${r.pull.source})`,
        `backend:   ${redactBackendUrl(target.backend.url)} (PULUMI_BACKEND_URL)`,
        `secrets:   ${s.kind === "passphrase" ? `passphrase (${s.source})` : s.kind === "url" ? `${s.url.replace(/\?.*$/, "")} (${s.source})` : "Pulumi Cloud's own"}`,
    ];
}
