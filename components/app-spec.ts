// The app description and the mirror's shared settings: their types, every default, and every rule
// a description must pass. Pure (no pulumi, no YAML, no files): the parser (app-parser.ts,
// settings.ts) and the components both import it, so a default is written once and a rule is
// checked the same way whoever built the description (`appProblems`).
import { envCollision, pathText, type DescriptionPath } from "./env-contract";
import { RUN_AS } from "./manifests";
import { resourceNameProblem } from "./naming";

// ---------------------------------------------------------------------------------------------
// The mirror's settings that components take as args

/** `aws`: @pulumi/aws resources on real AWS or any endpoint. `emulated`: an emulator in the namespace. */
export type CloudMode = "aws" | "emulated";
export const CLOUD_MODES: readonly CloudMode[] = ["emulated", "aws"];
export const DEFAULT_CLOUD_MODE: CloudMode = "emulated";

/**
 * Who builds the images of services with a `build` section. `docker`: AppImage builds and pushes
 * them with @pulumi/docker. `external`: something outside Pulumi (the CLI's image step, CI) already
 * pushed them as `<registryServer>/<imageRepository>/<service>:<tag>`, and AppImage deploys exactly
 * that reference. Services with a prebuilt `image` are deployed as they are either way.
 */
export type ImageBuilder = "docker" | "external";
export const IMAGE_BUILDERS: readonly ImageBuilder[] = ["docker", "external"];
export const DEFAULT_IMAGE_BUILDER: ImageBuilder = "docker";

/** The path under the registry that built images are pushed to. */
export const DEFAULT_IMAGE_REPOSITORY = "prod-mirror";

/** The AWS region of the mirror's cloud resources. */
export const DEFAULT_AWS_REGION = "us-east-1";

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

/**
 * The DNS domain preview hosts are made under (`<slug>.<previewDomain>`) when prod-mirror:previewDomain
 * is not set: `localhost`, whose every subdomain resolves to the loopback address, so a local mirror's
 * Ingress hosts work without any DNS set up.
 */
export const DEFAULT_PREVIEW_DOMAIN = "localhost";

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

/** What the mirror changes from production, per service (per workload with a `deployment`). */
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

/**
 * How long `destroy` waits for the branch namespace to go (seconds). Kubernetes keeps a namespace
 * while any object in it has a finalizer left, for ever if the controller that owns the finalizer
 * is gone; past this bound the destroy fails with the namespace still in the stack, and the CLI
 * says which object holds it. Pulumi's own default for a namespace is 10 minutes.
 */
export const DEFAULT_DELETE_TIMEOUT_SECONDS = 120;
/** The range prod-mirror:deleteTimeout accepts, in seconds: shorter than a namespace's ordinary teardown is refused. */
export const DELETE_TIMEOUT_RANGE_SECONDS = { min: 10, max: 3600 };

export const DEFAULT_CONTAINER_DEFAULTS: ContainerDefaults = {
    requestCpu: "50m",
    requestMemory: "64Mi",
    limitCpu: "500m",
    limitMemory: "256Mi",
};

// ---------------------------------------------------------------------------------------------
// The app description

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

/** A service's replicas when the description says none. */
export const DEFAULT_REPLICAS = 1;

/** A service's HTTP readiness probe path when the description says none. */
export const DEFAULT_READINESS_PATH = "/healthz";

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
    /** Replicas. Default: DEFAULT_REPLICAS (1). */
    replicas: number;
    /** Requests and limits. Default: the namespace's LimitRange defaults. */
    resources?: ResourceRequirements;
    /** HTTP readiness probe path. Default: DEFAULT_READINESS_PATH (`/healthz`). */
    readinessPath: string;
    /** Cloud resources and services this one uses. Default: none. */
    uses: ServiceUses;
}

/** A queue's visibility timeout when the description says none. */
export const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 30;

/** An SQS queue the application declares. */
export interface QueueSpec {
    name: string;
    /** Default: DEFAULT_VISIBILITY_TIMEOUT_SECONDS (30). */
    visibilityTimeoutSeconds: number;
    /**
     * How production's objects name this queue (its URL, its name, or both), so the mirror can put the
     * branch's queue in their place. At least one of the two. Default: none (nothing is replaced).
     */
    production?: QueueProduction;
}

/** Production's names of a queue. */
export interface QueueProduction {
    /** `https://sqs.<region>.amazonaws.com/<account>/<name>`. */
    url?: string;
    /** The queue's name, as SQS has it. */
    name?: string;
}

/** An S3 bucket the application declares (emptied on destroy). */
export interface BucketSpec {
    name: string;
    /** Production's bucket name, replaced by the branch's in production's objects. Default: none. */
    production?: string;
}

export type KeyType = "S" | "N" | "B";
export const KEY_TYPES: readonly KeyType[] = ["S", "N", "B"];
/** A table key's type when the description says none: string. */
export const DEFAULT_KEY_TYPE: KeyType = "S";

/** A DynamoDB table the application declares (on-demand billing). */
export interface TableSpec {
    name: string;
    hashKey: string;
    /** Default: DEFAULT_KEY_TYPE (S). */
    hashKeyType: KeyType;
    rangeKey?: string;
    /** Default: DEFAULT_KEY_TYPE (S). */
    rangeKeyType: KeyType;
    /** Production's table name, replaced by the branch's in production's objects. Default: none. */
    production?: string;
}

/** The per-branch cloud resources. */
export interface CloudSpec {
    queues: QueueSpec[];
    buckets: BucketSpec[];
    tables: TableSpec[];
}

/**
 * Production's own deployment, which the mirror renders, rewrites per branch and applies (README, "The production description").
 * Every path is relative to the project directory and stays inside it.
 */
export type DeploymentSource =
    | { kind: "manifests"; paths: string[] }
    | { kind: "kustomize"; directory: string }
    | { kind: "helm"; chart: string; values: string[]; set: Record<string, unknown>; releaseName: string };

/** The fields of `deployment`, exactly one of which a description sets. */
export const DEPLOYMENT_KINDS: readonly DeploymentSource["kind"][] = ["manifests", "kustomize", "helm"];

/**
 * A Helm release's name when the description gives none: the chart directory's own name
 * (`charts/deals` → `deals`). Charts name their objects after the release (`<release>-<chart>`), and
 * `helm install deals charts/deals` is the common way, so production's workload names, which
 * prod-mirror:overrides is keyed by, usually come out the same. Set releaseName when production's differs.
 */
export function defaultReleaseName(chart: string): string {
    return chart.split(/[\\/]/).filter((part) => part !== "" && part !== ".").pop() ?? chart;
}

/** An image production runs, and how the mirror makes its own per branch. */
export interface ImageSpec {
    /** Production's repository, without tag or digest: every container image of it is replaced. */
    production: string;
    /** The image's name under `<registryServer>/<imageRepository>/`; the rules of a service name. */
    service: string;
    /**
     * How to build it, like a service's build. Default: none — the image was pushed beforehand as
     * `<registryServer>/<imageRepository>/<service>:<tag>` (the CLI's image step, CI).
     */
    build?: BuildSpec;
}

/** A Secret production's objects use but the mirror must never copy: it creates it with random values. */
export interface StandInSecret {
    /** The Secret's name, as production's objects reference it (a DNS-1123 subdomain). */
    name: string;
    /** Its keys (at least one), each a valid Secret key. */
    keys: string[];
}

export interface StandIns {
    secrets: StandInSecret[];
}

/** A custom resource kind the target cluster knows, so production's objects of it are applied. */
export interface CustomResourceKind {
    /** `<group>/<version>`, the group with a dot (`example.com/v1`). */
    apiVersion: string;
    kind: string;
    /** Whether its objects live in a namespace (then they are moved to the branch's). */
    namespaced: boolean;
}

/** The production description of the application. */
export interface AppSpec {
    /** The services, as prod-mirror generates their workloads. Empty, and absent in the file, when `deployment` is given. */
    services: ServiceSpec[];
    cloud: CloudSpec;
    /** Production's own deployment instead of `services`. Default: none (the workloads come from `services`). */
    deployment?: DeploymentSource;
    /** Production's images and the mirror's replacements. Default: none. */
    images?: ImageSpec[];
    /** Secrets the mirror creates in place of production's. Default: none. */
    standIns?: StandIns;
    /** Custom resource kinds production's objects may use. Default: none. */
    customResourceKinds?: CustomResourceKind[];
}

// ---------------------------------------------------------------------------------------------
// The rules

/**
 * Service names that are taken in a branch's namespace, with what takes them. `kubernetes`: the
 * kubelet gives every pod the service links of its own namespace's Services, and one named
 * `kubernetes` replaces KUBERNETES_SERVICE_HOST/PORT, pointing every in-cluster client at it.
 */
export const RESERVED_SERVICE_NAMES: Readonly<Record<string, string>> = {
    "aws-emulator": "the mirror's AWS emulator",
    kubernetes: "its service links would replace KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT in every pod",
};

/** Why `name` cannot name a service (taken in the namespace), or undefined; naming's rule is resourceNameProblem. */
export function reservedNameProblem(name: string): string | undefined {
    return Object.hasOwn(RESERVED_SERVICE_NAMES, name) ? `a name not taken in the namespace (${name}: ${RESERVED_SERVICE_NAMES[name]})` : undefined;
}

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

const DNS_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS_SUBDOMAIN = new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`);
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Why `name` is not a DNS-1123 subdomain (Kubernetes' rule for a Secret's name, say), or undefined. */
export function dnsSubdomainProblem(name: string): string | undefined {
    return DNS_SUBDOMAIN.test(name) && name.length <= 253 ? undefined : "expected a DNS-1123 subdomain: at most 253 of [a-z0-9-.], each dot-separated part starting and ending with a letter or digit";
}

/** Why `key` cannot be a key of a Secret (Kubernetes' rule for Secret and ConfigMap keys), or undefined. */
export function secretKeyProblem(key: string): string | undefined {
    return /^[-._a-zA-Z0-9]{1,253}$/.test(key) && key !== "." && !key.startsWith("..")
        ? undefined
        : 'expected a Secret key: 1 to 253 of [-._a-zA-Z0-9], not "." and not starting with ".."';
}

/** Why `name` cannot name a Helm release (Helm's own rule), or undefined. */
export function releaseNameProblem(name: string): string | undefined {
    return DNS_SUBDOMAIN.test(name) && name.length <= 53 ? undefined : "expected a Helm release name: at most 53 of [a-z0-9-.], starting and ending with a letter or digit";
}

const REPOSITORY_PATH = "[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*";
const IMAGE_REPOSITORY = new RegExp(`^([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?/)?${REPOSITORY_PATH}$`);

/** Why `repository` cannot name production's image repository (no tag, no digest), or undefined. */
export function imageRepositoryProblem(repository: string): string | undefined {
    if (IMAGE_REPOSITORY.test(repository)) {
        return undefined;
    }
    const bare = repository.replace(/@.*$/, "").replace(/:[^/:]*$/, "");
    return bare !== repository && IMAGE_REPOSITORY.test(bare)
        ? `expected the repository alone, without tag or digest (${bare}): every image of it is replaced, whatever its tag`
        : "expected an image repository such as registry.example.com/deals/api: [registry-host[:port]/]lowercase path, no tag or digest";
}

/** Why `name` cannot be production's SQS queue name, or undefined. */
export function queueNameProblem(name: string): string | undefined {
    return /^[A-Za-z0-9_-]{1,80}$/.test(name) || /^[A-Za-z0-9_-]{1,75}\.fifo$/.test(name) ? undefined : "expected an SQS queue name: 1 to 80 of [A-Za-z0-9_-], a FIFO queue's ending in .fifo";
}

/** Why `url` cannot be production's queue URL, or undefined. */
export function queueUrlProblem(url: string): string | undefined {
    return /^https?:\/\/[^/\s]+\/\S+$/.test(url) ? undefined : "expected the queue's URL, https://sqs.<region>.amazonaws.com/<account>/<name>";
}

/** Why `name` cannot be production's S3 bucket name, or undefined. */
export function bucketNameProblem(name: string): string | undefined {
    return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) ? undefined : "expected an S3 bucket name: 3 to 63 of [a-z0-9.-], starting and ending with a letter or digit";
}

/** Why `name` cannot be production's DynamoDB table name, or undefined. */
export function tableNameProblem(name: string): string | undefined {
    return /^[A-Za-z0-9_.-]{3,255}$/.test(name) ? undefined : "expected a DynamoDB table name: 3 to 255 of [A-Za-z0-9_.-]";
}

/**
 * Why `apiVersion` cannot be a custom resource's, or undefined: `<group>/<version>`, the group with a
 * dot as every CustomResourceDefinition's must have (built-in groups have none), the version a DNS-1035 label.
 */
export function customApiVersionProblem(apiVersion: string): string | undefined {
    const [group, version, ...rest] = apiVersion.split("/");
    return rest.length === 0 && version !== undefined && group.includes(".") && dnsSubdomainProblem(group) === undefined && DNS_1035_LABEL.test(version) && version.length <= 63
        ? undefined
        : "expected <group>/<version> of a custom resource, the group a DNS subdomain with a dot (example.com/v1)";
}

/** Why `kind` cannot be a custom resource's kind, or undefined. */
export function kindProblem(kind: string): string | undefined {
    return /^[A-Za-z][A-Za-z0-9]{0,62}$/.test(kind) ? undefined : "expected a kind such as Widget: a letter, then letters and digits, at most 63";
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
 * declared resource or other service, so env wiring can never point at nothing.
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

/**
 * One thing a description breaks. The parser words it for the person editing the file
 * (`<at> in <file> is invalid: <expected>, got <got>. Example: <at>: <example>`, or
 * `... is invalid: <expected>` when there is no example); `message` is the sentence for a program
 * that built the description itself.
 */
export interface AppProblem {
    at: DescriptionPath;
    expected: string;
    got?: unknown;
    example?: string;
    message: string;
}

function fieldProblem(at: DescriptionPath, expected: string, got: unknown, example: string): AppProblem {
    return { at, expected, got, example, message: `${pathText(at)}: ${expected}, got ${JSON.stringify(got)}` };
}

/** Why `name` cannot name a service (or an image, which follows the same rules), or undefined. */
export function serviceNameProblem(name: string): string | undefined {
    const problem = resourceNameProblem(name);
    return problem !== undefined ? `a name usable in Kubernetes and AWS names: ${problem}` : reservedNameProblem(name);
}

/** Why a description with `deployment` may not have `services` too. */
export const ONE_SOURCE =
    "expected no services when deployment is given: the workloads come from production's own deployment, " +
    "and services would describe them a second time (remove services, or remove deployment to generate them from services)";
export const STAND_IN_KEYS_RULE = "expected a non-empty list of the Secret's keys (those production's objects read)";
export const ONE_SOURCE_EXAMPLE = "(remove services)";
export const QUEUE_PRODUCTION_RULE = "expected url, name or both: how production's objects name the queue";
export const QUEUE_PRODUCTION_EXAMPLE = '{"url": "https://sqs.eu-west-1.amazonaws.com/210987654321/deal-events", "name": "deal-events"}';
export const QUEUE_URL_EXAMPLE = '"https://sqs.eu-west-1.amazonaws.com/210987654321/deal-events"';

const KINDS = [
    ["queues", "queue"],
    ["buckets", "bucket"],
    ["tables", "table"],
] as const;

/**
 * Every rule a description must pass, part by part: one source of workloads
 * (`services` or `deployment`) and a valid Helm release name; each service's name, image or build,
 * and port; each cloud name and production name; each image's repository and name, stand-in Secret
 * and custom kind; names used once per kind; `uses` naming only declared things (undeclaredUse); no
 * environment variable set twice (envCollision). The one list, for parseApp and ProductionMirror's
 * guard alike: an empty list means the description can be mirrored. Path rules (appFileProblem) and
 * the files' existence are render's sourceProblems, which has the filesystem.
 */
export function appProblems(app: AppSpec): AppProblem[] {
    const problems: AppProblem[] = [];
    if (app.deployment === undefined && app.services.length === 0) {
        problems.push(fieldProblem(["services"], "expected at least one service", app.services, '[{"name": "api", "port": 8080, "image": "..."}]'));
    }
    if (app.deployment !== undefined && app.services.length > 0) {
        problems.push(fieldProblem(["services"], ONE_SOURCE, app.services.map((s) => s.name), ONE_SOURCE_EXAMPLE));
    }
    if (app.deployment?.kind === "helm") {
        const release = releaseNameProblem(app.deployment.releaseName);
        if (release !== undefined) {
            problems.push(fieldProblem(["deployment", "helm", "releaseName"], release, app.deployment.releaseName, '"deals"'));
        }
    }
    app.services.forEach((service, i) => {
        const name = serviceNameProblem(service.name);
        if (name !== undefined) {
            problems.push(fieldProblem(["services", i, "name"], name, service.name, '"api"'));
        }
        if ((service.image === undefined) === (service.build === undefined)) {
            problems.push(fieldProblem(["services", i], "expected exactly one of image (a prebuilt reference) or build (a context to build)", { image: service.image, build: service.build }, '{"name": "api", "image": "..."}'));
        }
        const port = portProblem(service.port);
        if (port !== undefined) {
            problems.push(fieldProblem(["services", i, "port"], port, service.port, "8080"));
        }
    });
    for (const [kind] of KINDS) {
        app.cloud[kind].forEach((resource, i) => {
            const name = resourceNameProblem(resource.name);
            if (name !== undefined) {
                problems.push(fieldProblem(["cloud", kind, i, "name"], `a name usable in Kubernetes and AWS names: ${name}`, resource.name, '"deals"'));
            }
        });
    }
    const check = (at: DescriptionPath, value: string | undefined, rule: (v: string) => string | undefined, example: string): void => {
        const problem = value === undefined ? undefined : rule(value);
        if (problem !== undefined) {
            problems.push(fieldProblem(at, problem, value, example));
        }
    };
    app.cloud.queues.forEach((q, i) => {
        if (q.production !== undefined && q.production.url === undefined && q.production.name === undefined) {
            problems.push(fieldProblem(["cloud", "queues", i, "production"], QUEUE_PRODUCTION_RULE, q.production, QUEUE_PRODUCTION_EXAMPLE));
        }
        check(["cloud", "queues", i, "production", "url"], q.production?.url, queueUrlProblem, QUEUE_URL_EXAMPLE);
        check(["cloud", "queues", i, "production", "name"], q.production?.name, queueNameProblem, '"deal-events"');
    });
    app.cloud.buckets.forEach((b, i) => check(["cloud", "buckets", i, "production"], b.production, bucketNameProblem, '"acme-deal-receipts"'));
    app.cloud.tables.forEach((t, i) => check(["cloud", "tables", i, "production"], t.production, tableNameProblem, '"acme-deals"'));
    (app.images ?? []).forEach((image, i) => {
        check(["images", i, "production"], image.production, imageRepositoryProblem, '"registry.example.com/deals/api"');
        check(["images", i, "service"], image.service, (n) => serviceNameProblem(n), '"api"');
    });
    (app.standIns?.secrets ?? []).forEach((secret, i) => {
        check(["standIns", "secrets", i, "name"], secret.name, dnsSubdomainProblem, '"deal-signing"');
        if (secret.keys.length === 0) {
            problems.push(fieldProblem(["standIns", "secrets", i, "keys"], STAND_IN_KEYS_RULE, secret.keys, '["key"]'));
        }
        secret.keys.forEach((key, j) => check(["standIns", "secrets", i, "keys", j], key, secretKeyProblem, '"key"'));
    });
    (app.customResourceKinds ?? []).forEach((k, i) => {
        check(["customResourceKinds", i, "apiVersion"], k.apiVersion, customApiVersionProblem, '"example.com/v1"');
        check(["customResourceKinds", i, "kind"], k.kind, kindProblem, '"Widget"');
    });
    const once = (at: DescriptionPath, names: string[], kind: string): void => {
        names.forEach((name, i) => {
            if (names.indexOf(name) < i) {
                problems.push(fieldProblem([...at, i, "name"], `a ${kind} name used only once`, name, JSON.stringify(`${name}-2`)));
            }
        });
    };
    const twice = (at: DescriptionPath, values: string[], field: string, what: string): void => {
        values.forEach((value, i) => {
            if (values.indexOf(value) < i) {
                problems.push(fieldProblem([...at, i, field], `${what} used only once`, value, `(merge it with ${pathText([...at, values.indexOf(value)])})`));
            }
        });
    };
    once(["services"], app.services.map((s) => s.name), "service");
    for (const [kind, one] of KINDS) {
        once(["cloud", kind], app.cloud[kind].map((r) => r.name), one);
    }
    twice(["images"], (app.images ?? []).map((i) => i.production), "production", "a production repository");
    twice(["images"], (app.images ?? []).map((i) => i.service), "service", "an image name");
    once(["standIns", "secrets"], (app.standIns?.secrets ?? []).map((s) => s.name), "stand-in secret");
    (app.standIns?.secrets ?? []).forEach((secret, i) => {
        secret.keys.forEach((key, j) => {
            if (secret.keys.indexOf(key) < j) {
                problems.push(fieldProblem(["standIns", "secrets", i, "keys", j], "a key listed only once", key, `(remove keys[${j}])`));
            }
        });
    });
    twice(["customResourceKinds"], (app.customResourceKinds ?? []).map((k) => `${k.apiVersion} ${k.kind}`), "kind", "an apiVersion and kind");

    const use = undeclaredUse(app);
    if (use !== undefined) {
        const service = app.services[use.service].name;
        const other = use.kind === "services";
        problems.push({
            at: ["services", use.service, "uses", use.kind, use.item],
            expected: `a declared ${other ? "other service" : use.kind.slice(0, -1)} (${use.known.join(", ") || "none declared"})`,
            got: use.name,
            example: use.known.length > 0 ? JSON.stringify(use.known[0]) : `(declare it first under ${other ? "services" : `cloud.${use.kind}`})`,
            message:
                use.name === service && other
                    ? `service ${service} uses itself: list other services under uses.services (declared: ${use.known.join(", ") || "none"})`
                    : `service ${service} uses ${use.kind} ${JSON.stringify(use.name)}, which the description does not declare (declared: ${use.declared.join(", ") || "none"})`,
        });
    }
    const collision = envCollision(app);
    if (collision !== undefined) {
        problems.push({ at: collision.at, expected: collision.problem, message: `${pathText(collision.at)}: ${collision.problem}` });
    }
    return problems;
}
