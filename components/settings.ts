// The stack settings: every non-secret prod-mirror: key, its default, and parseSettings, which
// reads them as `pulumi.Config.get` returns them. `index.ts` (and the CLI, to check a stack before
// running it) is the only caller; it hands the raw strings in and gets typed settings back.
import { parseYaml, projectPath } from "./app-file";
import { parseApp } from "./app-parser";
import {
    CLOUD_MODES,
    DEFAULT_AWS_REGION,
    DEFAULT_CLOUD_MODE,
    DEFAULT_CONTAINER_DEFAULTS,
    DEFAULT_DELETE_TIMEOUT_SECONDS,
    DELETE_TIMEOUT_RANGE_SECONDS,
    DEFAULT_IMAGE_BUILDER,
    DEFAULT_IMAGE_REPOSITORY,
    DEFAULT_INSTALLATION,
    DEFAULT_NAME_PREFIX,
    DEFAULT_PREVIEW_DOMAIN,
    DEFAULT_QUOTA,
    dnsSubdomainProblem,
    IMAGE_BUILDERS,
    INSTALLATION_PATTERN,
    INSTALLATION_RULE,
    type AppSpec,
    type CloudMode,
    type ContainerDefaults,
    type ImageBuilder,
    type QuotaSpec,
    type ServiceOverride,
} from "./app-spec";
import { IAM_ROLE_ARN } from "./cloud/aws-workload-policy";
import { ConfigError, missingKeyError, PROJECT, stackFile, Where } from "./config-error";
import { checked, int, matching, object, onlyFields, parseJson, quantity, resources, str } from "./config-fields";
import { DEFAULT_TTL_HOURS, expiryProblem, TTL_MAX_HOURS, TTL_RANGE, ttlProblem } from "./expiry";
import { IMAGE_REFERENCE } from "./image-reference";
import { OPERATOR_GROUP } from "./manifests";
import { DEFAULT_CLUSTER_DOMAIN, prefixProblem } from "./naming";
import { DEFAULT_READY_TIMEOUT_SECONDS, READY_TIMEOUT_RANGE, readyTimeoutProblem } from "./ready-timeout";
import { DEFAULT_PROBE_PERIOD_SECONDS, PROBE_PERIOD_RANGE, probePeriodProblem } from "./rewrite";


/** The registry images are pushed to and pulled from when prod-mirror:registryServer is not set: the local one. */
export const DEFAULT_REGISTRY_SERVER = "127.0.0.1:5000";

/** Everything the program needs from the stack config, except the secrets (read by index.ts). */
export interface MirrorSettings {
    stack: string;
    /** prod-mirror:branch, :commit, :owner. Default: CI variables, then the local git checkout. */
    branch?: string;
    commit?: string;
    owner?: string;
    /**
     * prod-mirror:pullRequest (a number) and :sourceRepo (`owner/repo`, for a fork the fork): set
     * together with :branch, they key the mirror by the pull request (branch-context mirrorKey).
     * Default: the CI's pull request variables when the branch comes from CI, else none.
     */
    pullRequest?: string;
    sourceRepo?: string;
    /** prod-mirror:ttlHours, within expiry.ts's range. Default: DEFAULT_TTL_HOURS (72). */
    ttlHours: number;
    /** prod-mirror:expiresAt, an ISO timestamp that wins over ttlHours (the CLI stamps it); not past, at most TTL_MAX_HOURS away. */
    expiresAt?: string;
    /** prod-mirror:namePrefix. Default: DEFAULT_NAME_PREFIX (`pm`). */
    namePrefix: string;
    /**
     * prod-mirror:readyTimeoutSeconds: how long `up` waits for each workload to become ready, within
     * ready-timeout.ts's range. Default: DEFAULT_READY_TIMEOUT_SECONDS (180).
     */
    readyTimeoutSeconds: number;
    /**
     * prod-mirror:probePeriodSeconds: how often the mirror's containers are probed while they start
     * (the `probe-period` rule); 0 keeps production's probes. Default: DEFAULT_PROBE_PERIOD_SECONDS (1).
     */
    probePeriodSeconds: number;
    /** prod-mirror:installation: which installation's reap may remove this mirror's leftovers. Default: DEFAULT_INSTALLATION. */
    installation: string;
    /**
     * prod-mirror:kubeContext. Default: the kubeconfig's current context. prod-mirror:kubeconfig (a
     * path or the contents, with the cluster's credentials) is not here: index.ts reads it as a secret.
     */
    kubeContext?: string;
    /**
     * prod-mirror:operatorGroup: the Kubernetes group (access/) that runs the mirror with least
     * privilege; the namespace gets a RoleBinding granting it MIRROR_ADMIN_ROLE before anything else
     * goes in. Default: none, no RoleBinding (an identity that is already cluster-admin needs none).
     */
    operatorGroup?: string;
    /** prod-mirror:clusterDomain. Default: DEFAULT_CLUSTER_DOMAIN (`cluster.local`). */
    clusterDomain: string;
    /** prod-mirror:registryServer (default DEFAULT_REGISTRY_SERVER, `127.0.0.1:5000`) and :registryUsername (required). */
    registryServer: string;
    registryUsername: string;
    /** prod-mirror:imageRepository, the path under the registry. Default: DEFAULT_IMAGE_REPOSITORY (`prod-mirror`). */
    imageRepository: string;
    /** prod-mirror:imageBuilder. Default: DEFAULT_IMAGE_BUILDER (`docker`). */
    imageBuilder: ImageBuilder;
    /** prod-mirror:cloudMode. Default: DEFAULT_CLOUD_MODE (`emulated`). */
    cloudMode: CloudMode;
    /** prod-mirror:awsRegion. Default: DEFAULT_AWS_REGION (`us-east-1`). */
    awsRegion: string;
    /** prod-mirror:awsEndpoint: one endpoint for every AWS service (aws mode). Default: real AWS. */
    awsEndpoint?: string;
    /** prod-mirror:awsWorkloadEndpoint: the endpoint as the pods reach it. Default: awsEndpoint. */
    awsWorkloadEndpoint?: string;
    /** prod-mirror:awsWorkloadIdentity: an IAM role ARN the pods get (EKS IRSA) instead of a per-mirror IAM user's key (aws mode). */
    awsWorkloadIdentity?: string;
    /** prod-mirror:emulatorImage. No default: required when cloudMode is emulated (the CLI sets the local environment's, by digest). */
    emulatorImage?: string;
    /** prod-mirror:quota and :containerDefaults, each field optional. */
    quota: QuotaSpec;
    containerDefaults: ContainerDefaults;
    /**
     * prod-mirror:deleteTimeout (`45s`, `2m`): how long a destroy waits for the namespace to go, in
     * seconds. Default: DEFAULT_DELETE_TIMEOUT_SECONDS (120). Recorded in the state by `up`, so a
     * change takes effect at the next `up`.
     */
    deleteTimeoutSeconds: number;
    /** prod-mirror:app or prod-mirror:appFile (exactly one). */
    app: AppSpec;
    /** prod-mirror:overrides, keyed by service name (with a `deployment`: by workload metadata.name). Default: none. */
    overrides: Record<string, ServiceOverride>;
    /** prod-mirror:previewDomain: preview hosts are `<slug>.<previewDomain>`. Default: DEFAULT_PREVIEW_DOMAIN (`localhost`). */
    previewDomain: string;
    /** prod-mirror:previewTlsSecret: the Secret (in the branch namespace) Ingress TLS uses. Default: none (TLS entries are dropped). */
    previewTlsSecret?: string;
}

/** The non-secret config keys, as `pulumi.Config.get` returns them (objects as JSON text). */
export const SETTINGS_KEYS = [
    "branch",
    "commit",
    "owner",
    "pullRequest",
    "sourceRepo",
    "ttlHours",
    "expiresAt",
    "namePrefix",
    "readyTimeoutSeconds",
    "probePeriodSeconds",
    "installation",
    "kubeContext",
    "operatorGroup",
    "clusterDomain",
    "registryServer",
    "registryUsername",
    "imageRepository",
    "imageBuilder",
    "cloudMode",
    "awsRegion",
    "awsEndpoint",
    "awsWorkloadEndpoint",
    "awsWorkloadIdentity",
    "emulatorImage",
    "quota",
    "containerDefaults",
    "deleteTimeout",
    "app",
    "appFile",
    "overrides",
    "previewDomain",
    "previewTlsSecret",
] as const;

export type RawSettings = Partial<Record<(typeof SETTINGS_KEYS)[number], string>>;

/** What parseSettings needs besides the raw values. */
export interface ParseContext {
    stack: string;
    /**
     * Reads a project-relative file (prod-mirror:appFile) whose path passed appFileProblem; index.ts
     * and the CLI pass readProjectFile with APP_FILE_MAX_BYTES, which refuses symbolic links out of
     * the project and larger files before reading them.
     */
    readFile: (relativePath: string) => string;
    /** The time prod-mirror:expiresAt is checked against. Default: the current time. */
    now?: Date;
}

export const REGISTRY = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$/;
const REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-[0-9]+$/;
// What the API server accepts from a client certificate's O=, a ServiceAccount's groups or a cloud
// IAM mapping, without the spaces and commas that would only be typos here.
const GROUP = /^[A-Za-z0-9]([A-Za-z0-9:._@-]*[A-Za-z0-9])?$/;
const DOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** prod-mirror:namePrefix; naming owns the rule (some prefixes are reserved), this only reports it. */
function namePrefix(where: Where, value: string): string {
    const problem = prefixProblem(value);
    if (problem !== undefined) {
        where.fail(problem, value, DEFAULT_NAME_PREFIX);
    }
    return value;
}

function url(where: Where, value: unknown, example: string): string | undefined {
    if (value === undefined) {
        return undefined;
    }
    const text = str(where, value, example);
    if (!/^https?:\/\/[^/\s]+(\/\S*)?$/.test(text)) {
        where.fail("expected an http:// or https:// URL", text, example);
    }
    return text.replace(/\/+$/, "");
}

/** Parses and validates every non-secret key; throws ConfigError naming the key and the fix. */
export function parseSettings(raw: RawSettings, ctx: ParseContext): MirrorSettings {
    const file = stackFile(ctx.stack);
    const at = (key: string): Where => new Where(`${PROJECT}:${key}`, file);
    const value = (key: keyof RawSettings): string | undefined => {
        const v = raw[key];
        return v === undefined || v.trim() === "" ? undefined : v;
    };

    const registryServer = matching(at("registryServer"), value("registryServer") ?? DEFAULT_REGISTRY_SERVER, DEFAULT_REGISTRY_SERVER, REGISTRY, "a registry host[:port] without a scheme");
    const registryUsername = value("registryUsername");
    if (registryUsername === undefined) {
        throw missingKeyError(ctx.stack, "registryUsername", `the user name for the registry at ${registryServer}`, "prod-mirror-ci");
    }

    const cloudMode = value("cloudMode") ?? DEFAULT_CLOUD_MODE;
    if (!CLOUD_MODES.includes(cloudMode as CloudMode)) {
        at("cloudMode").fail(`expected one of ${CLOUD_MODES.join(", ")}`, cloudMode, DEFAULT_CLOUD_MODE);
    }

    const imageBuilder = value("imageBuilder") ?? DEFAULT_IMAGE_BUILDER;
    if (!IMAGE_BUILDERS.includes(imageBuilder as ImageBuilder)) {
        at("imageBuilder").fail(
            `expected one of ${IMAGE_BUILDERS.join(", ")} (docker: Pulumi builds and pushes each service's build; ` +
                "external: the images were pushed beforehand under <registryServer>/<imageRepository>/<service>:<tag>)",
            imageBuilder,
            "external",
        );
    }

    let expiresAt = value("expiresAt");
    if (expiresAt !== undefined) {
        const now = ctx.now ?? new Date();
        const example = new Date(Math.floor(now.getTime() / 1000) * 1000 + DEFAULT_TTL_HOURS * 3_600_000).toISOString().replace(".000Z", "Z");
        const date = new Date(expiresAt);
        if (!/^\d{4}-\d{2}-\d{2}T/.test(expiresAt) || Number.isNaN(date.getTime())) {
            at("expiresAt").fail("expected an ISO 8601 timestamp", expiresAt, example);
        }
        const problem = expiryProblem(date, now);
        if (problem !== undefined) {
            at("expiresAt").fail(`expected a time from now to ${TTL_MAX_HOURS} hours ahead; ${problem} (or remove the key to use ttlHours)`, expiresAt, example);
        }
        expiresAt = date.toISOString();
    }

    const commit = value("commit");
    if (commit !== undefined && !/^[0-9a-fA-F]{7,40}$/.test(commit)) {
        at("commit").fail("expected a git commit SHA of 7 to 40 hex digits", commit, "3f2a9c1");
    }

    const appText = value("app");
    const appFile = value("appFile");
    if ((appText === undefined) === (appFile === undefined)) {
        throw new ConfigError(
            appText === undefined
                ? `${PROJECT}:app is missing from ${file}: set either ${PROJECT}:app (the production description) or ` +
                      `${PROJECT}:appFile (a project-relative YAML/JSON file holding it). Example: ${PROJECT}:appFile: production.yaml`
                : `${PROJECT}:app and ${PROJECT}:appFile are both set in ${file}: keep exactly one of them. ` +
                      `Example: ${PROJECT}:appFile: production.yaml`,
        );
    }
    let app: AppSpec;
    if (appText !== undefined) {
        app = parseApp(at("app"), parseJson(at("app"), appText, '{"services": [...]}'));
    } else {
        const path = projectPath(at("appFile"), appFile, "app/production.yaml");
        let text: string;
        try {
            text = ctx.readFile(path);
        } catch (err) {
            const reason = err instanceof Error ? err.message : String(err);
            return at("appFile").fail(`expected a readable project-relative file (${reason})`, path, "production.yaml");
        }
        const where = new Where("", `${path} (named by ${PROJECT}:appFile in ${file})`, true);
        app = parseApp(where, parseYaml(where, text, "services: [...]"));
    }

    const settings: MirrorSettings = {
        stack: ctx.stack,
        ttlHours: parseTtlHours(at("ttlHours"), value("ttlHours")),
        namePrefix: namePrefix(at("namePrefix"), value("namePrefix") ?? DEFAULT_NAME_PREFIX),
        readyTimeoutSeconds: parseReadyTimeout(at("readyTimeoutSeconds"), value("readyTimeoutSeconds")),
        probePeriodSeconds: parseProbePeriod(at("probePeriodSeconds"), value("probePeriodSeconds")),
        installation: matching(at("installation"), value("installation") ?? DEFAULT_INSTALLATION, "team-a", INSTALLATION_PATTERN, INSTALLATION_RULE),
        clusterDomain: matching(at("clusterDomain"), value("clusterDomain") ?? DEFAULT_CLUSTER_DOMAIN, DEFAULT_CLUSTER_DOMAIN, DOMAIN, "a DNS domain"),
        previewDomain: matching(at("previewDomain"), value("previewDomain") ?? DEFAULT_PREVIEW_DOMAIN, "preview.example.com", DOMAIN, "a DNS domain (preview hosts are <branch>.<domain>)"),
        registryServer,
        registryUsername,
        imageRepository: matching(at("imageRepository"), value("imageRepository") ?? DEFAULT_IMAGE_REPOSITORY, DEFAULT_IMAGE_REPOSITORY, REPOSITORY, "a lowercase repository path"),
        imageBuilder: imageBuilder as ImageBuilder,
        cloudMode: cloudMode as CloudMode,
        awsRegion: matching(at("awsRegion"), value("awsRegion") ?? DEFAULT_AWS_REGION, "eu-west-1", REGION, "an AWS region name"),
        quota: parseQuota(at("quota"), value("quota")),
        containerDefaults: parseContainerDefaults(at("containerDefaults"), value("containerDefaults")),
        deleteTimeoutSeconds: parseDeleteTimeout(at("deleteTimeout"), value("deleteTimeout")),
        app,
        overrides: parseOverrides(at("overrides"), value("overrides"), app),
    };
    const awsWorkloadIdentity = value("awsWorkloadIdentity");
    const emulatorImage = value("emulatorImage");
    const emulatorExample = `${registryServer}/prod-mirror/moto@sha256:${"0123456789abcdef".repeat(4)}`;
    const previewTlsSecret = value("previewTlsSecret");
    const operatorGroup = value("operatorGroup");
    const optional = {
        branch: value("branch"),
        commit: commit?.toLowerCase(),
        owner: value("owner"),
        pullRequest: value("pullRequest"),
        sourceRepo: value("sourceRepo"),
        expiresAt,
        kubeContext: value("kubeContext"),
        operatorGroup: operatorGroup === undefined ? undefined : matching(at("operatorGroup"), operatorGroup, OPERATOR_GROUP, GROUP, "a Kubernetes group name"),
        awsEndpoint: url(at("awsEndpoint"), value("awsEndpoint"), "http://127.0.0.1:4566"),
        awsWorkloadEndpoint: url(at("awsWorkloadEndpoint"), value("awsWorkloadEndpoint"), "http://aws.internal:4566"),
        previewTlsSecret: previewTlsSecret === undefined ? undefined : checked(at("previewTlsSecret"), previewTlsSecret, "preview-tls", dnsSubdomainProblem),
        awsWorkloadIdentity: awsWorkloadIdentity === undefined ? undefined : matching(at("awsWorkloadIdentity"), awsWorkloadIdentity, "arn:aws:iam::123456789012:role/prod-mirror-workloads", IAM_ROLE_ARN, "an IAM role ARN (the role the platform gives the pods)"),
        emulatorImage: emulatorImage === undefined ? undefined : matching(at("emulatorImage"), emulatorImage, emulatorExample, IMAGE_REFERENCE, "an image reference, name:tag or name@sha256:<64 hex digits>"),
    };
    for (const [k, v] of Object.entries(optional)) {
        if (v !== undefined) {
            (settings as unknown as Record<string, string>)[k] = v;
        }
    }
    // The program knows no emulator image: which one exists depends on how the cluster and registry were built.
    if (settings.cloudMode === "emulated" && emulatorImage === undefined) {
        throw missingKeyError(ctx.stack, "emulatorImage", "the AWS emulator's image (moto_server with python3 + boto3), required when cloudMode is emulated; the CLI sets the local environment's", emulatorExample);
    }
    return settings;
}

/** prod-mirror:ttlHours: whole hours within the one lifetime range (expiry.ts). */
function parseTtlHours(where: Where, text: string | undefined): number {
    return wholeNumber(where, text, DEFAULT_TTL_HOURS, (hours) => Number.isInteger(hours) && ttlProblem(hours) === undefined, `expected a whole number of hours; ${TTL_RANGE}`);
}

/** prod-mirror:deleteTimeout: whole seconds or minutes (`45s`, `2m`) within DELETE_TIMEOUT_RANGE_SECONDS. */
function parseDeleteTimeout(where: Where, text: string | undefined): number {
    if (text === undefined) {
        return DEFAULT_DELETE_TIMEOUT_SECONDS;
    }
    const m = /^([0-9]{1,5})(s|m)$/.exec(text.trim());
    const seconds = m === null ? NaN : Number(m[1]) * (m[2] === "m" ? 60 : 1);
    const { min, max } = DELETE_TIMEOUT_RANGE_SECONDS;
    if (!(seconds >= min && seconds <= max)) {
        where.fail(`expected whole seconds or minutes from ${min}s to ${max / 60}m, like 45s or 2m`, text, `"${DEFAULT_DELETE_TIMEOUT_SECONDS / 60}m"`);
    }
    return seconds;
}

/** prod-mirror:readyTimeoutSeconds: whole seconds within the one readiness range (ready-timeout.ts). */
function parseReadyTimeout(where: Where, text: string | undefined): number {
    return wholeNumber(where, text, DEFAULT_READY_TIMEOUT_SECONDS, (seconds) => readyTimeoutProblem(seconds) === undefined, `expected a whole number of seconds; ${READY_TIMEOUT_RANGE}`);
}

/** prod-mirror:probePeriodSeconds: whole seconds within the probe period range (rewrite.ts). */
function parseProbePeriod(where: Where, text: string | undefined): number {
    return wholeNumber(where, text, DEFAULT_PROBE_PERIOD_SECONDS, (seconds) => probePeriodProblem(seconds) === undefined, PROBE_PERIOD_RANGE);
}

/**
 * A setting written as digits only: `fallback` when unset; otherwise the number, when `valid` takes
 * it, else `where` fails with `expected` and the default as the example.
 */
function wholeNumber(where: Where, text: string | undefined, fallback: number, valid: (n: number) => boolean, expected: string): number {
    if (text === undefined) {
        return fallback;
    }
    const n = /^[0-9]+$/.test(text.trim()) ? Number(text) : NaN;
    if (!valid(n)) {
        where.fail(expected, text, `"${fallback}"`);
    }
    return n;
}

function parseQuota(where: Where, text: string | undefined): QuotaSpec {
    const example = '{"requestsCpu": "4", "requestsMemory": "8Gi", "limitsCpu": "8", "limitsMemory": "16Gi", "pods": 50}';
    if (text === undefined) {
        return { ...DEFAULT_QUOTA };
    }
    const obj = object(where, parseJson(where, text, example), example);
    onlyFields(where, obj, Object.keys(DEFAULT_QUOTA), example);
    return {
        requestsCpu: obj.requestsCpu === undefined ? DEFAULT_QUOTA.requestsCpu : quantity(where.field("requestsCpu"), obj.requestsCpu, '"4"'),
        requestsMemory: obj.requestsMemory === undefined ? DEFAULT_QUOTA.requestsMemory : quantity(where.field("requestsMemory"), obj.requestsMemory, '"8Gi"'),
        limitsCpu: obj.limitsCpu === undefined ? DEFAULT_QUOTA.limitsCpu : quantity(where.field("limitsCpu"), obj.limitsCpu, '"8"'),
        limitsMemory: obj.limitsMemory === undefined ? DEFAULT_QUOTA.limitsMemory : quantity(where.field("limitsMemory"), obj.limitsMemory, '"16Gi"'),
        pods: obj.pods === undefined ? DEFAULT_QUOTA.pods : int(where.field("pods"), obj.pods, 1, 1000, "50"),
    };
}

function parseContainerDefaults(where: Where, text: string | undefined): ContainerDefaults {
    const example = '{"requestCpu": "50m", "requestMemory": "64Mi", "limitCpu": "500m", "limitMemory": "256Mi"}';
    if (text === undefined) {
        return { ...DEFAULT_CONTAINER_DEFAULTS };
    }
    const obj = object(where, parseJson(where, text, example), example);
    onlyFields(where, obj, Object.keys(DEFAULT_CONTAINER_DEFAULTS), example);
    const pick = (field: keyof ContainerDefaults): string =>
        obj[field] === undefined ? DEFAULT_CONTAINER_DEFAULTS[field] : quantity(where.field(field), obj[field], JSON.stringify(DEFAULT_CONTAINER_DEFAULTS[field]));
    return {
        requestCpu: pick("requestCpu"),
        requestMemory: pick("requestMemory"),
        limitCpu: pick("limitCpu"),
        limitMemory: pick("limitMemory"),
    };
}

function parseOverrides(where: Where, text: string | undefined, app: AppSpec): Record<string, ServiceOverride> {
    const names = app.services.map((s) => s.name);
    const example = `{"${names[0] ?? "api"}": {"replicas": 1, "resources": {"limits": {"memory": "128Mi"}}}}`;
    if (text === undefined) {
        return {};
    }
    const obj = object(where, parseJson(where, text, example), example);
    const out: Record<string, ServiceOverride> = {};
    for (const [service, value] of Object.entries(obj)) {
        const w = where.field(service);
        // With production's own deployment the workloads are known only once it is rendered: the
        // key is checked as a name here, and the rewrite reports an override that matches nothing.
        if (app.deployment !== undefined) {
            const problem = dnsSubdomainProblem(service);
            if (problem !== undefined) {
                w.fail(`a workload's metadata.name from production's deployment: ${problem}`, service, example);
            }
        } else if (!names.includes(service)) {
            w.fail(`a declared service (${names.join(", ")})`, service, example);
        }
        const o = object(w, value, '{"replicas": 1}');
        onlyFields(w, o, ["replicas", "resources"], '{"replicas": 1}');
        const override: ServiceOverride = {};
        if (o.replicas !== undefined) {
            override.replicas = int(w.field("replicas"), o.replicas, 0, 50, "1");
        }
        const res = resources(w.field("resources"), o.resources);
        if (res !== undefined) {
            override.resources = res;
        }
        out[service] = override;
    }
    return out;
}
