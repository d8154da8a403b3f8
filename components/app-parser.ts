// The app description's parser: reads prod-mirror:app (JSON) or the file prod-mirror:appFile names
// (YAML), checks every field's shape, then every rule of app-spec.ts (appProblems), and returns the
// typed description with its defaults applied. Errors name the field's path, the file, the bad
// value (or, for a file, only what kind of value it is) and an example.
import { projectPath } from "./app-file";
import {
    appProblems,
    bucketNameProblem,
    customApiVersionProblem,
    defaultReleaseName,
    DEPLOYMENT_KINDS,
    dnsSubdomainProblem,
    imageRepositoryProblem,
    kindProblem,
    ONE_SOURCE,
    ONE_SOURCE_EXAMPLE,
    QUEUE_PRODUCTION_EXAMPLE,
    QUEUE_PRODUCTION_RULE,
    QUEUE_URL_EXAMPLE,
    queueNameProblem,
    queueUrlProblem,
    releaseNameProblem,
    secretKeyProblem,
    serviceNameProblem,
    STAND_IN_KEYS_RULE,
    tableNameProblem,
    DEFAULT_KEY_TYPE,
    DEFAULT_READINESS_PATH,
    DEFAULT_REPLICAS,
    DEFAULT_VISIBILITY_TIMEOUT_SECONDS,
    KEY_TYPES,
    portProblem,
    reservedNameProblem,
    type AppSpec,
    type BuildSpec,
    type CloudSpec,
    type CustomResourceKind,
    type DeploymentSource,
    type ImageSpec,
    type QueueProduction,
    type StandIns,
    type KeyType,
    type ServiceSpec,
    type TableSpec,
} from "./app-spec";
import type { Where } from "./config-error";
import { checked, int, list, matching, object, onlyFields, optionalStr, resources, str, stringList, stringMap } from "./config-fields";
import { resourceNameProblem } from "./naming";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function declaredName(where: Where, value: unknown, example: string): string {
    const name = str(where, value, example);
    const problem = resourceNameProblem(name);
    if (problem !== undefined) {
        where.fail(`a name usable in Kubernetes and AWS names: ${problem}`, name, example);
    }
    return name;
}

const SERVICE_EXAMPLE =
    '{"name": "api", "port": 8080, "image": "127.0.0.1:5000/prod-mirror/api:{tag}", "uses": {"tables": ["deals"]}}';
const SERVICE_FIELDS = ["name", "port", "image", "build", "env", "replicas", "resources", "readinessPath", "uses"];
const QUEUE_EXAMPLE = '{"name": "deal-events"}';
const BUCKET_EXAMPLE = '{"name": "receipts"}';
const TABLE_EXAMPLE = '{"name": "deals", "hashKey": "id"}';

const DEPLOYMENT_EXAMPLE = '{"manifests": ["app/deploy/plain"]}';
const HELM_EXAMPLE = '{"chart": "charts/deals", "values": ["charts/deals/values-prod.yaml"], "set": {"replicaCount": 2}, "releaseName": "deals"}';
const IMAGE_EXAMPLE = '{"production": "registry.example.com/deals/api", "service": "api", "build": {"context": "app", "dockerfile": "app/api/Dockerfile"}}';
const STAND_INS_EXAMPLE = '{"secrets": [{"name": "deal-signing", "keys": ["key"]}]}';
const STAND_IN_EXAMPLE = '{"name": "deal-signing", "keys": ["key"]}';
const KIND_EXAMPLE = '{"apiVersion": "example.com/v1", "kind": "Widget", "namespaced": true}';
const APP_FIELDS = ["services", "cloud", "deployment", "images", "standIns", "customResourceKinds"];

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
    const reserved = reservedNameProblem(name);
    if (reserved !== undefined) {
        where.field("name").fail(reserved, name, '"api"');
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
    const readinessPath = obj.readinessPath === undefined ? DEFAULT_READINESS_PATH : matching(where.field("readinessPath"), obj.readinessPath, JSON.stringify(DEFAULT_READINESS_PATH), /^\/\S*$/, "a path starting with /");
    const service: ServiceSpec = {
        name,
        port: parsePort(where.field("port"), obj.port),
        env,
        replicas: obj.replicas === undefined ? DEFAULT_REPLICAS : int(where.field("replicas"), obj.replicas, 0, 50, "2"),
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

function parseHelm(where: Where, value: unknown): DeploymentSource {
    const obj = object(where, value, HELM_EXAMPLE);
    onlyFields(where, obj, ["chart", "values", "set", "releaseName"], HELM_EXAMPLE);
    const chart = projectPath(where.field("chart"), obj.chart, '"charts/deals"');
    const values = list(where.field("values"), obj.values, '"charts/deals/values-prod.yaml"', (w, v) => projectPath(w, v, '"charts/deals/values-prod.yaml"'));
    const set = obj.set === undefined ? {} : object(where.field("set"), obj.set, '{"replicaCount": 2}');
    let releaseName: string;
    if (obj.releaseName === undefined) {
        releaseName = defaultReleaseName(chart);
        const problem = releaseNameProblem(releaseName);
        if (problem !== undefined) {
            where.field("releaseName").fail(`${problem}; the default, the chart directory's name, is not one, so set releaseName to production's release`, releaseName, '"deals"');
        }
    } else {
        releaseName = checked(where.field("releaseName"), obj.releaseName, '"deals"', releaseNameProblem);
    }
    return { kind: "helm", chart, values, set, releaseName };
}

/** `deployment`: exactly one of manifests, kustomize or helm. */
function parseDeployment(where: Where, value: unknown): DeploymentSource {
    const obj = object(where, value, DEPLOYMENT_EXAMPLE);
    onlyFields(where, obj, DEPLOYMENT_KINDS, DEPLOYMENT_EXAMPLE);
    const given = DEPLOYMENT_KINDS.filter((kind) => obj[kind] !== undefined);
    if (given.length !== 1) {
        where.fail("expected exactly one of manifests (YAML files or directories), kustomize (a kustomization directory) or helm (a chart)", obj, DEPLOYMENT_EXAMPLE);
    }
    if (given[0] === "kustomize") {
        return { kind: "kustomize", directory: projectPath(where.field("kustomize"), obj.kustomize, '"app/deploy/production"') };
    }
    if (given[0] === "helm") {
        return parseHelm(where.field("helm"), obj.helm);
    }
    const w = where.field("manifests");
    const paths = obj.manifests;
    if (!Array.isArray(paths) || paths.length === 0) {
        return w.fail("expected a non-empty list of project-relative YAML files or directories", paths, '["app/deploy/plain"]');
    }
    return { kind: "manifests", paths: paths.map((path, i) => projectPath(w.item(i), path, '"app/deploy/plain"')) };
}

function parseImage(where: Where, value: unknown): ImageSpec {
    const obj = object(where, value, IMAGE_EXAMPLE);
    onlyFields(where, obj, ["production", "service", "build"], IMAGE_EXAMPLE);
    const image: ImageSpec = {
        production: checked(where.field("production"), obj.production, '"registry.example.com/deals/api"', imageRepositoryProblem),
        service: checked(where.field("service"), obj.service, '"api"', serviceNameProblem),
    };
    if (obj.build !== undefined) {
        image.build = parseBuild(where.field("build"), obj.build);
    }
    return image;
}

function parseQueueProduction(where: Where, value: unknown): QueueProduction {
    const obj = object(where, value, QUEUE_PRODUCTION_EXAMPLE);
    onlyFields(where, obj, ["url", "name"], QUEUE_PRODUCTION_EXAMPLE);
    if (obj.url === undefined && obj.name === undefined) {
        where.fail(QUEUE_PRODUCTION_RULE, obj, QUEUE_PRODUCTION_EXAMPLE);
    }
    const production: QueueProduction = {};
    if (obj.url !== undefined) {
        production.url = checked(where.field("url"), obj.url, QUEUE_URL_EXAMPLE, queueUrlProblem);
    }
    if (obj.name !== undefined) {
        production.name = checked(where.field("name"), obj.name, '"deal-events"', queueNameProblem);
    }
    return production;
}

function parseStandIns(where: Where, value: unknown): StandIns {
    const obj = object(where, value, STAND_INS_EXAMPLE);
    onlyFields(where, obj, ["secrets"], STAND_INS_EXAMPLE);
    return {
        secrets: list(where.field("secrets"), obj.secrets, STAND_IN_EXAMPLE, (w, v) => {
            const secret = object(w, v, STAND_IN_EXAMPLE);
            onlyFields(w, secret, ["name", "keys"], STAND_IN_EXAMPLE);
            const name = checked(w.field("name"), secret.name, '"deal-signing"', dnsSubdomainProblem);
            const keysWhere = w.field("keys");
            const keys = secret.keys;
            if (!Array.isArray(keys) || keys.length === 0) {
                return keysWhere.fail(STAND_IN_KEYS_RULE, keys, '["key"]');
            }
            return { name, keys: keys.map((key, i) => checked(keysWhere.item(i), key, '"key"', secretKeyProblem)) };
        }),
    };
}

function parseKind(where: Where, value: unknown): CustomResourceKind {
    const obj = object(where, value, KIND_EXAMPLE);
    onlyFields(where, obj, ["apiVersion", "kind", "namespaced"], KIND_EXAMPLE);
    const kind = {
        apiVersion: checked(where.field("apiVersion"), obj.apiVersion, '"example.com/v1"', customApiVersionProblem),
        kind: checked(where.field("kind"), obj.kind, '"Widget"', kindProblem),
    };
    const namespaced = obj.namespaced;
    if (typeof namespaced !== "boolean") {
        return where.field("namespaced").fail("expected true (its objects live in a namespace) or false (cluster-scoped)", namespaced, "true");
    }
    return { ...kind, namespaced };
}

function keyType(where: Where, value: unknown): KeyType {
    if (value === undefined) {
        return DEFAULT_KEY_TYPE;
    }
    if (!KEY_TYPES.includes(value as KeyType)) {
        where.fail('expected "S", "N" or "B"', value, JSON.stringify(DEFAULT_KEY_TYPE));
    }
    return value as KeyType;
}

function parseTable(where: Where, value: unknown): TableSpec {
    const obj = object(where, value, TABLE_EXAMPLE);
    onlyFields(where, obj, ["name", "hashKey", "hashKeyType", "rangeKey", "rangeKeyType", "production"], TABLE_EXAMPLE);
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
    if (obj.production !== undefined) {
        table.production = checked(where.field("production"), obj.production, '"acme-deals"', tableNameProblem);
    }
    return table;
}

/** Validates a production description (from prod-mirror:app or the file prod-mirror:appFile names). */
export function parseApp(where: Where, value: unknown): AppSpec {
    const example = `{"services": [${SERVICE_EXAMPLE}], "cloud": {"tables": [${TABLE_EXAMPLE}]}}`;
    const obj = object(where, value, example);
    onlyFields(where, obj, APP_FIELDS, example);
    if (obj.deployment !== undefined && obj.services !== undefined) {
        where.field("services").fail(ONE_SOURCE, obj.services, ONE_SOURCE_EXAMPLE);
    }
    const services = list(where.field("services"), obj.services, SERVICE_EXAMPLE, parseService);
    if (services.length === 0 && obj.deployment === undefined) {
        where.field("services").fail("expected at least one service", obj.services, `[${SERVICE_EXAMPLE}]`);
    }
    const cloudWhere = where.field("cloud");
    const cloudExample = `{"queues": [${QUEUE_EXAMPLE}], "buckets": [${BUCKET_EXAMPLE}], "tables": [${TABLE_EXAMPLE}]}`;
    const cloudObj = obj.cloud === undefined ? {} : object(cloudWhere, obj.cloud, cloudExample);
    onlyFields(cloudWhere, cloudObj, ["queues", "buckets", "tables"], cloudExample);
    const cloud: CloudSpec = {
        queues: list(cloudWhere.field("queues"), cloudObj.queues, QUEUE_EXAMPLE, (w, v) => {
            const q = object(w, v, QUEUE_EXAMPLE);
            onlyFields(w, q, ["name", "visibilityTimeoutSeconds", "production"], QUEUE_EXAMPLE);
            const queue = {
                name: declaredName(w.field("name"), q.name, '"deal-events"'),
                visibilityTimeoutSeconds:
                    q.visibilityTimeoutSeconds === undefined
                        ? DEFAULT_VISIBILITY_TIMEOUT_SECONDS
                        : int(w.field("visibilityTimeoutSeconds"), q.visibilityTimeoutSeconds, 0, 43200, String(DEFAULT_VISIBILITY_TIMEOUT_SECONDS), "number of seconds"),
            };
            return q.production === undefined ? queue : { ...queue, production: parseQueueProduction(w.field("production"), q.production) };
        }),
        buckets: list(cloudWhere.field("buckets"), cloudObj.buckets, BUCKET_EXAMPLE, (w, v) => {
            const b = object(w, v, BUCKET_EXAMPLE);
            onlyFields(w, b, ["name", "production"], BUCKET_EXAMPLE);
            const bucket = { name: declaredName(w.field("name"), b.name, '"receipts"') };
            return b.production === undefined ? bucket : { ...bucket, production: checked(w.field("production"), b.production, '"acme-deal-receipts"', bucketNameProblem) };
        }),
        tables: list(cloudWhere.field("tables"), cloudObj.tables, TABLE_EXAMPLE, parseTable),
    };
    // The fields' own rules were checked above, where the error can show the value as written; what
    // is left here are the rules across fields (names used once, uses, env variables), worded alike.
    const app: AppSpec = { services, cloud };
    if (obj.deployment !== undefined) {
        app.deployment = parseDeployment(where.field("deployment"), obj.deployment);
    }
    if (obj.images !== undefined) {
        app.images = list(where.field("images"), obj.images, IMAGE_EXAMPLE, parseImage);
    }
    if (obj.standIns !== undefined) {
        app.standIns = parseStandIns(where.field("standIns"), obj.standIns);
    }
    if (obj.customResourceKinds !== undefined) {
        app.customResourceKinds = list(where.field("customResourceKinds"), obj.customResourceKinds, KIND_EXAMPLE, parseKind);
    }
    const [problem] = appProblems(app);
    if (problem !== undefined) {
        const at = where.at(problem.at);
        return problem.example === undefined ? at.invalid(problem.expected) : at.fail(problem.expected, problem.got, problem.example);
    }
    return app;
}
