import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { APP_FILE_MAX_BYTES } from "../../components/app-file";
import { DEFAULT_CONTAINER_DEFAULTS, DEFAULT_QUOTA } from "../../components/app-spec";
import { ConfigError } from "../../components/config-error";
import { MirrorSettings, parseSettings, RawSettings } from "../../components/settings";
import { readProjectFile } from "../../components/project-file";
import { EMULATOR_IMAGE } from "./fixtures";
import { repoRoot } from "./mocks";

const APP = {
    services: [
        { name: "api", port: 8080, image: "r/api:{tag}", uses: { tables: ["deals"], queues: ["deal-events"] } },
        { name: "gateway", port: 8000, build: { context: "app" }, uses: { services: ["api"] } },
    ],
    cloud: { tables: [{ name: "deals", hashKey: "id" }], queues: [{ name: "deal-events" }] },
};

const BASE: RawSettings = { registryUsername: "ci-bot", emulatorImage: EMULATOR_IMAGE, app: JSON.stringify(APP) };
const noFiles = (p: string): string => {
    throw new Error(`ENOENT: no such file, open '${p}'`);
};

function parse(raw: RawSettings, readFile: (p: string) => string = noFiles, now?: Date) {
    return parseSettings(raw, { stack: "dev", readFile, ...(now === undefined ? {} : { now }) });
}

/** Asserts that parsing fails with exactly this message. */
function rejects(raw: RawSettings, message: string, readFile?: (p: string) => string): void {
    assert.throws(
        () => parse(raw, readFile),
        (err: Error) => {
            assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
            assert.strictEqual(err.message, message);
            return true;
        },
    );
}

function withApp(app: unknown): RawSettings {
    return { ...BASE, app: JSON.stringify(app) };
}

describe("config", () => {
    it("applies every documented default to a minimal stack, and sets no optional key", () => {
        const base = { env: {}, replicas: 1, readinessPath: "/healthz" };
        assert.deepStrictEqual(parse(BASE), {
            stack: "dev",
            ttlHours: 72,
            namePrefix: "pm",
            readyTimeoutSeconds: 180,
            probePeriodSeconds: 1,
            installation: "default",
            clusterDomain: "cluster.local",
            previewDomain: "localhost",
            registryServer: "127.0.0.1:5000",
            registryUsername: "ci-bot",
            imageRepository: "prod-mirror",
            imageBuilder: "docker",
            cloudMode: "emulated",
            awsRegion: "us-east-1",
            emulatorImage: EMULATOR_IMAGE,
            quota: { requestsCpu: "4", requestsMemory: "8Gi", limitsCpu: "8", limitsMemory: "16Gi", pods: 50 },
            containerDefaults: { requestCpu: "50m", requestMemory: "64Mi", limitCpu: "500m", limitMemory: "256Mi" },
            deleteTimeoutSeconds: 120,
            app: {
                services: [
                    { name: "api", port: 8080, ...base, uses: { queues: ["deal-events"], buckets: [], tables: ["deals"], services: [] }, image: "r/api:{tag}" },
                    { name: "gateway", port: 8000, ...base, uses: { queues: [], buckets: [], tables: [], services: ["api"] }, build: { context: "app", args: {} } },
                ],
                cloud: { queues: [{ name: "deal-events", visibilityTimeoutSeconds: 30 }], buckets: [], tables: [{ name: "deals", hashKey: "id", hashKeyType: "S", rangeKeyType: "S" }] },
            },
            overrides: {},
        });
        assert.deepStrictEqual(DEFAULT_QUOTA, { requestsCpu: "4", requestsMemory: "8Gi", limitsCpu: "8", limitsMemory: "16Gi", pods: 50 });
        assert.deepStrictEqual(DEFAULT_CONTAINER_DEFAULTS, { requestCpu: "50m", requestMemory: "64Mi", limitCpu: "500m", limitMemory: "256Mi" });
    });

    it("parses production's own deployment and its mirror fields (the README's example), with the Helm defaults", () => {
        const file = [
            "deployment:",
            "  helm: { chart: charts/deals, set: { replicaCount: 2, image: { pullPolicy: Always } } }",
            "images:",
            "  - production: registry.example.com/deals/api",
            "    service: api",
            "    build: { context: app, dockerfile: app/api/Dockerfile }",
            "  - { production: registry.example.com/deals/worker, service: worker }",
            "cloud:",
            '  queues: [{ name: deal-events, production: { url: "https://sqs.eu-west-1.amazonaws.com/210987654321/deal-events", name: deal-events } }]',
            "  buckets: [{ name: receipts, production: acme-deal-receipts }]",
            "  tables: [{ name: deals, hashKey: id, production: acme-deals }]",
            "standIns:",
            "  secrets: [{ name: deal-signing, keys: [key, tls.crt] }]",
            "customResourceKinds: [{ apiVersion: example.com/v1, kind: Widget, namespaced: true }]",
        ].join("\n");
        const s = parse(
            { ...BASE, app: undefined, appFile: "production.yaml", overrides: '{"deals-api": {"replicas": 1}}', previewDomain: "preview.example.com", previewTlsSecret: "preview-tls" },
            () => file,
        );
        assert.deepStrictEqual(s.app, {
            services: [],
            cloud: {
                queues: [{ name: "deal-events", visibilityTimeoutSeconds: 30, production: { url: "https://sqs.eu-west-1.amazonaws.com/210987654321/deal-events", name: "deal-events" } }],
                buckets: [{ name: "receipts", production: "acme-deal-receipts" }],
                tables: [{ name: "deals", hashKey: "id", hashKeyType: "S", rangeKeyType: "S", production: "acme-deals" }],
            },
            deployment: { kind: "helm", chart: "charts/deals", values: [], set: { replicaCount: 2, image: { pullPolicy: "Always" } }, releaseName: "deals" },
            images: [
                { production: "registry.example.com/deals/api", service: "api", build: { context: "app", dockerfile: "app/api/Dockerfile", args: {} } },
                { production: "registry.example.com/deals/worker", service: "worker" },
            ],
            standIns: { secrets: [{ name: "deal-signing", keys: ["key", "tls.crt"] }] },
            customResourceKinds: [{ apiVersion: "example.com/v1", kind: "Widget", namespaced: true }],
        });
        // With a deployment, overrides are keyed by workload name: nothing declares them before rendering.
        assert.deepStrictEqual(s.overrides, { "deals-api": { replicas: 1 } });
        assert.deepStrictEqual([s.previewDomain, s.previewTlsSecret], ["preview.example.com", "preview-tls"]);
    });

    it("takes manifests and kustomize sources as project-relative paths, in the order given", () => {
        const manifests = parse(withApp({ deployment: { manifests: ["app/deploy/plain", "app/deploy/extra.yaml"] } })).app.deployment;
        assert.deepStrictEqual(manifests, { kind: "manifests", paths: ["app/deploy/plain", "app/deploy/extra.yaml"] });
        const kustomize = parse(withApp({ deployment: { kustomize: "app/deploy/production" } })).app.deployment;
        assert.deepStrictEqual(kustomize, { kind: "kustomize", directory: "app/deploy/production" });
        const helm = parse(withApp({ deployment: { helm: { chart: "charts/deals", values: ["a.yaml", "b.yaml"], releaseName: "deals-prod" } } })).app.deployment;
        assert.deepStrictEqual(helm, { kind: "helm", chart: "charts/deals", values: ["a.yaml", "b.yaml"], set: {}, releaseName: "deals-prod" });
    });

    it("takes every optional key, normalising the commit to lowercase and the endpoints without trailing slashes", () => {
        const s = parse({
            ...BASE,
            branch: "feature/login",
            commit: "3F2A9C1",
            owner: "dana",
            pullRequest: "42",
            sourceRepo: "octo/app",
            kubeContext: "kind-pm",
            expiresAt: "2026-11-27T10:00:00Z",
            awsEndpoint: "http://127.0.0.1:4566//",
            awsWorkloadEndpoint: "https://aws.internal:4566/base/",
            awsWorkloadIdentity: "arn:aws:iam::123456789012:role/prod-mirror-workloads",
        }, noFiles, new Date("2026-11-26T10:00:00Z"));
        assert.deepStrictEqual(
            [s.branch, s.commit, s.owner, s.pullRequest, s.sourceRepo, s.kubeContext, s.expiresAt, s.awsEndpoint, s.awsWorkloadEndpoint, s.awsWorkloadIdentity],
            ["feature/login", "3f2a9c1", "dana", "42", "octo/app", "kind-pm", "2026-11-27T10:00:00.000Z", "http://127.0.0.1:4566", "https://aws.internal:4566/base", "arn:aws:iam::123456789012:role/prod-mirror-workloads"],
        );
        assert.strictEqual(parse({ ...BASE, commit: "0123456789abcdef0123456789abcdef01234567" }).commit, "0123456789abcdef0123456789abcdef01234567");
        assert.strictEqual(parse({ ...BASE, awsEndpoint: "http://127.0.0.1:4566/a/b" }).awsEndpoint, "http://127.0.0.1:4566/a/b");
    });

    it("treats a blank value as unset: the default applies and an optional key stays absent", () => {
        const s = parse({ ...BASE, namePrefix: "  ", ttlHours: " ", branch: "\t", registryServer: "" });
        assert.deepStrictEqual([s.namePrefix, s.ttlHours, s.registryServer], ["pm", 72, "127.0.0.1:5000"]);
        assert.ok(!("branch" in s), "a blank branch is no branch");
        assert.strictEqual(parse({ ...BASE, ttlHours: " 24 " }).ttlHours, 24);
        assert.deepStrictEqual([" 60 ", "10", "3600"].map((readyTimeoutSeconds) => parse({ ...BASE, readyTimeoutSeconds }).readyTimeoutSeconds), [60, 10, 3600]);
        assert.deepStrictEqual(["0", " 5 ", "60"].map((probePeriodSeconds) => parse({ ...BASE, probePeriodSeconds }).probePeriodSeconds), [0, 5, 60]);
    });

    it("takes the forms each pattern allows, at their edges", () => {
        const accepted: [keyof RawSettings, string][] = [
            ["installation", "a"],
            ["installation", "a".repeat(40)],
            ["installation", "0-9"],
            ["clusterDomain", "a.b"],
            ["clusterDomain", "svc.cluster.local"],
            ["clusterDomain", "local"],
            ["registryServer", "r"],
            ["registryServer", "registry.internal"],
            ["registryServer", "10.0.0.1:12345"],
            ["imageRepository", "a"],
            ["imageRepository", "team/api"],
            ["imageRepository", "team/prod-mirror.ci_2/x"],
            ["awsRegion", "us-gov-west-1"],
            ["awsRegion", "ap-southeast-10"],
            ["namePrefix", "a123456789"],
        ];
        for (const [key, value] of accepted) {
            assert.strictEqual(parse({ ...BASE, [key]: value })[key as "installation"], value, `${key} = ${value}`);
        }
    });

    it("reads prod-mirror:deleteTimeout in seconds or minutes, up to its edges", () => {
        assert.deepStrictEqual(
            ["45s", "2m", "10s", "60m", "3600s", " 90s "].map((deleteTimeout) => parse({ ...BASE, deleteTimeout }).deleteTimeoutSeconds),
            [45, 120, 10, 3600, 3600, 90],
        );
    });

    it("fills the fields quota and containerDefaults leave out from the defaults, and takes numbers and the edges of pods", () => {
        assert.deepStrictEqual(parse({ ...BASE, quota: '{"requestsCpu": "2", "requestsMemory": "4Gi", "limitsCpu": 3, "limitsMemory": "0.25Ti", "pods": "1000"}' }).quota, {
            requestsCpu: "2",
            requestsMemory: "4Gi",
            limitsCpu: "3",
            limitsMemory: "0.25Ti",
            pods: 1000,
        });
        assert.deepStrictEqual(parse({ ...BASE, quota: '{"pods": 1}' }).quota, { requestsCpu: "4", requestsMemory: "8Gi", limitsCpu: "8", limitsMemory: "16Gi", pods: 1 });
        assert.deepStrictEqual(parse({ ...BASE, quota: '{"limitsMemory": "32Gi"}' }).quota, { requestsCpu: "4", requestsMemory: "8Gi", limitsCpu: "8", limitsMemory: "32Gi", pods: 50 });
        assert.deepStrictEqual(parse({ ...BASE, containerDefaults: '{"limitMemory": "512Mi"}' }).containerDefaults, { requestCpu: "50m", requestMemory: "64Mi", limitCpu: "500m", limitMemory: "512Mi" });
        assert.deepStrictEqual(parse({ ...BASE, containerDefaults: '{"requestCpu": "0.1", "requestMemory": "1E", "limitCpu": 2, "limitMemory": "1.5Gi"}' }).containerDefaults, {
            requestCpu: "0.1",
            requestMemory: "1E",
            limitCpu: "2",
            limitMemory: "1.5Gi",
        });
    });

    it("keeps exactly the overrides given, at the edges of replicas", () => {
        const overrides = { api: { replicas: 0, resources: { requests: { cpu: 1 } } }, gateway: { resources: { limits: { memory: "1.5Gi" } } } };
        assert.deepStrictEqual(parse({ ...BASE, overrides: JSON.stringify(overrides) }).overrides, {
            api: { replicas: 0, resources: { requests: { cpu: "1" } } },
            gateway: { resources: { limits: { memory: "1.5Gi" } } },
        });
        assert.deepStrictEqual(parse({ ...BASE, overrides: '{"api": {"replicas": " 50 "}, "gateway": {}}' }).overrides, { api: { replicas: 50 }, gateway: {} });
    });

    it("keeps every field of a full description, with numbers as text converted and the edges of each range", () => {
        const app = {
            services: [
                {
                    name: "api",
                    port: 1024,
                    image: "127.0.0.1:5000/api@sha256:abc",
                    env: { LOG_LEVEL: "debug", _X1: 5, FLAG: false },
                    replicas: 0,
                    readinessPath: "/",
                    resources: { requests: { cpu: 2, memory: "0.5Gi" } },
                    uses: { queues: ["q"], buckets: ["b"], tables: ["t"], services: ["web"] },
                },
                {
                    name: "web",
                    port: " 65535 ",
                    build: { context: "app", dockerfile: "app/web/Dockerfile", target: "runtime", args: { BASE_IMAGE2: "x", N: 5, _ON: true } },
                    replicas: " 50 ",
                    readinessPath: "/ready?full=1",
                    resources: { limits: { cpu: "250m" } },
                },
                { name: "worker", port: "8080", image: "w", replicas: "3", resources: {} },
            ],
            cloud: {
                queues: [{ name: "q", visibilityTimeoutSeconds: 0 }, { name: "slow", visibilityTimeoutSeconds: 43200 }],
                buckets: [{ name: "b" }],
                tables: [{ name: "t", hashKey: "id", hashKeyType: "N", rangeKey: "at", rangeKeyType: "B" }, { name: "u", hashKey: "k", hashKeyType: "B", rangeKeyType: "S" }],
            },
        };
        const none = { queues: [], buckets: [], tables: [], services: [] };
        assert.deepStrictEqual(parse(withApp(app)).app, {
            services: [
                {
                    name: "api",
                    port: 1024,
                    env: { LOG_LEVEL: "debug", _X1: "5", FLAG: "false" },
                    replicas: 0,
                    readinessPath: "/",
                    uses: { queues: ["q"], buckets: ["b"], tables: ["t"], services: ["web"] },
                    image: "127.0.0.1:5000/api@sha256:abc",
                    resources: { requests: { cpu: "2", memory: "0.5Gi" } },
                },
                {
                    name: "web",
                    port: 65535,
                    env: {},
                    replicas: 50,
                    readinessPath: "/ready?full=1",
                    uses: none,
                    build: { context: "app", args: { BASE_IMAGE2: "x", N: "5", _ON: "true" }, dockerfile: "app/web/Dockerfile", target: "runtime" },
                    resources: { limits: { cpu: "250m" } },
                },
                { name: "worker", port: 8080, env: {}, replicas: 3, readinessPath: "/healthz", uses: none, image: "w", resources: {} },
            ],
            cloud: {
                queues: [{ name: "q", visibilityTimeoutSeconds: 0 }, { name: "slow", visibilityTimeoutSeconds: 43200 }],
                buckets: [{ name: "b" }],
                tables: [{ name: "t", hashKey: "id", hashKeyType: "N", rangeKey: "at", rangeKeyType: "B" }, { name: "u", hashKey: "k", hashKeyType: "B", rangeKeyType: "S" }],
            },
        });
    });

    it("takes an installation id only in the form labels and tags carry verbatim", () => {
        assert.strictEqual(parse({ ...BASE, installation: "i-3f2a9c1d5e6f" }).installation, "i-3f2a9c1d5e6f");
        rejects(
            { ...BASE, installation: "Team A" },
            'prod-mirror:installation in Pulumi.dev.yaml is invalid: expected 1 to 40 lowercase letters, digits and hyphens, starting and ending with a letter or digit, got "Team A". Example: prod-mirror:installation: team-a',
        );
        assert.throws(() => parse({ ...BASE, installation: "a".repeat(41) }), { message: /^prod-mirror:installation in Pulumi.dev.yaml is invalid/ });
        assert.throws(() => parse({ ...BASE, installation: "team-" }), { message: /^prod-mirror:installation in Pulumi.dev.yaml is invalid/ });
    });

    it("requires prod-mirror:emulatorImage in emulated mode only: how the registry was filled is not the program's to know", () => {
        const { emulatorImage: _, ...withoutImage } = BASE;
        const what = "the AWS emulator's image (moto_server with python3 + boto3), required when cloudMode is emulated; the CLI sets the local environment's";
        rejects(
            withoutImage,
            `prod-mirror:emulatorImage is missing from Pulumi.dev.yaml: ${what}. ` +
                "Set it with: pulumi config set prod-mirror:emulatorImage 127.0.0.1:5000/prod-mirror/moto@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        );
        rejects(
            { ...withoutImage, cloudMode: "emulated", registryServer: "registry.internal:443" },
            `prod-mirror:emulatorImage is missing from Pulumi.dev.yaml: ${what}. ` +
                "Set it with: pulumi config set prod-mirror:emulatorImage registry.internal:443/prod-mirror/moto@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        );
        // A blank value is no value, as for every key.
        assert.throws(() => parse({ ...BASE, emulatorImage: "  " }), { message: /^prod-mirror:emulatorImage is missing from Pulumi\.dev\.yaml: / });
        const aws = parse({ ...withoutImage, cloudMode: "aws" });
        assert.ok(!("emulatorImage" in aws), "aws mode has no emulator image");
        assert.strictEqual(parse({ ...BASE, cloudMode: "aws" }).emulatorImage, EMULATOR_IMAGE);
        assert.strictEqual(parse({ ...BASE, emulatorImage: "registry.internal:443/tools/moto:5" }).emulatorImage, "registry.internal:443/tools/moto:5");
    });

    it("reads a YAML production description from prod-mirror:appFile", () => {
        const files: Record<string, string> = { "production.yaml": yaml.dump(APP) };
        const s = parse({ registryUsername: "ci-bot", emulatorImage: EMULATOR_IMAGE, appFile: "production.yaml" }, (p) => files[p] ?? noFiles(p));
        assert.strictEqual(s.app.services[1].build?.context, "app");
    });

    it("takes imageBuilder external, and names the key, the file and the allowed values for anything else", () => {
        assert.strictEqual(parse({ ...BASE, imageBuilder: "external" }).imageBuilder, "external");
        assert.strictEqual(parse({ ...BASE, imageBuilder: "docker" }).imageBuilder, "docker");
        rejects(
            { ...BASE, imageBuilder: "kaniko" },
            "prod-mirror:imageBuilder in Pulumi.dev.yaml is invalid: expected one of docker, external (docker: Pulumi builds and pushes each service's build; " +
                'external: the images were pushed beforehand under <registryServer>/<imageRepository>/<service>:<tag>), got "kaniko". Example: prod-mirror:imageBuilder: external',
        );
    });

    it("names the key, the stack file and an example when a required key is missing", () => {
        rejects(
            { app: BASE.app },
            "prod-mirror:registryUsername is missing from Pulumi.dev.yaml: the user name for the registry at 127.0.0.1:5000. " +
                "Set it with: pulumi config set prod-mirror:registryUsername prod-mirror-ci",
        );
    });

    it("shows the bad value and an example for a malformed scalar", () => {
        rejects({ ...BASE, ttlHours: "3 days" }, 'prod-mirror:ttlHours in Pulumi.dev.yaml is invalid: expected a whole number of hours; a mirror lives 1 to 720 hours (30 days), got "3 days". Example: prod-mirror:ttlHours: "72"');
        rejects({ ...BASE, cloudMode: "localstack" }, 'prod-mirror:cloudMode in Pulumi.dev.yaml is invalid: expected one of emulated, aws, got "localstack". Example: prod-mirror:cloudMode: emulated');
        rejects({ ...BASE, commit: "HEAD" }, 'prod-mirror:commit in Pulumi.dev.yaml is invalid: expected a git commit SHA of 7 to 40 hex digits, got "HEAD". Example: prod-mirror:commit: 3f2a9c1');
        rejects({ ...BASE, registryServer: "https://r:5000" }, 'prod-mirror:registryServer in Pulumi.dev.yaml is invalid: expected a registry host[:port] without a scheme, got "https://r:5000". Example: prod-mirror:registryServer: 127.0.0.1:5000');
        rejects({ ...BASE, awsEndpoint: "localhost:4566" }, 'prod-mirror:awsEndpoint in Pulumi.dev.yaml is invalid: expected an http:// or https:// URL, got "localhost:4566". Example: prod-mirror:awsEndpoint: http://127.0.0.1:4566');
    });

    it("refuses a name prefix that is malformed or lands on names others own, saying why (issue 8)", () => {
        assert.strictEqual(parse({ ...BASE, namePrefix: "team1" }).namePrefix, "team1");
        rejects({ ...BASE, namePrefix: "Team-1" }, 'prod-mirror:namePrefix in Pulumi.dev.yaml is invalid: expected 1 to 10 lowercase letters and digits, starting with a letter, got "Team-1". Example: prod-mirror:namePrefix: pm');
        rejects(
            { ...BASE, namePrefix: "kube" },
            "prod-mirror:namePrefix in Pulumi.dev.yaml is invalid: prefix kube would name namespaces kube-<branch>, and Kubernetes reserves " +
                'kube-* for its own (kube-system, kube-public, kube-node-lease); choose another prefix, got "kube". Example: prod-mirror:namePrefix: pm',
        );
        rejects(
            { ...BASE, namePrefix: "sthree" },
            "prod-mirror:namePrefix in Pulumi.dev.yaml is invalid: prefix sthree would name every S3 bucket sthree-..., a prefix S3 reserves, " +
                'so no bucket could be created; choose another prefix, got "sthree". Example: prod-mirror:namePrefix: pm',
        );
        rejects(
            { ...BASE, namePrefix: "amzn" },
            "prod-mirror:namePrefix in Pulumi.dev.yaml is invalid: prefix amzn would name S3 buckets amzn-..., and S3 reserves amzn-s3-demo-* " +
                '(branch s3-demo would hit it); choose another prefix, got "amzn". Example: prod-mirror:namePrefix: pm',
        );
    });

    it("requires exactly one of app and appFile", () => {
        rejects(
            { registryUsername: "ci-bot" },
            "prod-mirror:app is missing from Pulumi.dev.yaml: set either prod-mirror:app (the production description) or " +
                "prod-mirror:appFile (a project-relative YAML/JSON file holding it). Example: prod-mirror:appFile: production.yaml",
        );
        rejects(
            { ...BASE, appFile: "production.yaml" },
            "prod-mirror:app and prod-mirror:appFile are both set in Pulumi.dev.yaml: keep exactly one of them. Example: prod-mirror:appFile: production.yaml",
        );
    });

    it("names the nested path of a bad field in the description", () => {
        rejects(
            withApp({ ...APP, services: [{ ...APP.services[0], port: "http" }, APP.services[1]] }),
            'prod-mirror:app.services[0].port in Pulumi.dev.yaml is invalid: expected a whole number from 1024 to 65535, got "http". Example: prod-mirror:app.services[0].port: 8080',
        );
    });

    it("rejects unknown fields instead of silently ignoring a typo", () => {
        rejects(
            withApp({ ...APP, services: [{ ...APP.services[0], replica: 2 }, APP.services[1]] }),
            "prod-mirror:app.services[0].replica in Pulumi.dev.yaml is invalid: unknown field; known fields are name, port, image, build, env, replicas, resources, readinessPath, uses, got 2. " +
                'Example: prod-mirror:app.services[0].replica: {"name": "api", "port": 8080, "image": "127.0.0.1:5000/prod-mirror/api:{tag}", "uses": {"tables": ["deals"]}}',
        );
    });

    it("rejects a `uses` entry that names nothing declared", () => {
        rejects(
            withApp({ ...APP, services: [{ ...APP.services[0], uses: { buckets: ["receipts"] } }, APP.services[1]] }),
            'prod-mirror:app.services[0].uses.buckets[0] in Pulumi.dev.yaml is invalid: a declared bucket (none declared), got "receipts". Example: prod-mirror:app.services[0].uses.buckets[0]: (declare it first under cloud.buckets)',
        );
    });

    it("refuses ports below 1024 with the reason: the pods run as non-root and cannot bind them", () => {
        for (const port of [80, 1023]) {
            rejects(
                withApp({ ...APP, services: [{ ...APP.services[0], port }, APP.services[1]] }),
                `prod-mirror:app.services[0].port in Pulumi.dev.yaml is invalid: expected a port from 1024 to 65535: the mirror's pods run as non-root (uid 65532) ` +
                    `with no capabilities and cannot bind ports below 1024; make the service listen on a higher port (it gets it as PORT), got ${port}. Example: prod-mirror:app.services[0].port: 8080`,
            );
        }
        assert.strictEqual(parse(withApp({ ...APP, services: [{ ...APP.services[0], port: 1024 }, APP.services[1]] })).app.services[0].port, 1024);
        assert.strictEqual(parse(withApp({ ...APP, services: [{ ...APP.services[0], port: "65535" }, APP.services[1]] })).app.services[0].port, 65535);
        assert.throws(() => parse(withApp({ ...APP, services: [{ ...APP.services[0], port: 65536 }, APP.services[1]] })), /expected a whole number from 1024 to 65535, got 65536/);
    });

    it("requires exactly one of image and build per service", () => {
        assert.throws(() => parse(withApp({ ...APP, services: [{ name: "api", port: 1 }] })), /expected exactly one of image \(a prebuilt reference\) or build/);
    });

    it("rejects duplicate names, reserved names and env the mirror wires itself", () => {
        assert.throws(() => parse(withApp({ ...APP, services: [APP.services[0], { ...APP.services[0] }] })), /services\[1\]\.name .* a service name used only once, got "api"/);
        assert.throws(() => parse(withApp({ ...APP, services: [{ ...APP.services[0], name: "aws-emulator" }] })), /a name not taken in the namespace \(aws-emulator: the mirror's AWS emulator\)/);
        rejects(
            withApp({ ...APP, services: [APP.services[0], { ...APP.services[1], name: "kubernetes" }] }),
            "prod-mirror:app.services[1].name in Pulumi.dev.yaml is invalid: a name not taken in the namespace (kubernetes: its service links would replace " +
                'KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT in every pod), got "kubernetes". Example: prod-mirror:app.services[1].name: "api"',
        );
        assert.throws(() => parse(withApp({ ...APP, services: [{ ...APP.services[0], env: { AWS_ENDPOINT_URL: "x" } }, APP.services[1]] })), {
            message:
                "prod-mirror:app.services[0].env.AWS_ENDPOINT_URL in Pulumi.dev.yaml is invalid: AWS_ENDPOINT_URL is set twice: by services[0].env as a value of its own, " +
                "and by the mirror as the AWS endpoint of the mirror's queues, buckets and tables. Remove AWS_ENDPOINT_URL from services[0].env: the mirror sets it.",
        });
    });

    it("rejects overrides for a service the description does not declare", () => {
        rejects(
            { ...BASE, overrides: JSON.stringify({ web: { replicas: 1 } }) },
            'prod-mirror:overrides.web in Pulumi.dev.yaml is invalid: a declared service (api, gateway), got "web". Example: prod-mirror:overrides.web: {"api": {"replicas": 1, "resources": {"limits": {"memory": "128Mi"}}}}',
        );
    });

    it("validates quota quantities and keeps defaults for fields left out", () => {
        const s = parse({ ...BASE, quota: JSON.stringify({ pods: 10 }) });
        assert.deepStrictEqual(s.quota, { ...DEFAULT_QUOTA, pods: 10 });
        assert.throws(() => parse({ ...BASE, quota: JSON.stringify({ limitsMemory: "lots" }) }), /prod-mirror:quota\.limitsMemory .* a Kubernetes quantity/);
    });

    it("names the app file, not the stack key, for errors inside it", () => {
        const files: Record<string, string> = { "prod.yaml": "services:\n  - name: API\n    port: 1\n    image: x\n" };
        rejects(
            { registryUsername: "ci-bot", emulatorImage: EMULATOR_IMAGE, appFile: "prod.yaml" },
            'services[0].name in prod.yaml (named by prod-mirror:appFile in Pulumi.dev.yaml) is invalid: a name usable in Kubernetes and AWS names: it must start with a lowercase letter, contain only [a-z0-9-] and not end with a hyphen, got a string of 3 characters. Example: services[0].name: "api"',
            (p) => files[p] ?? noFiles(p),
        );
        rejects(
            { registryUsername: "ci-bot", emulatorImage: EMULATOR_IMAGE, appFile: "missing.yaml" },
            "prod-mirror:appFile in Pulumi.dev.yaml is invalid: expected a readable project-relative file (ENOENT: no such file, open 'missing.yaml'), got \"missing.yaml\". Example: prod-mirror:appFile: production.yaml",
        );
    });
    it("describes the bad value in an app file by its kind and size, never by its content", () => {
        const fileError = (text: string): string => {
            try {
                parse({ registryUsername: "ci-bot", emulatorImage: EMULATOR_IMAGE, appFile: "prod.yaml" }, () => text);
            } catch (err) {
                assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
                return err.message;
            }
            return assert.fail("parsed without an error");
        };
        const IN = "in prod.yaml (named by prod-mirror:appFile in Pulumi.dev.yaml) is invalid";
        const service = (fields: string): string => `services:\n  - {${fields}}\n`;
        assert.strictEqual(fileError(service("name: , port: 8080, image: r")), `services[0].name ${IN}: expected a non-empty string, got nothing. Example: services[0].name: "api"`);
        assert.strictEqual(fileError(service("port: 8080, image: r")), `services[0].name ${IN}: expected a non-empty string, got nothing. Example: services[0].name: "api"`);
        assert.strictEqual(fileError(service("name: api, port: 80, image: r")).split(", got ")[1], "a number. Example: services[0].port: 8080");
        assert.strictEqual(fileError(service("name: api, port: 8080, image: r, replicas: true")), `services[0].replicas ${IN}: expected a whole number from 0 to 50, got a boolean. Example: services[0].replicas: 2`);
        assert.strictEqual(
            fileError(service("name: api, port: 8080, image: r, replica: 2")),
            `services[0].replica ${IN}: unknown field; known fields are name, port, image, build, env, replicas, resources, readinessPath, uses, got a number. ` +
                'Example: services[0].replica: {"name": "api", "port": 8080, "image": "127.0.0.1:5000/prod-mirror/api:{tag}", "uses": {"tables": ["deals"]}}',
        );
        assert.strictEqual(
            fileError(service("name: api, port: 8080, image: r, resources: {requests: [1, 2]}")),
            `services[0].resources.requests ${IN}: expected an object, got a list of 2 items. Example: services[0].resources.requests: {"cpu": "100m", "memory": "128Mi"}`,
        );
        assert.strictEqual(
            fileError(service("name: api, port: 8080, image: r, uses: {queues: {a: 1, b: 2}}")),
            `services[0].uses.queues ${IN}: expected a list of names, got an object with 2 fields. Example: services[0].uses.queues: ["deal-events"]`,
        );
        // A parse error's reason is shown only when it quotes nothing: this one has "(first argument)" in it.
        assert.strictEqual(
            fileError("%TAG x y\n---\nservices: []\n"),
            `the document ${IN}: expected YAML or JSON (not valid YAML at line 2, column 1), got a string of 26 characters. Example: the document: services: [...]`,
        );
    });

    it("shows a long bad value cut to 120 characters", () => {
        const at = (length: number): string => {
            const readinessPath = "x".repeat(length);
            try {
                parse(withApp({ services: [{ name: "api", port: 8080, image: "r", readinessPath }] }));
            } catch (err) {
                return (err as Error).message.split(", got ")[1].split(". Example")[0];
            }
            return assert.fail("parsed without an error");
        };
        assert.strictEqual(at(118), `"${"x".repeat(118)}"`);
        assert.strictEqual(at(119), `"${"x".repeat(116)}...`);
    });

    it("lets a service use a queue, bucket or table named like itself: only `uses.services` excludes the service's own name", () => {
        const app = {
            services: [{ name: "deals", port: 8080, image: "r", uses: { queues: ["deals"], buckets: ["deals"], tables: ["deals"] } }],
            cloud: { queues: [{ name: "deals" }], buckets: [{ name: "deals" }], tables: [{ name: "deals", hashKey: "id" }] },
        };
        assert.deepStrictEqual(parse(withApp(app)).app.services[0].uses, { queues: ["deals"], buckets: ["deals"], tables: ["deals"], services: [] });
        rejects(
            withApp({ ...app, services: [{ ...app.services[0], uses: { queues: ["orders"] } }], cloud: { queues: [{ name: "deals" }, { name: "refunds" }] } }),
            'prod-mirror:app.services[0].uses.queues[0] in Pulumi.dev.yaml is invalid: a declared queue (deals, refunds), got "orders". Example: prod-mirror:app.services[0].uses.queues[0]: "deals"',
        );
    });

    it("takes app file paths that only look like a drive letter or a separator somewhere else", () => {
        const description = "services:\n  - {name: api, port: 8080, image: r}\n";
        for (const appFile of ["app/c:/prod.yaml", "1:/prod.yaml", "C:prod.yaml", "prod.yaml\\"]) {
            assert.strictEqual(parse({ registryUsername: "ci-bot", emulatorImage: EMULATOR_IMAGE, appFile }, () => description).app.services[0].name, "api", appFile);
        }
    });
});

describe("the CI stack (Pulumi.ci.yaml) and production's description (app/production.yaml), as committed", () => {
    const exists = (relative: string, kind: "file" | "directory"): boolean => {
        const stat = fs.statSync(path.join(repoRoot, relative), { throwIfNoEntry: false });
        return kind === "file" ? stat?.isFile() === true : stat?.isDirectory() === true;
    };
    let ci: { raw: Record<string, string>; settings: MirrorSettings };
    before(() => {
        const doc = yaml.load(fs.readFileSync(path.join(repoRoot, "Pulumi.ci.yaml"), "utf8")) as { config: Record<string, unknown> };
        // As `pulumi.Config.get` hands values to index.ts: strings as they are, objects as JSON text.
        const raw: Record<string, string> = {};
        for (const [key, value] of Object.entries(doc.config)) {
            raw[key.replace(/^prod-mirror:/, "")] = typeof value === "string" ? value : JSON.stringify(value);
        }
        // The same reader index.ts uses: project-relative paths resolved against the project root.
        ci = { raw, settings: parseSettings(raw, { stack: "ci", readFile: (p) => readProjectFile(repoRoot, p, APP_FILE_MAX_BYTES) }) };
    });

    it("keeps production's description out of the stack file and deploys the images CI pushed", () => {
        const { raw, settings } = ci;
        assert.strictEqual(raw.app, undefined, "the description belongs in app/production.yaml");
        assert.strictEqual(raw.appFile, "app/production.yaml");
        assert.strictEqual(settings.imageBuilder, "external");
        assert.strictEqual(settings.cloudMode, "emulated");
        assert.strictEqual(settings.registryServer, "127.0.0.1:5000");
    });

    it("mirrors production's kustomize overlay, building api, worker and gateway from a context and Dockerfile that exist", () => {
        const { app } = ci.settings;
        assert.deepStrictEqual(app.deployment, { kind: "kustomize", directory: "app/deploy/production" });
        assert.deepStrictEqual(app.services, [], "one source: production's deployment, not a second description");
        const images = app.images ?? [];
        assert.deepStrictEqual(images.map((i) => [i.service, i.production]), [
            ["api", "registry.example.com/deals/api"],
            ["worker", "registry.example.com/deals/worker"],
            ["gateway", "registry.example.com/deals/gateway"],
        ]);
        for (const { service, build } of images) {
            assert.ok(build !== undefined, `${service} is built`);
            const dockerfile = build.dockerfile ?? path.join(build.context, "Dockerfile");
            assert.ok(exists(build.context, "directory"), `${service}: build.context ${build.context} is not a directory`);
            assert.ok(exists(dockerfile, "file"), `${service}: build.dockerfile ${dockerfile} does not exist`);
            for (const source of copySources(dockerfile)) {
                assert.ok(exists(path.join(build.context, source), source.endsWith("/") ? "directory" : "file"), `${service}: ${dockerfile} copies ${source}, which is not in ${build.context}`);
            }
        }
    });

    it("has production's manifests wire every variable each service's main.py requires, and name its AWS resources as declared", () => {
        const { app } = ci.settings;
        const objects = productionObjects();
        const configMaps = new Map(objects.filter((o) => o.kind === "ConfigMap").map((o) => [o.metadata.name, (o.data ?? {}) as Record<string, string>]));
        for (const { service, build } of app.images ?? []) {
            const deployment = objects.find((o) => o.kind === "Deployment" && o.metadata.name === service);
            assert.ok(deployment !== undefined, `production deploys no Deployment named ${service}`);
            const [container] = (deployment.spec as any).template.spec.containers;
            assert.strictEqual(container.image, service, `${service}: the base names its image by the service (the overlay sets production's)`);
            const wired = [
                ...(container.env ?? []).map((e: { name: string }) => e.name),
                ...(container.envFrom ?? []).flatMap((f: { configMapRef?: { name: string } }) => Object.keys(configMaps.get(f.configMapRef?.name ?? "") ?? {})),
            ];
            const b = build as NonNullable<typeof build>;
            const main = copySources(b.dockerfile ?? path.join(b.context, "Dockerfile")).find((src) => src.endsWith("main.py")) as string;
            const required = [...fs.readFileSync(path.join(repoRoot, b.context, main), "utf8").matchAll(/require_env\("([A-Z0-9_]+)"\)/g)].map((m) => m[1]);
            assert.ok(required.length > 0, `${service}: found no require_env in ${main}`);
            assert.deepStrictEqual(required.filter((name) => !wired.includes(name)), [], `${service} requires variables production's manifests do not wire`);
        }
        // Every production name the description maps is one production's ConfigMap really holds.
        const values = [...configMaps.values()].flatMap((data) => Object.values(data));
        const declared = [
            ...app.cloud.queues.flatMap((q) => [q.production?.url, q.production?.name]),
            ...app.cloud.buckets.map((b) => b.production),
            ...app.cloud.tables.map((t) => t.production),
        ].filter((v): v is string => v !== undefined);
        assert.strictEqual(declared.length, 3);
        assert.deepStrictEqual(declared.filter((v) => !values.includes(v)), []);
    });

    it("overrides only workloads production's deployment has", () => {
        const { overrides } = ci.settings;
        assert.deepStrictEqual(Object.keys(overrides), ["gateway"]);
        const workloads = productionObjects().filter((o) => o.kind === "Deployment").map((o) => o.metadata.name);
        for (const name of Object.keys(overrides)) {
            assert.ok(workloads.includes(name), `override for ${name}, which production's deployment does not have`);
        }
    });
});

/** The sample's production objects as its kustomize base and overlay files hold them (no kustomize run: names and env only). */
function productionObjects(): Array<{ kind: string; metadata: { name: string }; spec?: unknown; data?: unknown }> {
    const files = ["app/deploy/base", "app/deploy/production"].flatMap((dir) =>
        fs.readdirSync(path.join(repoRoot, dir)).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml").map((f) => path.join(repoRoot, dir, f)),
    );
    return files.flatMap((f) => yaml.loadAll(fs.readFileSync(f, "utf8")) as Array<{ kind: string; metadata: { name: string } }>).filter((o) => o !== null);
}

/** Sources of a Dockerfile's COPY lines (flags skipped), relative to the build context. */
function copySources(dockerfile: string): string[] {
    return fs
        .readFileSync(path.join(repoRoot, dockerfile), "utf8")
        .split("\n")
        .filter((line) => /^COPY\s/i.test(line))
        .flatMap((line) => line.trim().split(/\s+/).slice(1).filter((word) => !word.startsWith("--")).slice(0, -1));
}

