import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { APP_FILE_MAX_BYTES, ConfigError, DEFAULT_CONTAINER_DEFAULTS, DEFAULT_QUOTA, MirrorSettings, MOTO_VERSION, parseSettings, RawSettings } from "../../components/config";
import { envStem } from "../../components/naming";
import { readProjectFile } from "../../components/project-file";
import { repoRoot } from "./mocks";

const APP = {
    services: [
        { name: "api", port: 8080, image: "r/api:{tag}", uses: { tables: ["deals"], queues: ["deal-events"] } },
        { name: "gateway", port: 8000, build: { context: "app" }, uses: { services: ["api"] } },
    ],
    cloud: { tables: [{ name: "deals", hashKey: "id" }], queues: [{ name: "deal-events" }] },
};

const BASE: RawSettings = { registryUsername: "ci-bot", app: JSON.stringify(APP) };
const noFiles = (p: string): string => {
    throw new Error(`ENOENT: no such file, open '${p}'`);
};

function parse(raw: RawSettings, readFile: (p: string) => string = noFiles) {
    return parseSettings(raw, { stack: "dev", readFile });
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
    it("applies every documented default to a minimal stack", () => {
        const s = parse(BASE);
        assert.strictEqual(s.ttlHours, 72);
        assert.strictEqual(s.namePrefix, "pm");
        assert.strictEqual(s.installation, "default");
        assert.strictEqual(s.registryServer, "127.0.0.1:5000");
        assert.strictEqual(s.cloudMode, "emulated");
        assert.strictEqual(s.imageBuilder, "docker");
        assert.strictEqual(s.awsRegion, "us-east-1");
        assert.strictEqual(s.emulatorImage, `127.0.0.1:5000/prod-mirror/moto:${MOTO_VERSION}`);
        assert.strictEqual(s.clusterDomain, "cluster.local");
        assert.deepStrictEqual(s.quota, DEFAULT_QUOTA);
        assert.deepStrictEqual(s.containerDefaults, DEFAULT_CONTAINER_DEFAULTS);
        assert.deepStrictEqual(s.overrides, {});
        const api = s.app.services[0];
        assert.deepStrictEqual([api.replicas, api.readinessPath, api.env], [1, "/healthz", {}]);
        assert.deepStrictEqual(s.app.cloud.tables[0], { name: "deals", hashKey: "id", hashKeyType: "S", rangeKeyType: "S" });
        assert.strictEqual(s.app.cloud.queues[0].visibilityTimeoutSeconds, 30);
        assert.strictEqual(s.branch, undefined);
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

    it("derives the emulator image from a configured registry", () => {
        assert.strictEqual(parse({ ...BASE, registryServer: "registry.internal:443" }).emulatorImage, `registry.internal:443/prod-mirror/moto:${MOTO_VERSION}`);
    });

    it("reads a YAML production description from prod-mirror:appFile", () => {
        const files: Record<string, string> = { "production.yaml": yaml.dump(APP) };
        const s = parse({ registryUsername: "ci-bot", appFile: "production.yaml" }, (p) => files[p] ?? noFiles(p));
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
            { registryUsername: "ci-bot", appFile: "prod.yaml" },
            'services[0].name in prod.yaml (named by prod-mirror:appFile in Pulumi.dev.yaml) is invalid: a name usable in Kubernetes and AWS names: it must start with a lowercase letter, contain only [a-z0-9-] and not end with a hyphen, got a string of 3 characters. Example: services[0].name: "api"',
            (p) => files[p] ?? noFiles(p),
        );
        rejects(
            { registryUsername: "ci-bot", appFile: "missing.yaml" },
            "prod-mirror:appFile in Pulumi.dev.yaml is invalid: expected a readable project-relative file (ENOENT: no such file, open 'missing.yaml'), got \"missing.yaml\". Example: prod-mirror:appFile: production.yaml",
        );
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

    it("describes api, worker and gateway, each built from a context and Dockerfile that exist", () => {
        const { services } = ci.settings.app;
        assert.deepStrictEqual(services.map((s) => [s.name, s.port]), [["api", 8080], ["worker", 8081], ["gateway", 8000]]);
        for (const s of services) {
            assert.ok(s.build !== undefined && s.image === undefined, `${s.name} is built, not a prebuilt image`);
            const dockerfile = s.build.dockerfile ?? path.join(s.build.context, "Dockerfile");
            assert.ok(exists(s.build.context, "directory"), `${s.name}: build.context ${s.build.context} is not a directory`);
            assert.ok(exists(dockerfile, "file"), `${s.name}: build.dockerfile ${dockerfile} does not exist`);
            for (const source of copySources(dockerfile)) {
                assert.ok(exists(path.join(s.build.context, source), source.endsWith("/") ? "directory" : "file"), `${s.name}: ${dockerfile} copies ${source}, which is not in ${s.build.context}`);
            }
        }
    });

    it("resolves every `uses` entry, and wires every variable each service's main.py requires", () => {
        const { app } = ci.settings;
        const declared = {
            queues: app.cloud.queues.map((q) => q.name),
            buckets: app.cloud.buckets.map((b) => b.name),
            tables: app.cloud.tables.map((t) => t.name),
            services: app.services.map((s) => s.name),
        };
        for (const s of app.services) {
            for (const kind of ["queues", "buckets", "tables", "services"] as const) {
                for (const name of s.uses[kind]) {
                    assert.ok(declared[kind].includes(name) && !(kind === "services" && name === s.name), `${s.name} uses ${kind} ${name}`);
                }
            }
            const build = s.build as NonNullable<typeof s.build>;
            const main = copySources(build.dockerfile ?? path.join(build.context, "Dockerfile")).find((src) => src.endsWith("main.py")) as string;
            const source = fs.readFileSync(path.join(repoRoot, build.context, main), "utf8");
            const required = [...source.matchAll(/require_env\("([A-Z0-9_]+)"\)/g)].map((m) => m[1]);
            assert.ok(required.length > 0, `${s.name}: found no require_env in ${main}`);
            const missing = required.filter((name) => !wiredEnv(s).includes(name));
            assert.deepStrictEqual(missing, [], `${s.name} requires variables its uses do not wire`);
        }
    });

    it("overrides only services the description declares", () => {
        const { app, overrides } = ci.settings;
        assert.deepStrictEqual(Object.keys(overrides), ["gateway"]);
        for (const name of Object.keys(overrides)) {
            assert.ok(app.services.some((s) => s.name === name), `override for undeclared service ${name}`);
        }
    });
});

/** Sources of a Dockerfile's COPY lines (flags skipped), relative to the build context. */
function copySources(dockerfile: string): string[] {
    return fs
        .readFileSync(path.join(repoRoot, dockerfile), "utf8")
        .split("\n")
        .filter((line) => /^COPY\s/i.test(line))
        .flatMap((line) => line.trim().split(/\s+/).slice(1).filter((word) => !word.startsWith("--")).slice(0, -1));
}

/** The variables a service's `uses` makes the mirror set (production-mirror.ts and cloudEnv). */
function wiredEnv(service: MirrorSettings["app"]["services"][number]): string[] {
    return [
        "PORT",
        ...service.uses.queues.flatMap((q) => [`${envStem(q)}_QUEUE_URL`, `${envStem(q)}_QUEUE_NAME`]),
        ...service.uses.buckets.map((b) => `${envStem(b)}_BUCKET`),
        ...service.uses.tables.map((t) => `${envStem(t)}_TABLE`),
        ...service.uses.services.map((o) => `${envStem(o)}_URL`),
    ];
}
