// The stack configuration: its schema, defaults, parsing and validation, as pure functions.
// `index.ts` is the only caller and the only place that reads `pulumi.Config`; it hands the raw
// strings in and gets typed settings back. Every error names the key, the stack file, the bad
// value and an example, because the person reading it is editing that file.
import * as yaml from "js-yaml";
import { IAM_ROLE_ARN } from "./aws-workload-policy";
import { envCollision, type DescriptionPath } from "./env-contract";
import { RUN_AS } from "./manifests";
import { DEFAULT_TTL_HOURS, expiryProblem, TTL_MAX_HOURS, TTL_RANGE, ttlProblem } from "./expiry";
import { IMAGE_REFERENCE } from "./image-reference";
import { DEFAULT_CLUSTER_DOMAIN, prefixProblem, resourceNameProblem } from "./naming";

/** The Pulumi project name, and so the namespace of every config key. */
export const PROJECT = "prod-mirror";

/**
 * The installation a mirror belongs to when prod-mirror:installation is not set. The CLI always
 * sets it (see cli/installation.ts); a stack made with plain `pulumi up` gets this value.
 */
export const DEFAULT_INSTALLATION = "default";

/**
 * An installation id is used verbatim as a label value and an AWS tag value, and reap compares it
 * for equality, so it must pass both layers unchanged: no sanitising that could make two ids meet.
 */
export const INSTALLATION_PATTERN = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;
export const INSTALLATION_RULE = "1 to 40 lowercase letters, digits and hyphens, starting and ending with a letter or digit";

/** The namespace and cloud-name prefix when prod-mirror:namePrefix is not set. */
export const DEFAULT_NAME_PREFIX = "pm";

/** Thrown for a missing or malformed configuration value. */
export class ConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ConfigError";
    }
}

/** The stack's config file, as errors name it. */
export function stackFile(stack: string): string {
    return `Pulumi.${stack}.yaml`;
}

/** `<key> is missing from Pulumi.<stack>.yaml: <what>. Example: ...` */
export function missingKeyError(stack: string, key: string, what: string, example: string, secret = false): ConfigError {
    const full = `${PROJECT}:${key}`;
    const command = `pulumi config set${secret ? " --secret" : ""} ${full} ${example}`;
    return new ConfigError(`${full} is missing from ${stackFile(stack)}: ${what}. Set it with: ${command}`);
}

/**
 * Where a value came from: a config key path and the file holding it. `quiet` values come from a
 * file (prod-mirror:appFile) and are described, never quoted: a path pointing at the wrong file
 * (a credentials file, say) must not print its contents into a CI log.
 */
class Where {
    constructor(
        readonly path: string,
        readonly file: string,
        readonly quiet = false,
    ) {}

    field(name: string): Where {
        return new Where(this.path === "" ? name : `${this.path}.${name}`, this.file, this.quiet);
    }

    item(index: number): Where {
        return new Where(`${this.path}[${index}]`, this.file, this.quiet);
    }

    /** The path of a description's part, from this one. */
    at(parts: DescriptionPath): Where {
        return parts.reduce<Where>((w, part) => (typeof part === "number" ? w.item(part) : w.field(part)), this);
    }

    /** `<path> in <file> is invalid: <problem>`, for a problem that names its values and fix itself. */
    invalid(problem: string): never {
        throw new ConfigError(`${this.path === "" ? "the document" : this.path} in ${this.file} is invalid: ${problem}`);
    }

    /** `<path> in <file> is invalid: <problem>, got <value>. Example: <path>: <example>` */
    fail(problem: string, got: unknown, example: string): never {
        const path = this.path === "" ? "the document" : this.path;
        throw new ConfigError(`${path} in ${this.file} is invalid: ${problem}, got ${this.quiet ? describe(got) : show(got)}. Example: ${path}: ${example}`);
    }
}

/** What a value is, without any of its content. */
function describe(value: unknown): string {
    if (value === undefined || value === null) {
        return "nothing";
    }
    if (typeof value === "string") {
        return `a string of ${value.length} characters`;
    }
    if (Array.isArray(value)) {
        return `a list of ${value.length} items`;
    }
    if (typeof value === "object") {
        return `an object with ${Object.keys(value).length} fields`;
    }
    return `a ${typeof value}`;
}

function show(value: unknown): string {
    if (value === undefined) {
        return "nothing";
    }
    const text = JSON.stringify(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

// ---------------------------------------------------------------------------------------------
// Typed settings

/** `aws`: @pulumi/aws resources on real AWS or any endpoint. `emulated`: an emulator in the namespace. */
export type CloudMode = "aws" | "emulated";
export const CLOUD_MODES: readonly CloudMode[] = ["emulated", "aws"];

/**
 * Who builds the images of services with a `build` section. `docker`: AppImage builds and pushes
 * them with @pulumi/docker. `external`: something outside Pulumi (the CLI's image step, CI) already
 * pushed them as `<registryServer>/<imageRepository>/<service>:<tag>`, and AppImage deploys exactly
 * that reference. Services with a prebuilt `image` are deployed as they are either way.
 */
export type ImageBuilder = "docker" | "external";
export const IMAGE_BUILDERS: readonly ImageBuilder[] = ["docker", "external"];

/** CPU and memory as Kubernetes quantities. */
export interface ResourceAmounts {
    cpu?: string;
    memory?: string;
}

/** A container's requests and limits. */
export interface ResourceRequirements {
    requests?: ResourceAmounts;
    limits?: ResourceAmounts;
}

/** How a service's image is built with @pulumi/docker. */
export interface BuildSpec {
    /** Build context, relative to the project directory. */
    context: string;
    /** Dockerfile path, relative to the project directory. Default: `<context>/Dockerfile`. */
    dockerfile?: string;
    /** Build arguments. Default: none. */
    args: Record<string, string>;
    /** Target stage. Default: the last stage. */
    target?: string;
}

/** What a service uses: each entry wires environment variables into its containers. */
export interface ServiceUses {
    /** Queue names: `<NAME>_QUEUE_URL` and `<NAME>_QUEUE_NAME`. */
    queues: string[];
    /** Bucket names: `<NAME>_BUCKET`. */
    buckets: string[];
    /** Table names: `<NAME>_TABLE`. */
    tables: string[];
    /** Other services: `<NAME>_URL`, the in-cluster URL. */
    services: string[];
}

/** One service of the production description. */
export interface ServiceSpec {
    /** DNS-1035 label of at most 24 characters; also the Kubernetes Service name. */
    name: string;
    /** The container port, also the Service port. The container gets it as PORT. */
    port: number;
    /** A prebuilt image reference; `{tag}` is replaced by `<branch-slug>-<sha7>`. Exclusive with build. */
    image?: string;
    /** Build and push the image instead. Exclusive with image. */
    build?: BuildSpec;
    /** Extra environment variables. Default: none. */
    env: Record<string, string>;
    /** Replicas. Default: 1. */
    replicas: number;
    /** Requests and limits. Default: the namespace's LimitRange defaults. */
    resources?: ResourceRequirements;
    /** HTTP readiness probe path. Default: `/healthz`. */
    readinessPath: string;
    /** Cloud resources and services this one uses. Default: none. */
    uses: ServiceUses;
}

/** An SQS queue the application declares. */
export interface QueueSpec {
    name: string;
    /** Default: 30. */
    visibilityTimeoutSeconds: number;
}

/** An S3 bucket the application declares (emptied on destroy). */
export interface BucketSpec {
    name: string;
}

export type KeyType = "S" | "N" | "B";

/** A DynamoDB table the application declares (on-demand billing). */
export interface TableSpec {
    name: string;
    hashKey: string;
    /** Default: S. */
    hashKeyType: KeyType;
    rangeKey?: string;
    /** Default: S. */
    rangeKeyType: KeyType;
}

/** The per-branch cloud resources. */
export interface CloudSpec {
    queues: QueueSpec[];
    buckets: BucketSpec[];
    tables: TableSpec[];
}

/** The production description of the application. */
export interface AppSpec {
    services: ServiceSpec[];
    cloud: CloudSpec;
}

/** What the mirror changes from production, per service. */
export interface ServiceOverride {
    replicas?: number;
    resources?: ResourceRequirements;
}

/** The namespace's ResourceQuota. */
export interface QuotaSpec {
    requestsCpu: string;
    requestsMemory: string;
    limitsCpu: string;
    limitsMemory: string;
    pods: number;
}

/** The namespace's LimitRange: what a container gets when it says nothing. */
export interface ContainerDefaults {
    requestCpu: string;
    requestMemory: string;
    limitCpu: string;
    limitMemory: string;
}

export const DEFAULT_QUOTA: QuotaSpec = {
    requestsCpu: "4",
    requestsMemory: "8Gi",
    limitsCpu: "8",
    limitsMemory: "16Gi",
    pods: 50,
};

export const DEFAULT_CONTAINER_DEFAULTS: ContainerDefaults = {
    requestCpu: "50m",
    requestMemory: "64Mi",
    limitCpu: "500m",
    limitMemory: "256Mi",
};

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
    /** prod-mirror:installation: which installation's reap may remove this mirror's leftovers. Default: DEFAULT_INSTALLATION. */
    installation: string;
    /**
     * prod-mirror:kubeContext. Default: the kubeconfig's current context. prod-mirror:kubeconfig (a
     * path or the contents, with the cluster's credentials) is not here: index.ts reads it as a secret.
     */
    kubeContext?: string;
    /** prod-mirror:clusterDomain. Default: `cluster.local`. */
    clusterDomain: string;
    /** prod-mirror:registryServer (default `127.0.0.1:5000`) and :registryUsername (required). */
    registryServer: string;
    registryUsername: string;
    /** prod-mirror:imageRepository, the path under the registry. Default: `prod-mirror`. */
    imageRepository: string;
    /** prod-mirror:imageBuilder. Default: `docker`. */
    imageBuilder: ImageBuilder;
    /** prod-mirror:cloudMode. Default: `emulated`. */
    cloudMode: CloudMode;
    /** prod-mirror:awsRegion. Default: `us-east-1`. */
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
    /** prod-mirror:app or prod-mirror:appFile (exactly one). */
    app: AppSpec;
    /** prod-mirror:overrides, keyed by service name. Default: none. */
    overrides: Record<string, ServiceOverride>;
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
    "installation",
    "kubeContext",
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
    "app",
    "appFile",
    "overrides",
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

// ---------------------------------------------------------------------------------------------
// Field checks

const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REGISTRY = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$/;
const REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-[0-9]+$/;
const DOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Rejects fields the schema does not know, so a typo cannot silently fall back to a default. */
function onlyFields(where: Where, value: Record<string, unknown>, known: readonly string[], example: string): void {
    const unknown = Object.keys(value).filter((field) => !known.includes(field));
    if (where.quiet && where.path === "" && unknown.length > 0) {
        // The top of a file that may not be a description at all: its keys are not named either.
        where.fail(`expected only the fields ${known.join(", ")}, but ${unknown.length} other top-level field(s) are there (not named here, in case the file is not a description)`, value, example);
    }
    for (const field of Object.keys(value)) {
        if (!known.includes(field)) {
            where.field(field).fail(`unknown field; known fields are ${known.join(", ")}`, value[field], example);
        }
    }
}

function object(where: Where, value: unknown, example: string): Record<string, unknown> {
    if (!isRecord(value)) {
        where.fail("expected an object", value, example);
    }
    return value;
}

function str(where: Where, value: unknown, example: string): string {
    if (typeof value !== "string" || value === "") {
        where.fail("expected a non-empty string", value, example);
    }
    return value;
}

/** A non-empty string `pattern` matches; `rule` says in words what it allows. */
function matching(where: Where, value: unknown, example: string, pattern: RegExp, rule: string): string {
    const text = str(where, value, example);
    if (!pattern.test(text)) {
        where.fail(`expected ${rule}`, text, example);
    }
    return text;
}

function optionalStr(where: Where, value: unknown, example: string): string | undefined {
    return value === undefined ? undefined : str(where, value, example);
}

/** Whole number in [min, max]; config values arrive as text, YAML/JSON files as numbers. */
function int(where: Where, value: unknown, min: number, max: number, example: string, unit = "number"): number {
    const n = typeof value === "string" && /^-?[0-9]+$/.test(value.trim()) ? Number(value) : value;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
        where.fail(`expected a whole ${unit} from ${min} to ${max}`, value, example);
    }
    return n;
}

function quantity(where: Where, value: unknown, example: string): string {
    const text = typeof value === "number" ? String(value) : value;
    return matching(where, text, example, QUANTITY, 'a Kubernetes quantity such as "500m", "2" or "256Mi"');
}

function stringList(where: Where, value: unknown, example: string): string[] {
    if (value === undefined) {
        return [];
    }
    if (!Array.isArray(value)) {
        where.fail("expected a list of names", value, example);
    }
    return value.map((item, i) => str(where.item(i), item, example));
}

function stringMap(where: Where, value: unknown, example: string, keyPattern: RegExp, keyRule: string): Record<string, string> {
    if (value === undefined) {
        return {};
    }
    const map = object(where, value, example);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(map)) {
        if (!keyPattern.test(k)) {
            where.field(k).fail(`expected the name to be ${keyRule}`, k, example);
        }
        if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
            where.field(k).fail("expected a string", v, example);
        }
        out[k] = String(v);
    }
    return out;
}

/** prod-mirror:namePrefix; naming owns the rule (some prefixes are reserved), this only reports it. */
function namePrefix(where: Where, value: string): string {
    const problem = prefixProblem(value);
    if (problem !== undefined) {
        where.fail(problem, value, DEFAULT_NAME_PREFIX);
    }
    return value;
}

function declaredName(where: Where, value: unknown, example: string): string {
    const name = str(where, value, example);
    const problem = resourceNameProblem(name);
    if (problem !== undefined) {
        where.fail(`a name usable in Kubernetes and AWS names: ${problem}`, name, example);
    }
    return name;
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

function resources(where: Where, value: unknown): ResourceRequirements | undefined {
    const example = '{"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}';
    if (value === undefined) {
        return undefined;
    }
    const obj = object(where, value, example);
    onlyFields(where, obj, ["requests", "limits"], example);
    const amounts = (w: Where, v: unknown): ResourceAmounts | undefined => {
        if (v === undefined) {
            return undefined;
        }
        const o = object(w, v, '{"cpu": "100m", "memory": "128Mi"}');
        onlyFields(w, o, ["cpu", "memory"], '{"cpu": "100m", "memory": "128Mi"}');
        const out: ResourceAmounts = {};
        if (o.cpu !== undefined) {
            out.cpu = quantity(w.field("cpu"), o.cpu, '"100m"');
        }
        if (o.memory !== undefined) {
            out.memory = quantity(w.field("memory"), o.memory, '"128Mi"');
        }
        return out;
    };
    const out: ResourceRequirements = {};
    const requests = amounts(where.field("requests"), obj.requests);
    const limits = amounts(where.field("limits"), obj.limits);
    if (requests !== undefined) {
        out.requests = requests;
    }
    if (limits !== undefined) {
        out.limits = limits;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// The application description

const SERVICE_EXAMPLE =
    '{"name": "api", "port": 8080, "image": "127.0.0.1:5000/prod-mirror/api:{tag}", "uses": {"tables": ["deals"]}}';
const SERVICE_FIELDS = ["name", "port", "image", "build", "env", "replicas", "resources", "readinessPath", "uses"];
const QUEUE_EXAMPLE = '{"name": "deal-events"}';
const BUCKET_EXAMPLE = '{"name": "receipts"}';
const TABLE_EXAMPLE = '{"name": "deals", "hashKey": "id"}';

/**
 * Service names that are taken in a branch's namespace, with what takes them. `kubernetes`: the
 * kubelet gives every pod the service links of its own namespace's Services, and one named
 * `kubernetes` replaces KUBERNETES_SERVICE_HOST/PORT, pointing every in-cluster client at it.
 */
export const RESERVED_SERVICE_NAMES: Readonly<Record<string, string>> = {
    "aws-emulator": "the mirror's AWS emulator",
    kubernetes: "its service links would replace KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT in every pod",
};

/**
 * Lowest port a service may listen on. The mirror's pods run as uid RUN_AS, not root, with every
 * capability dropped (the restricted Pod Security level), so they cannot bind ports below 1024.
 */
export const MIN_PORT = 1024;

/** Why `port` cannot be a service's port in the mirror, or undefined. */
export function portProblem(port: number): string | undefined {
    if (Number.isInteger(port) && port >= MIN_PORT && port <= 65535) {
        return undefined;
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        return `expected a whole number from ${MIN_PORT} to 65535`;
    }
    return (
        `expected a port from ${MIN_PORT} to 65535: the mirror's pods run as non-root (uid ${RUN_AS}) with no capabilities and cannot bind ` +
        `ports below ${MIN_PORT}; make the service listen on a higher port (it gets it as PORT)`
    );
}

function parsePort(where: Where, value: unknown): number {
    const n = typeof value === "string" && /^[0-9]+$/.test(value.trim()) ? Number(value) : value;
    const problem = typeof n === "number" ? portProblem(n) : portProblem(NaN);
    if (problem !== undefined) {
        where.fail(problem, value, "8080");
    }
    return n as number;
}

function parseBuild(where: Where, value: unknown): BuildSpec {
    const example = '{"context": "app", "dockerfile": "app/api/Dockerfile"}';
    const obj = object(where, value, example);
    onlyFields(where, obj, ["context", "dockerfile", "args", "target"], example);
    const build: BuildSpec = {
        context: str(where.field("context"), obj.context, '"app"'),
        args: stringMap(where.field("args"), obj.args, '{"BASE": "prod-mirror/python:bookworm"}', /^[A-Za-z_][A-Za-z0-9_]*$/, "a build argument name"),
    };
    const dockerfile = optionalStr(where.field("dockerfile"), obj.dockerfile, '"app/api/Dockerfile"');
    const target = optionalStr(where.field("target"), obj.target, '"runtime"');
    if (dockerfile !== undefined) {
        build.dockerfile = dockerfile;
    }
    if (target !== undefined) {
        build.target = target;
    }
    return build;
}

function parseService(where: Where, value: unknown): ServiceSpec {
    const obj = object(where, value, SERVICE_EXAMPLE);
    onlyFields(where, obj, SERVICE_FIELDS, SERVICE_EXAMPLE);
    const name = declaredName(where.field("name"), obj.name, '"api"');
    if (Object.hasOwn(RESERVED_SERVICE_NAMES, name)) {
        where.field("name").fail(`a name not taken in the namespace (${name}: ${RESERVED_SERVICE_NAMES[name]})`, name, '"api"');
    }
    if ((obj.image === undefined) === (obj.build === undefined)) {
        where.fail(
            "expected exactly one of image (a prebuilt reference) or build (a context to build)",
            { image: obj.image, build: obj.build },
            SERVICE_EXAMPLE,
        );
    }
    const usesWhere = where.field("uses");
    const usesExample = '{"queues": ["deal-events"], "tables": ["deals"]}';
    const usesObj = obj.uses === undefined ? {} : object(usesWhere, obj.uses, usesExample);
    onlyFields(usesWhere, usesObj, ["queues", "buckets", "tables", "services"], usesExample);
    const env = stringMap(where.field("env"), obj.env, '{"LOG_LEVEL": "debug"}', ENV_NAME, "an environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
    const readinessPath = obj.readinessPath === undefined ? "/healthz" : matching(where.field("readinessPath"), obj.readinessPath, '"/healthz"', /^\/\S*$/, "a path starting with /");
    const service: ServiceSpec = {
        name,
        port: parsePort(where.field("port"), obj.port),
        env,
        replicas: obj.replicas === undefined ? 1 : int(where.field("replicas"), obj.replicas, 0, 50, "2"),
        readinessPath,
        uses: {
            queues: stringList(usesWhere.field("queues"), usesObj.queues, '["deal-events"]'),
            buckets: stringList(usesWhere.field("buckets"), usesObj.buckets, '["receipts"]'),
            tables: stringList(usesWhere.field("tables"), usesObj.tables, '["deals"]'),
            services: stringList(usesWhere.field("services"), usesObj.services, '["api"]'),
        },
    };
    if (obj.image !== undefined) {
        service.image = matching(where.field("image"), obj.image, '"127.0.0.1:5000/prod-mirror/api:{tag}"', /^[^\s]+$/, "an image reference without spaces");
    } else {
        service.build = parseBuild(where.field("build"), obj.build);
    }
    const res = resources(where.field("resources"), obj.resources);
    if (res !== undefined) {
        service.resources = res;
    }
    return service;
}

function keyType(where: Where, value: unknown): KeyType {
    if (value === undefined) {
        return "S";
    }
    if (value !== "S" && value !== "N" && value !== "B") {
        where.fail('expected "S", "N" or "B"', value, '"S"');
    }
    return value;
}

function parseTable(where: Where, value: unknown): TableSpec {
    const obj = object(where, value, TABLE_EXAMPLE);
    onlyFields(where, obj, ["name", "hashKey", "hashKeyType", "rangeKey", "rangeKeyType"], TABLE_EXAMPLE);
    const table: TableSpec = {
        name: declaredName(where.field("name"), obj.name, '"deals"'),
        hashKey: str(where.field("hashKey"), obj.hashKey, '"id"'),
        hashKeyType: keyType(where.field("hashKeyType"), obj.hashKeyType),
        rangeKeyType: keyType(where.field("rangeKeyType"), obj.rangeKeyType),
    };
    const rangeKey = optionalStr(where.field("rangeKey"), obj.rangeKey, '"createdAt"');
    if (rangeKey !== undefined) {
        table.rangeKey = rangeKey;
    }
    return table;
}

function list<T>(where: Where, value: unknown, example: string, parse: (w: Where, v: unknown) => T): T[] {
    if (value === undefined) {
        return [];
    }
    if (!Array.isArray(value)) {
        where.fail("expected a list", value, `[${example}]`);
    }
    return value.map((item, i) => parse(where.item(i), item));
}

function unique(where: Where, names: string[], kind: string): void {
    const seen = new Set<string>();
    names.forEach((name, i) => {
        if (seen.has(name)) {
            where.item(i).field("name").fail(`a ${kind} name used only once`, name, JSON.stringify(`${name}-2`));
        }
        seen.add(name);
    });
}

/** A `uses` entry that names nothing the description declares, or the service itself. */
export interface UndeclaredUse {
    /** Index of the service in `services`, and of the entry in its `uses[kind]`. */
    service: number;
    kind: keyof ServiceUses;
    item: number;
    name: string;
    /** Everything of that kind the description declares. */
    declared: string[];
    /** What this service may use: `declared` without itself. */
    known: string[];
}

/**
 * The first `uses` entry (services in order, then queues, buckets, tables, services) that names no
 * declared resource or other service, so env wiring can never point at nothing. The one rule, for
 * parseApp and ProductionMirror's guard (each words it for its own reader).
 */
export function undeclaredUse(app: AppSpec): UndeclaredUse | undefined {
    const declared = {
        queues: app.cloud.queues.map((q) => q.name),
        buckets: app.cloud.buckets.map((b) => b.name),
        tables: app.cloud.tables.map((t) => t.name),
        services: app.services.map((s) => s.name),
    };
    for (const [i, service] of app.services.entries()) {
        for (const kind of ["queues", "buckets", "tables", "services"] as const) {
            const known = declared[kind].filter((n) => kind !== "services" || n !== service.name);
            const item = service.uses[kind].findIndex((name) => !known.includes(name));
            if (item >= 0) {
                return { service: i, kind, item, name: service.uses[kind][item], declared: declared[kind], known };
            }
        }
    }
    return undefined;
}

/** Validates a production description (from prod-mirror:app or the file prod-mirror:appFile names). */
export function parseApp(where: Where, value: unknown): AppSpec {
    const example = `{"services": [${SERVICE_EXAMPLE}], "cloud": {"tables": [${TABLE_EXAMPLE}]}}`;
    const obj = object(where, value, example);
    onlyFields(where, obj, ["services", "cloud"], example);
    const services = list(where.field("services"), obj.services, SERVICE_EXAMPLE, parseService);
    if (services.length === 0) {
        where.field("services").fail("expected at least one service", obj.services, `[${SERVICE_EXAMPLE}]`);
    }
    const cloudWhere = where.field("cloud");
    const cloudExample = `{"queues": [${QUEUE_EXAMPLE}], "buckets": [${BUCKET_EXAMPLE}], "tables": [${TABLE_EXAMPLE}]}`;
    const cloudObj = obj.cloud === undefined ? {} : object(cloudWhere, obj.cloud, cloudExample);
    onlyFields(cloudWhere, cloudObj, ["queues", "buckets", "tables"], cloudExample);
    const cloud: CloudSpec = {
        queues: list(cloudWhere.field("queues"), cloudObj.queues, QUEUE_EXAMPLE, (w, v) => {
            const q = object(w, v, QUEUE_EXAMPLE);
            onlyFields(w, q, ["name", "visibilityTimeoutSeconds"], QUEUE_EXAMPLE);
            return {
                name: declaredName(w.field("name"), q.name, '"deal-events"'),
                visibilityTimeoutSeconds:
                    q.visibilityTimeoutSeconds === undefined ? 30 : int(w.field("visibilityTimeoutSeconds"), q.visibilityTimeoutSeconds, 0, 43200, "30", "number of seconds"),
            };
        }),
        buckets: list(cloudWhere.field("buckets"), cloudObj.buckets, BUCKET_EXAMPLE, (w, v) => {
            const b = object(w, v, BUCKET_EXAMPLE);
            onlyFields(w, b, ["name"], BUCKET_EXAMPLE);
            return { name: declaredName(w.field("name"), b.name, '"receipts"') };
        }),
        tables: list(cloudWhere.field("tables"), cloudObj.tables, TABLE_EXAMPLE, parseTable),
    };
    unique(where.field("services"), services.map((s) => s.name), "service");
    unique(cloudWhere.field("queues"), cloud.queues.map((q) => q.name), "queue");
    unique(cloudWhere.field("buckets"), cloud.buckets.map((b) => b.name), "bucket");
    unique(cloudWhere.field("tables"), cloud.tables.map((t) => t.name), "table");

    const use = undeclaredUse({ services, cloud });
    if (use !== undefined) {
        const { kind, known } = use;
        const example = known.length > 0 ? JSON.stringify(known[0]) : `(declare it first under ${kind === "services" ? "services" : `cloud.${kind}`})`;
        where.field("services").item(use.service).field("uses").field(kind).item(use.item)
            .fail(`a declared ${kind === "services" ? "other service" : kind.slice(0, -1)} (${known.join(", ") || "none declared"})`, use.name, example);
    }
    const collision = envCollision({ services, cloud });
    if (collision !== undefined) {
        where.at(collision.at).invalid(collision.problem);
    }
    return { services, cloud };
}

// ---------------------------------------------------------------------------------------------
// The whole settings

/**
 * Largest app file read (256 KiB). A real description is a few KiB; the cap keeps a wrong path (a
 * log, an image, a dump) from being read into memory and parsed.
 */
export const APP_FILE_MAX_BYTES = 256 * 1024;

/**
 * Most values an app file may hold with every YAML alias expanded. A description has a few hundred;
 * aliases make a small file stand for an exponential one ("billion laughs"), which every walk over
 * it (validation, serialisation into the stack) would then expand.
 */
export const YAML_MAX_VALUES = 10_000;

/** Why `relative` cannot name the app file by its text alone, or undefined (symbolic links: readProjectFile). */
export function appFileProblem(relative: string): string | undefined {
    if (relative.startsWith("/") || /^[A-Za-z]:[\\/]/.test(relative) || relative.startsWith("\\")) {
        return "it is absolute";
    }
    if (relative.split(/[\\/]/).includes("..")) {
        return "it climbs out with ..";
    }
    return undefined;
}

/** Counts `value`'s values as a walk would meet them (aliases expanded), stopping past `max`. */
function countValues(value: unknown, max: number): number {
    let count = 0;
    const stack: unknown[] = [value];
    while (stack.length > 0) {
        const next = stack.pop();
        if (++count + stack.length > max) {
            return max + 1;
        }
        if (typeof next === "object" && next !== null) {
            for (const child of Array.isArray(next) ? next : Object.values(next)) {
                stack.push(child);
            }
        }
    }
    return count;
}

/** A YAML error's reason, when it quotes nothing of the text, and its position. */
function yamlErrorText(err: unknown): string {
    if (err instanceof yaml.YAMLException) {
        const reason = /^[a-z][a-z ,;-]*$/i.test(err.reason) ? err.reason : "not valid YAML";
        return err.mark === undefined ? reason : `${reason} at line ${err.mark.line + 1}, column ${err.mark.column + 1}`;
    }
    return "not valid YAML";
}

/** JSON text, as `pulumi.Config.get` returns an object value. */
function parseJson(where: Where, text: string, example: string): unknown {
    try {
        return JSON.parse(text);
    } catch (err) {
        const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
        return where.fail(`expected an object (${reason})`, text, example);
    }
}

/** YAML or JSON text (an app file), with its aliases expanded no further than YAML_MAX_VALUES values. */
function parseYaml(where: Where, text: string, example: string): unknown {
    let value: unknown;
    try {
        value = yaml.load(text);
    } catch (err) {
        // js-yaml's message carries a snippet of the file: only the reason and the position are used.
        return where.fail(`expected YAML or JSON (${yamlErrorText(err)})`, text, example);
    }
    if (countValues(value, YAML_MAX_VALUES) > YAML_MAX_VALUES) {
        where.invalid(
            `it holds more than ${YAML_MAX_VALUES} values once its YAML aliases are expanded (an alias bomb, or far more than a description needs). ` +
                "Write the repeated parts out, or use aliases (*name) only for small parts",
        );
    }
    return value;
}

/** Parses and validates every non-secret key; throws ConfigError naming the key and the fix. */
export function parseSettings(raw: RawSettings, ctx: ParseContext): MirrorSettings {
    const file = stackFile(ctx.stack);
    const at = (key: string): Where => new Where(`${PROJECT}:${key}`, file);
    const value = (key: keyof RawSettings): string | undefined => {
        const v = raw[key];
        return v === undefined || v.trim() === "" ? undefined : v;
    };

    const registryServer = matching(at("registryServer"), value("registryServer") ?? "127.0.0.1:5000", "127.0.0.1:5000", REGISTRY, "a registry host[:port] without a scheme");
    const registryUsername = value("registryUsername");
    if (registryUsername === undefined) {
        throw missingKeyError(ctx.stack, "registryUsername", `the user name for the registry at ${registryServer}`, "prod-mirror-ci");
    }

    const cloudMode = value("cloudMode") ?? "emulated";
    if (!CLOUD_MODES.includes(cloudMode as CloudMode)) {
        at("cloudMode").fail(`expected one of ${CLOUD_MODES.join(", ")}`, cloudMode, "emulated");
    }

    const imageBuilder = value("imageBuilder") ?? "docker";
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
        const path = appFile as string;
        const problem = appFileProblem(path);
        if (problem !== undefined) {
            at("appFile").fail(`expected a path relative to the project directory that stays inside it (${problem})`, path, "app/production.yaml");
        }
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
        installation: matching(at("installation"), value("installation") ?? DEFAULT_INSTALLATION, "team-a", INSTALLATION_PATTERN, INSTALLATION_RULE),
        clusterDomain: matching(at("clusterDomain"), value("clusterDomain") ?? DEFAULT_CLUSTER_DOMAIN, DEFAULT_CLUSTER_DOMAIN, DOMAIN, "a DNS domain"),
        registryServer,
        registryUsername,
        imageRepository: matching(at("imageRepository"), value("imageRepository") ?? "prod-mirror", "prod-mirror", REPOSITORY, "a lowercase repository path"),
        imageBuilder: imageBuilder as ImageBuilder,
        cloudMode: cloudMode as CloudMode,
        awsRegion: matching(at("awsRegion"), value("awsRegion") ?? "us-east-1", "eu-west-1", REGION, "an AWS region name"),
        quota: parseQuota(at("quota"), value("quota")),
        containerDefaults: parseContainerDefaults(at("containerDefaults"), value("containerDefaults")),
        app,
        overrides: parseOverrides(at("overrides"), value("overrides"), app),
    };
    const awsWorkloadIdentity = value("awsWorkloadIdentity");
    const emulatorImage = value("emulatorImage");
    const emulatorExample = `${registryServer}/prod-mirror/moto@sha256:${"0123456789abcdef".repeat(4)}`;
    const optional = {
        branch: value("branch"),
        commit: commit?.toLowerCase(),
        owner: value("owner"),
        pullRequest: value("pullRequest"),
        sourceRepo: value("sourceRepo"),
        expiresAt,
        kubeContext: value("kubeContext"),
        awsEndpoint: url(at("awsEndpoint"), value("awsEndpoint"), "http://127.0.0.1:4566"),
        awsWorkloadEndpoint: url(at("awsWorkloadEndpoint"), value("awsWorkloadEndpoint"), "http://aws.internal:4566"),
        emulatorImage: emulatorImage === undefined ? undefined : matching(at("emulatorImage"), emulatorImage, emulatorExample, IMAGE_REFERENCE, "an image reference, name:tag or name@sha256:<64 hex digits>"),
        awsWorkloadIdentity: awsWorkloadIdentity === undefined ? undefined : matching(at("awsWorkloadIdentity"), awsWorkloadIdentity, "arn:aws:iam::123456789012:role/prod-mirror-workloads", IAM_ROLE_ARN, "an IAM role ARN (the role the platform gives the pods)"),
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
    if (text === undefined) {
        return DEFAULT_TTL_HOURS;
    }
    const hours = /^[0-9]+$/.test(text.trim()) ? Number(text) : NaN;
    if (!Number.isInteger(hours) || ttlProblem(hours) !== undefined) {
        where.fail(`expected a whole number of hours; ${TTL_RANGE}`, text, `"${DEFAULT_TTL_HOURS}"`);
    }
    return hours;
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
    const example = `{"${names[0]}": {"replicas": 1, "resources": {"limits": {"memory": "128Mi"}}}}`;
    if (text === undefined) {
        return {};
    }
    const obj = object(where, parseJson(where, text, example), example);
    const out: Record<string, ServiceOverride> = {};
    for (const [service, value] of Object.entries(obj)) {
        const w = where.field(service);
        if (!names.includes(service)) {
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
