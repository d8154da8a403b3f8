// The environment-variable contract: every collision is found before anything is declared, and its
// error names both sources and the fix (through the stack config, the app file and the component).
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import {
    bucketVar,
    ConfigError,
    envCollision,
    MIRROR_ENV,
    parseSettings,
    ProductionMirror,
    queueNameVar,
    queueUrlVar,
    RUNNER_ENV,
    serviceUrlVar,
    tableVar,
    type RawSettings,
} from "../../components";
import { CONTEXT, EMULATOR_IMAGE, PASSWORD, sampleApp } from "./fixtures";
import { settle, useMocks, valueOf } from "./mocks";

const API = { name: "api", port: 8080, image: "r/api:{tag}" };
const WORKER = { name: "worker", port: 8081, image: "r/worker:{tag}" };
const FILE = "production.yaml (named by prod-mirror:appFile in Pulumi.dev.yaml)";

/** Parses `app` as the app file production.yaml and returns the error text. */
function errorOf(app: unknown): string {
    const raw: RawSettings = { registryUsername: "ci-bot", emulatorImage: EMULATOR_IMAGE, appFile: "production.yaml" };
    try {
        parseSettings(raw, { stack: "dev", readFile: () => JSON.stringify(app) });
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
        return err.message;
    }
    return assert.fail("parsed without an error");
}

describe("environment-variable contract", () => {
    it("refuses a service's own HOME: the mirror sets it, and both sources are named", () => {
        assert.strictEqual(
            errorOf({ services: [{ ...API, env: { LOG_LEVEL: "debug", HOME: "/home/app" } }] }),
            `services[0].env.HOME in ${FILE} is invalid: HOME is set twice: by services[0].env as a value of its own, and by the mirror as ` +
                "/tmp (the root filesystem is read-only and uid 65532 has no home directory). Remove HOME from services[0].env: the mirror sets it.",
        );
    });

    it("refuses the variables Kubernetes sets that point a service at another cluster or name", () => {
        assert.strictEqual(
            errorOf({ services: [{ ...API, env: { KUBERNETES_SERVICE_HOST: "10.0.0.1" } }] }),
            `services[0].env.KUBERNETES_SERVICE_HOST in ${FILE} is invalid: KUBERNETES_SERVICE_HOST is set twice: by services[0].env as a value of its own, ` +
                "and by Kubernetes as the address of the mirror's Kubernetes API server. Remove KUBERNETES_SERVICE_HOST from services[0].env: Kubernetes sets it.",
        );
        assert.match(errorOf({ services: [{ ...API, env: { HOSTNAME: "prod-1" } }] }), /HOSTNAME is set twice: .* and by Kubernetes as the pod's name\./);
        assert.match(errorOf({ services: [{ ...API, env: { AWS_SESSION_TOKEN: "t" } }] }), /AWS_SESSION_TOKEN is set twice: .* Remove AWS_SESSION_TOKEN from services\[0\]\.env: the mirror sets it\.$/);
    });

    // Every variable the mirror or Kubernetes sets in a container, with what the error says it holds.
    const FIXED: Array<[string, string, string]> = [
        ["PORT", "the mirror", "the service's port"],
        ["AWS_REGION", "the mirror", "the mirror's AWS region"],
        ["AWS_DEFAULT_REGION", "the mirror", "the mirror's AWS region"],
        ["AWS_ENDPOINT_URL", "the mirror", "the AWS endpoint of the mirror's queues, buckets and tables"],
        ["AWS_ACCESS_KEY_ID", "the mirror", "the mirror's AWS credentials"],
        ["AWS_SECRET_ACCESS_KEY", "the mirror", "the mirror's AWS credentials"],
        ["AWS_SESSION_TOKEN", "the mirror", "the mirror's AWS credentials (left unset, so that the keys above are used alone)"],
        ["HOSTNAME", "Kubernetes", "the pod's name"],
        ["KUBERNETES_SERVICE_PORT", "Kubernetes", "the port of the mirror's Kubernetes API server"],
    ];
    for (const [variable, setter, meaning] of FIXED) {
        it(`refuses a service's own ${variable}, saying ${setter} sets it as ${meaning}`, () => {
            assert.strictEqual(
                errorOf({ services: [{ ...API, env: { [variable]: "x" } }] }),
                `services[0].env.${variable} in ${FILE} is invalid: ${variable} is set twice: by services[0].env as a value of its own, and by ${setter} as ` +
                    `${meaning}. Remove ${variable} from services[0].env: ${setter} sets it.`,
            );
        });
    }

    it("refuses a service's own <QUEUE>_QUEUE_NAME when it uses that queue", () => {
        assert.strictEqual(
            errorOf({ services: [{ ...API, env: { DEAL_EVENTS_QUEUE_NAME: "x" }, uses: { queues: ["deal-events"] } }], cloud: { queues: [{ name: "deal-events" }] } }),
            `services[0].env.DEAL_EVENTS_QUEUE_NAME in ${FILE} is invalid: DEAL_EVENTS_QUEUE_NAME is set twice: by services[0].env as a value of its own, and by ` +
                'services[0].uses.queues[0] ("deal-events") as the name of queue deal-events. Remove DEAL_EVENTS_QUEUE_NAME from services[0].env: the mirror sets it.',
        );
    });

    it("refuses a service's own <BUCKET>_BUCKET when it uses that bucket", () => {
        assert.strictEqual(
            errorOf({ services: [{ ...API, env: { RECEIPTS_BUCKET: "x" }, uses: { buckets: ["receipts"] } }], cloud: { buckets: [{ name: "receipts" }] } }),
            `services[0].env.RECEIPTS_BUCKET in ${FILE} is invalid: RECEIPTS_BUCKET is set twice: by services[0].env as a value of its own, and by ` +
                'services[0].uses.buckets[0] ("receipts") as the name of bucket receipts. Remove RECEIPTS_BUCKET from services[0].env: the mirror sets it.',
        );
    });

    it("refuses a per-service AWS endpoint, which would send that service's calls past the mirror", () => {
        assert.strictEqual(
            errorOf({ services: [{ ...API, env: { AWS_ENDPOINT_URL_SQS: "https://sqs.eu-west-1.amazonaws.com" } }] }),
            `services[0].env.AWS_ENDPOINT_URL_SQS in ${FILE} is invalid: AWS_ENDPOINT_URL_SQS would override AWS_ENDPOINT_URL for one AWS service ` +
                "in every AWS SDK, sending its calls past the mirror's endpoint. Remove AWS_ENDPOINT_URL_SQS from services[0].env: the mirror sets AWS_ENDPOINT_URL for all of them.",
        );
    });

    it("refuses a service's own WORKER_URL when it uses worker (and keeps it when it does not)", () => {
        assert.strictEqual(
            errorOf({ services: [WORKER, { ...API, env: { WORKER_URL: "http://worker.prod:8081" }, uses: { services: ["worker"] } }] }),
            `services[1].env.WORKER_URL in ${FILE} is invalid: WORKER_URL is set twice: by services[1].env as a value of its own, and by ` +
                'services[1].uses.services[0] ("worker") as the in-cluster URL of service worker. Remove WORKER_URL from services[1].env: the mirror sets it.',
        );
        const free = { services: [WORKER, { ...API, env: { WORKER_URL: "http://worker.prod:8081" } }] };
        const s = parseSettings({ registryUsername: "ci-bot", emulatorImage: EMULATOR_IMAGE, appFile: "production.yaml" }, { stack: "dev", readFile: () => JSON.stringify(free) });
        assert.deepStrictEqual(s.app.services[1].env, { WORKER_URL: "http://worker.prod:8081" });
        assert.match(
            errorOf({ services: [{ ...API, env: { DEAL_EVENTS_QUEUE_URL: "x" }, uses: { queues: ["deal-events"] } }], cloud: { queues: [{ name: "deal-events" }] } }),
            /DEAL_EVENTS_QUEUE_URL is set twice: by services\[0\]\.env as a value of its own, and by services\[0\]\.uses\.queues\[0\] \("deal-events"\) as the URL of queue deal-events\./,
        );
    });

    it("refuses a service x-queue next to a queue x: both make X_QUEUE_URL", () => {
        assert.strictEqual(
            errorOf({ services: [API, { ...WORKER, name: "x-queue" }], cloud: { queues: [{ name: "x" }] } }),
            `cloud.queues[0].name in ${FILE} is invalid: X_QUEUE_URL is set twice: by cloud.queues[0].name ("x") as the URL of queue x, ` +
                'and by services[1].name ("x-queue") as the in-cluster URL of service x-queue. Rename queue x or service x-queue.',
        );
    });

    it("refuses a service whose URL variable would overwrite AWS_ENDPOINT_URL", () => {
        assert.strictEqual(
            errorOf({ services: [{ ...API, name: "aws-endpoint" }] }),
            `services[0].name in ${FILE} is invalid: AWS_ENDPOINT_URL is set twice: by services[0].name ("aws-endpoint") as the in-cluster URL of ` +
                "service aws-endpoint, and by the mirror as the AWS endpoint of the mirror's queues, buckets and tables. Rename service aws-endpoint.",
        );
    });

    it("keeps the runner's PROD_MIRROR_ variables to itself", () => {
        assert.strictEqual(
            errorOf({ services: [API], cloud: { buckets: [{ name: "prod-mirror-x" }] } }),
            `cloud.buckets[0].name in ${FILE} is invalid: PROD_MIRROR_X_BUCKET (the name of bucket prod-mirror-x) starts with PROD_MIRROR_, which the ` +
                "test runner's own variables use (PROD_MIRROR_NAMESPACE, PROD_MIRROR_BRANCH, PROD_MIRROR_EXPIRES_AT). Rename bucket prod-mirror-x.",
        );
    });

    it("keeps the runner's PROD_MIRROR_ variables from a table too, naming it", () => {
        assert.strictEqual(
            errorOf({ services: [API], cloud: { tables: [{ name: "prod-mirror-x", hashKey: "id" }] } }),
            `cloud.tables[0].name in ${FILE} is invalid: PROD_MIRROR_X_TABLE (the name of table prod-mirror-x) starts with PROD_MIRROR_, which the ` +
                "test runner's own variables use (PROD_MIRROR_NAMESPACE, PROD_MIRROR_BRANCH, PROD_MIRROR_EXPIRES_AT). Rename table prod-mirror-x.",
        );
    });

    it("refuses a resource listed twice in one service's uses (one container variable twice)", () => {
        assert.strictEqual(
            errorOf({ services: [{ ...API, uses: { tables: ["deals", "deals"] } }], cloud: { tables: [{ name: "deals", hashKey: "id" }] } }),
            `services[0].uses.tables[1] in ${FILE} is invalid: DEALS_TABLE is set twice: by services[0].uses.tables[1] ("deals") as the name of table deals, ` +
                'and by services[0].uses.tables[0] ("deals") as the name of table deals. List each name once in services[0].uses.tables.',
        );
    });

    it("finds nothing in the sample app, and every collision in a direct call", () => {
        assert.strictEqual(envCollision(sampleApp()), undefined);
        const app = sampleApp();
        app.services[2].env.API_URL = "http://api.prod";
        assert.deepStrictEqual(envCollision(app)?.at, ["services", 2, "env", "API_URL"]);
    });

    it("covers every variable the mirror gives a container and the test runner, so no source goes unchecked", async () => {
        const mocks = await useMocks(false);
        const app = sampleApp();
        const mirror = new ProductionMirror("m", {
            context: CONTEXT,
            stack: "dev",
            app,
            registry: { server: "127.0.0.1:5000", username: "ci-bot", password: pulumi.secret(PASSWORD) },
            cloud: { mode: "aws", region: "us-east-1", endpoint: "http://10.0.0.1:4566", accessKeyId: pulumi.secret("AKIA"), secretAccessKey: pulumi.secret("s") },
        });
        await settle(mocks);
        // The sample app's services api, worker, gateway, queue deal-events, bucket receipts, table deals.
        const declared = ["API_URL", "WORKER_URL", "GATEWAY_URL", "DEAL_EVENTS_QUEUE_URL", "DEAL_EVENTS_QUEUE_NAME", "RECEIPTS_BUCKET", "DEALS_TABLE"];
        assert.deepStrictEqual(
            [serviceUrlVar("deal-events"), queueUrlVar("deal-events"), queueNameVar("deal-events"), bucketVar("deal-events"), tableVar("deal-events")],
            ["DEAL_EVENTS_URL", "DEAL_EVENTS_QUEUE_URL", "DEAL_EVENTS_QUEUE_NAME", "DEAL_EVENTS_BUCKET", "DEAL_EVENTS_TABLE"],
        );
        const runner = Object.keys(await valueOf(mirror.runnerEnv));
        assert.deepStrictEqual(runner.filter((v) => !(v in RUNNER_ENV) && !declared.includes(v)), []);
        for (const service of app.services) {
            const [deployment] = mocks.ofType("kubernetes:apps/v1:Deployment").filter((r) => r.name.endsWith(`/${service.name}`));
            const [container] = deployment.inputs.spec.template.spec.containers;
            const names: string[] = container.env.map((e: { name: string }) => e.name);
            assert.deepStrictEqual(names.filter((v) => !(v in MIRROR_ENV) && !declared.includes(v) && !(v in service.env)), [], service.name);
        }
    });

    it("stops ProductionMirror before it declares anything", async () => {
        const mocks = await useMocks(false);
        const app = sampleApp();
        app.services[0].env.HOME = "/home/app";
        assert.throws(
            () =>
                new ProductionMirror("bad", {
                    context: CONTEXT,
                    stack: "dev",
                    app,
                    registry: { server: "127.0.0.1:5000", username: "ci-bot", password: pulumi.secret(PASSWORD) },
                    cloud: { mode: "emulated", region: "us-east-1", image: "moto" },
                }),
            {
                message:
                    "ProductionMirror bad: services[0].env.HOME: HOME is set twice: by services[0].env as a value of its own, and by the mirror as /tmp " +
                    "(the root filesystem is read-only and uid 65532 has no home directory). Remove HOME from services[0].env: the mirror sets it.",
            },
        );
        await settle(mocks);
        assert.deepStrictEqual(
            mocks.registrations.map((r) => r.type),
            [],
        );
    });
});
