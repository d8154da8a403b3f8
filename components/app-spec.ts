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
}

/** An S3 bucket the application declares (emptied on destroy). */
export interface BucketSpec {
    name: string;
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

const KINDS = [
    ["queues", "queue"],
    ["buckets", "bucket"],
    ["tables", "table"],
] as const;

/**
 * Every rule a description must pass, in the order the parser meets them: each service's name,
 * image or build, and port; each cloud name; names used once per kind; `uses` naming only declared
 * things (undeclaredUse); no environment variable set twice (envCollision). The one list, for
 * parseApp and ProductionMirror's guard alike: an empty list means the description can be mirrored.
 */
export function appProblems(app: AppSpec): AppProblem[] {
    const problems: AppProblem[] = [];
    if (app.services.length === 0) {
        problems.push(fieldProblem(["services"], "expected at least one service", app.services, '[{"name": "api", "port": 8080, "image": "..."}]'));
    }
    app.services.forEach((service, i) => {
        const name = resourceNameProblem(service.name);
        if (name !== undefined) {
            problems.push(fieldProblem(["services", i, "name"], `a name usable in Kubernetes and AWS names: ${name}`, service.name, '"api"'));
        }
        const reserved = reservedNameProblem(service.name);
        if (reserved !== undefined) {
            problems.push(fieldProblem(["services", i, "name"], reserved, service.name, '"api"'));
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
    const once = (at: DescriptionPath, names: string[], kind: string): void => {
        names.forEach((name, i) => {
            if (names.indexOf(name) < i) {
                problems.push(fieldProblem([...at, i, "name"], `a ${kind} name used only once`, name, JSON.stringify(`${name}-2`)));
            }
        });
    };
    once(["services"], app.services.map((s) => s.name), "service");
    for (const [kind, one] of KINDS) {
        once(["cloud", kind], app.cloud[kind].map((r) => r.name), one);
    }

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
