// The environment-variable contract: every variable the mirror puts into a service's container and
// into the test runner's environment, and the one check that no two sources set the same variable.
// It is the environment layer of naming.ts (which keeps the stem rule), in its own module because it
// knows the description's shape. Pure; app-spec.appProblems (for parseApp and ProductionMirror) calls
// `envCollision`, so a collision is an error naming both sources before anything is declared,
// never a server-side apply failure halfway through `up` (a container's env is a list keyed by
// name) nor a silent overwrite in the runner's environment (a map).
import { envStem } from "./naming";

/** `<SERVICE>_URL`: another service's in-cluster URL. */
export function serviceUrlVar(service: string): string {
    return `${envStem(service)}_URL`;
}

/** `<QUEUE>_QUEUE_URL`. */
export function queueUrlVar(queue: string): string {
    return `${envStem(queue)}_QUEUE_URL`;
}

/** `<QUEUE>_QUEUE_NAME`. */
export function queueNameVar(queue: string): string {
    return `${envStem(queue)}_QUEUE_NAME`;
}

/** `<BUCKET>_BUCKET`. */
export function bucketVar(bucket: string): string {
    return `${envStem(bucket)}_BUCKET`;
}

/** `<TABLE>_TABLE`. */
export function tableVar(table: string): string {
    return `${envStem(table)}_TABLE`;
}

/**
 * What the mirror sets in every service container, with what it holds. The AWS variables count even
 * when a mode leaves them out (no endpoint on real AWS, no keys with ambient credentials): a
 * description must mean the same thing in both modes.
 */
export const MIRROR_ENV: Readonly<Record<string, string>> = {
    PORT: "the service's port",
    HOME: "/tmp (the root filesystem is read-only and uid 65532 has no home directory)",
    AWS_REGION: "the mirror's AWS region",
    AWS_DEFAULT_REGION: "the mirror's AWS region",
    AWS_ENDPOINT_URL: "the AWS endpoint of the mirror's queues, buckets and tables",
    AWS_ACCESS_KEY_ID: "the mirror's AWS credentials",
    AWS_SECRET_ACCESS_KEY: "the mirror's AWS credentials",
    // Not set, but reserved: the SDKs pair it with the two keys above, so production's token would
    // turn the mirror's keys into an invalid (or production's) credential.
    AWS_SESSION_TOKEN: "the mirror's AWS credentials (left unset, so that the keys above are used alone)",
};

/**
 * What Kubernetes sets in every container and a copied production value would falsify: the pod's own
 * name, and where in-cluster clients find the API server (production's would point them at
 * production's cluster). Kept small on purpose: only variables whose override changes which
 * system the service talks to or claims to be.
 */
export const PLATFORM_ENV: Readonly<Record<string, string>> = {
    HOSTNAME: "the pod's name",
    KUBERNETES_SERVICE_HOST: "the address of the mirror's Kubernetes API server",
    KUBERNETES_SERVICE_PORT: "the port of the mirror's Kubernetes API server",
};

/**
 * A service's env may not start with this: `AWS_ENDPOINT_URL_<SERVICE>` overrides AWS_ENDPOINT_URL
 * for one AWS service in every AWS SDK, so production's value would send that service's calls past
 * the mirror's endpoint.
 */
export const SERVICE_ENDPOINT_PREFIX = "AWS_ENDPOINT_URL_";

/** What the test runner's environment holds besides one variable per declared name. */
export const RUNNER_ENV: Readonly<Record<string, string>> = {
    PROD_MIRROR_NAMESPACE: "the mirror's namespace",
    PROD_MIRROR_BRANCH: "the mirror's branch",
    PROD_MIRROR_EXPIRES_AT: "the mirror's expiry",
    AWS_REGION: MIRROR_ENV.AWS_REGION,
    AWS_ENDPOINT_URL: MIRROR_ENV.AWS_ENDPOINT_URL,
};

/**
 * Declared names may not make runner variables starting with this: the runner's own variables live
 * there, and a new one must never be able to meet a name some description already uses.
 */
export const RUNNER_PREFIX = "PROD_MIRROR_";

/** The parts of the production description the contract reads (config.AppSpec has them). */
export interface EnvDescription {
    services: readonly {
        name: string;
        env: Readonly<Record<string, string>>;
        uses: { queues: readonly string[]; buckets: readonly string[]; tables: readonly string[]; services: readonly string[] };
    }[];
    cloud: { queues: readonly { name: string }[]; buckets: readonly { name: string }[]; tables: readonly { name: string }[] };
}

/** A path into the description, as config's errors name it: `["services", 1, "env", "HOME"]`. */
export type DescriptionPath = readonly (string | number)[];

/** The first variable two sources set, at the second source; `problem` names both and the fix. */
export interface EnvCollision {
    at: DescriptionPath;
    problem: string;
}

/** `services[1].env.HOME`. */
export function pathText(at: DescriptionPath): string {
    return at.map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? part : `.${part}`)).join("");
}

/** One setter of a variable. */
interface Source {
    /** `the mirror`, `Kubernetes`, or a path with its value: `services[1].name ("x-queue")`. */
    label: string;
    /** What the variable holds when this source sets it. */
    meaning: string;
    /** Declared sources: `service x-queue`, for the fix. */
    thing?: string;
}

function declared(at: DescriptionPath, name: string, kind: string, meaning: string): Source & { at: DescriptionPath } {
    return { at, label: `${pathText(at)} (${JSON.stringify(name)})`, meaning, thing: `${kind} ${name}` };
}

function setTwice(variable: string, second: Source, first: Source): string {
    return `${variable} is set twice: by ${second.label} as ${second.meaning}, and by ${first.label} as ${first.meaning}.`;
}

function fixed(table: Readonly<Record<string, string>>, label: string): [string, Source][] {
    return Object.entries(table).map(([variable, meaning]) => [variable, { label, meaning }]);
}

/**
 * The first collision in the description's environment contract, or undefined. Two scopes: the
 * runner's environment (every declared name against each other and against the fixed variables),
 * then each service's container (its `uses` and its own env against what the mirror and
 * Kubernetes set).
 */
export function envCollision(app: EnvDescription): EnvCollision | undefined {
    const runner = new Map<string, Source>([...fixed(MIRROR_ENV, "the mirror"), ...fixed(PLATFORM_ENV, "Kubernetes"), ...fixed(RUNNER_ENV, "the mirror")]);
    const names: [string, Source & { at: DescriptionPath }][] = [
        ...app.services.map((s, i): [string, Source & { at: DescriptionPath }] => [
            serviceUrlVar(s.name),
            declared(["services", i, "name"], s.name, "service", `the in-cluster URL of service ${s.name}`),
        ]),
        ...app.cloud.queues.flatMap((q, i): [string, Source & { at: DescriptionPath }][] => [
            [queueUrlVar(q.name), declared(["cloud", "queues", i, "name"], q.name, "queue", `the URL of queue ${q.name}`)],
            [queueNameVar(q.name), declared(["cloud", "queues", i, "name"], q.name, "queue", `the name of queue ${q.name}`)],
        ]),
        ...app.cloud.buckets.map((b, i): [string, Source & { at: DescriptionPath }] => [
            bucketVar(b.name),
            declared(["cloud", "buckets", i, "name"], b.name, "bucket", `the name of bucket ${b.name}`),
        ]),
        ...app.cloud.tables.map((t, i): [string, Source & { at: DescriptionPath }] => [
            tableVar(t.name),
            declared(["cloud", "tables", i, "name"], t.name, "table", `the name of table ${t.name}`),
        ]),
    ];
    for (const [variable, source] of names) {
        if (variable.startsWith(RUNNER_PREFIX)) {
            return {
                at: source.at,
                problem:
                    `${variable} (${source.meaning}) starts with ${RUNNER_PREFIX}, which the test runner's own variables use ` +
                    `(${Object.keys(RUNNER_ENV).filter((v) => v.startsWith(RUNNER_PREFIX)).join(", ")}). Rename ${source.thing}.`,
            };
        }
        const first = runner.get(variable);
        if (first !== undefined) {
            const fix = first.thing === undefined ? `Rename ${source.thing}.` : `Rename ${source.thing} or ${first.thing}.`;
            return { at: source.at, problem: `${setTwice(variable, source, first)} ${fix}` };
        }
        runner.set(variable, source);
    }

    for (const [i, service] of app.services.entries()) {
        const container = new Map<string, Source>([...fixed(MIRROR_ENV, "the mirror"), ...fixed(PLATFORM_ENV, "Kubernetes")]);
        const used = (kind: keyof typeof service.uses, j: number, name: string, meaning: string): Source & { at: DescriptionPath } => {
            const at = ["services", i, "uses", kind, j];
            return { at, label: `${pathText(at)} (${JSON.stringify(name)})`, meaning };
        };
        const wired: [string, Source & { at: DescriptionPath }][] = [
            ...service.uses.queues.flatMap((q, j): [string, Source & { at: DescriptionPath }][] => [
                [queueUrlVar(q), used("queues", j, q, `the URL of queue ${q}`)],
                [queueNameVar(q), used("queues", j, q, `the name of queue ${q}`)],
            ]),
            ...service.uses.buckets.map((b, j): [string, Source & { at: DescriptionPath }] => [bucketVar(b), used("buckets", j, b, `the name of bucket ${b}`)]),
            ...service.uses.tables.map((t, j): [string, Source & { at: DescriptionPath }] => [tableVar(t), used("tables", j, t, `the name of table ${t}`)]),
            ...service.uses.services.map((o, j): [string, Source & { at: DescriptionPath }] => [serviceUrlVar(o), used("services", j, o, `the in-cluster URL of service ${o}`)]),
        ];
        for (const [variable, source] of wired) {
            // Declared names were checked above, so only the same entry listed twice meets here.
            const first = container.get(variable);
            if (first !== undefined) {
                return { at: source.at, problem: `${setTwice(variable, source, first)} List each name once in ${pathText(source.at.slice(0, -1))}.` };
            }
            container.set(variable, source);
        }
        const envPath = ["services", i, "env"];
        for (const variable of Object.keys(service.env)) {
            const at = [...envPath, variable];
            if (variable.startsWith(SERVICE_ENDPOINT_PREFIX)) {
                return {
                    at,
                    problem:
                        `${variable} would override AWS_ENDPOINT_URL for one AWS service in every AWS SDK, sending its calls past the ` +
                        `mirror's endpoint. Remove ${variable} from ${pathText(envPath)}: the mirror sets AWS_ENDPOINT_URL for all of them.`,
                };
            }
            const first = container.get(variable);
            if (first !== undefined) {
                const setter = first.label === "Kubernetes" ? "Kubernetes" : "the mirror";
                const own = { label: pathText(envPath), meaning: "a value of its own" };
                return { at, problem: `${setTwice(variable, own, first)} Remove ${variable} from ${pathText(envPath)}: ${setter} sets it.` };
            }
        }
    }
    return undefined;
}
