// The app description's parser: reads prod-mirror:app (JSON) or the file prod-mirror:appFile names
// (YAML), checks every field's shape, then every rule of app-spec.ts (appProblems), and returns the
// typed description with its defaults applied. Errors name the field's path, the file, the bad
// value (or, for a file, only what kind of value it is) and an example.
import {
    appProblems,
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
    type KeyType,
    type ServiceSpec,
    type TableSpec,
} from "./app-spec";
import type { Where } from "./config-error";
import { int, list, matching, object, onlyFields, optionalStr, resources, str, stringList, stringMap } from "./config-fields";
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
                    q.visibilityTimeoutSeconds === undefined
                        ? DEFAULT_VISIBILITY_TIMEOUT_SECONDS
                        : int(w.field("visibilityTimeoutSeconds"), q.visibilityTimeoutSeconds, 0, 43200, String(DEFAULT_VISIBILITY_TIMEOUT_SECONDS), "number of seconds"),
            };
        }),
        buckets: list(cloudWhere.field("buckets"), cloudObj.buckets, BUCKET_EXAMPLE, (w, v) => {
            const b = object(w, v, BUCKET_EXAMPLE);
            onlyFields(w, b, ["name"], BUCKET_EXAMPLE);
            return { name: declaredName(w.field("name"), b.name, '"receipts"') };
        }),
        tables: list(cloudWhere.field("tables"), cloudObj.tables, TABLE_EXAMPLE, parseTable),
    };
    // The fields' own rules were checked above, where the error can show the value as written; what
    // is left here are the rules across fields (names used once, uses, env variables), worded alike.
    const app = { services, cloud };
    const [problem] = appProblems(app);
    if (problem !== undefined) {
        const at = where.at(problem.at);
        return problem.example === undefined ? at.invalid(problem.expected) : at.fail(problem.expected, problem.got, problem.example);
    }
    return app;
}
