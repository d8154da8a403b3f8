// Issue 14: the README promises that a malformed value of any key stops the program with a message
// naming the key, the bad value and the fix. One table per layer holds a bad value and the full
// message for every config key (SETTINGS_KEYS) and every field of the app description; the guards
// fail when a key or a field is added without a case here.
import * as assert from "assert";
import { resolveBranchContext } from "../../components/branch-context";
import { ConfigError } from "../../components/config-error";
import { parseSettings, SETTINGS_KEYS, type RawSettings } from "../../components/settings";
import { EMULATOR_IMAGE } from "./fixtures";

const NOW = new Date("2026-11-26T10:00:00Z");
const SERVICE = { name: "api", port: 8080, image: "r/api:{tag}" };
const BASE: RawSettings = { registryUsername: "ci-bot", emulatorImage: EMULATOR_IMAGE, app: JSON.stringify({ services: [SERVICE] }) };
const FILES: Record<string, string> = { "app/production.yaml": "services:\n  - {name: api, port: 8080, image: r/api}\n" };

/** What index.ts does with the keys: parse them, then resolve the branch (no CI, a git checkout on main). */
function run(raw: RawSettings): void {
    const readFile = (p: string): string => {
        if (FILES[p] === undefined) {
            throw new Error(`ENOENT: no such file or directory, open '${p}'`);
        }
        return FILES[p];
    };
    const s = parseSettings(raw, { stack: "dev", readFile, now: NOW });
    resolveBranchContext({
        stack: "dev",
        configured: { branch: s.branch, commit: s.commit, owner: s.owner, pullRequest: s.pullRequest, sourceRepo: s.sourceRepo },
        env: {},
        git: () => ({ branch: "main", commit: "3f2a9c1", owner: "dev" }),
        now: NOW,
        ttlHours: s.ttlHours,
        expiresAt: s.expiresAt,
    });
}

function errorOf(raw: RawSettings): string {
    try {
        run(raw);
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
        return err.message;
    }
    return assert.fail(`${JSON.stringify(raw)} was accepted`);
}

type Key = (typeof SETTINGS_KEYS)[number];
/** A bad value of the key (with the other keys it needs, if any) and the full message it gets. */
interface Bad {
    value: string;
    with?: RawSettings;
    message: string;
}

const F = "in Pulumi.dev.yaml is invalid";
const SERVICE_EXAMPLE = '{"name": "api", "port": 8080, "image": "127.0.0.1:5000/prod-mirror/api:{tag}", "uses": {"tables": ["deals"]}}';
const APP_EXAMPLE = `{"services": [${SERVICE_EXAMPLE}], "cloud": {"tables": [{"name": "deals", "hashKey": "id"}]}}`;
const QUOTA_EXAMPLE = '{"requestsCpu": "4", "requestsMemory": "8Gi", "limitsCpu": "8", "limitsMemory": "16Gi", "pods": 50}';
const DEFAULTS_EXAMPLE = '{"requestCpu": "50m", "requestMemory": "64Mi", "limitCpu": "500m", "limitMemory": "256Mi"}';
const QUANTITY = 'expected a Kubernetes quantity such as "500m", "2" or "256Mi"';
const INSTALLATION = "expected 1 to 40 lowercase letters, digits and hyphens, starting and ending with a letter or digit";
const TTL = "expected a whole number of hours; a mirror lives 1 to 720 hours (30 days)";
const ISO = 'Example: prod-mirror:expiresAt: 2026-11-29T10:00:00Z';
const INSIDE = "expected a path relative to the project directory that stays inside it";
/** A value as errors show it: JSON, cut to 120 characters. */
function shown(value: unknown): string {
    const text = JSON.stringify(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
const SUBDOMAIN = "expected a DNS-1123 subdomain: at most 253 of [a-z0-9-.], each dot-separated part starting and ending with a letter or digit";
const OVERRIDE_EXAMPLE = '{"api": {"replicas": 1, "resources": {"limits": {"memory": "128Mi"}}}}';

/** Keys any text is valid for: what they pass on is never parsed, so no value can be malformed. */
const FREE_FORM: Partial<Record<Key, string>> = {
    owner: "a person's login or e-mail, stored as a label value or its hash",
    kubeContext: "a context name of the kubeconfig, which the kubernetes provider looks up",
};

const REFUSED: Partial<Record<Key, Bad[]>> = {
    branch: [
        {
            value: "feature:login",
            message:
                'branch "feature:login" contains ":", which git does not allow in branch names and prod-mirror keeps for pull request mirrors ' +
                '(pr:<number>:<repo>); use the branch\'s real name, e.g. "feature-login"',
        },
    ],
    commit: ["HEAD", "3f2a9c", "x3f2a9c1", "3f2a9c1x", "a".repeat(41)].map((value) => ({
        value,
        message: `prod-mirror:commit ${F}: expected a git commit SHA of 7 to 40 hex digits, got "${value}". Example: prod-mirror:commit: 3f2a9c1`,
    })),
    pullRequest: [
        {
            value: "0042",
            with: { branch: "patch-1", sourceRepo: "octo/app" },
            message: 'Pulumi.dev.yaml gives pull request number "0042", which is not a number like 42; set it with pulumi config set prod-mirror:pullRequest 42',
        },
        {
            value: "42",
            message:
                "Pulumi.dev.yaml sets prod-mirror:pullRequest or prod-mirror:sourceRepo but not prod-mirror:branch, so the branch would come from git " +
                "and the pull request from the config; set the head branch too: pulumi config set prod-mirror:branch patch-1",
        },
    ],
    sourceRepo: [
        {
            value: "octo",
            with: { branch: "patch-1", pullRequest: "42" },
            message: 'Pulumi.dev.yaml gives source repository "octo", which is not a path like owner/repo or group/project; set it with pulumi config set prod-mirror:sourceRepo owner/repo',
        },
    ],
    ttlHours: ["0", "721", "1.5", "-1", "2e1", "0x10", "3 days"].map((value) => ({
        value,
        message: `prod-mirror:ttlHours ${F}: ${TTL}, got "${value}". Example: prod-mirror:ttlHours: "72"`,
    })),
    expiresAt: [
        ...["tomorrow", "November 27, 2026", "+002026-11-27T10:00:00Z", "2026-13-45T00:00:00Z"].map((value) => ({
            value,
            message: `prod-mirror:expiresAt ${F}: expected an ISO 8601 timestamp, got "${value}". ${ISO}`,
        })),
        {
            value: "2026-11-26T09:00:00Z",
            message:
                `prod-mirror:expiresAt ${F}: expected a time from now to 720 hours ahead; a mirror lives 1 to 720 hours (30 days), and this expiry has passed ` +
                `(or remove the key to use ttlHours), got "2026-11-26T09:00:00Z". ${ISO}`,
        },
    ],
    readyTimeoutSeconds: ["9", "3601", "0", "90s", "1.5", "-60", "3 minutes"].map((value) => ({
        value,
        message: `prod-mirror:readyTimeoutSeconds ${F}: expected a whole number of seconds; the workloads' readiness bound is 10 to 3600 seconds, got "${value}". Example: prod-mirror:readyTimeoutSeconds: "180"`,
    })),
    probePeriodSeconds: ["61", "-1", "1.5", "5s", "one"].map((value) => ({
        value,
        message:
            `prod-mirror:probePeriodSeconds ${F}: the probe period cap is a whole number of seconds from 1 to 60, or 0 to keep production's probes, ` +
            `got "${value}". Example: prod-mirror:probePeriodSeconds: "1"`,
    })),
    namePrefix: [
        { value: "Team-1", message: `prod-mirror:namePrefix ${F}: expected 1 to 10 lowercase letters and digits, starting with a letter, got "Team-1". Example: prod-mirror:namePrefix: pm` },
    ],
    installation: ["Team A", "team-", "-team", "a".repeat(41)].map((value) => ({
        value,
        message: `prod-mirror:installation ${F}: ${INSTALLATION}, got "${value}". Example: prod-mirror:installation: team-a`,
    })),
    clusterDomain: ["Cluster.local", "-cluster.local", "cluster.local.", "cluster..local", "cluster.local-"].map((value) => ({
        value,
        message: `prod-mirror:clusterDomain ${F}: expected a DNS domain, got "${value}". Example: prod-mirror:clusterDomain: cluster.local`,
    })),
    registryServer: ["https://r:5000", "r:5000/", "r:123456", "-r", "r-"].map((value) => ({
        value,
        message: `prod-mirror:registryServer ${F}: expected a registry host[:port] without a scheme, got "${value}". Example: prod-mirror:registryServer: 127.0.0.1:5000`,
    })),
    registryUsername: [
        {
            value: "  ",
            message:
                "prod-mirror:registryUsername is missing from Pulumi.dev.yaml: the user name for the registry at 127.0.0.1:5000. " +
                "Set it with: pulumi config set prod-mirror:registryUsername prod-mirror-ci",
        },
    ],
    imageRepository: ["Prod-Mirror", "/prod-mirror", "prod-mirror/", "team//api", "prod--mirror", "team/-api", "team/api-"].map((value) => ({
        value,
        message: `prod-mirror:imageRepository ${F}: expected a lowercase repository path, got "${value}". Example: prod-mirror:imageRepository: prod-mirror`,
    })),
    imageBuilder: [
        {
            value: "kaniko",
            message:
                `prod-mirror:imageBuilder ${F}: expected one of docker, external (docker: Pulumi builds and pushes each service's build; ` +
                'external: the images were pushed beforehand under <registryServer>/<imageRepository>/<service>:<tag>), got "kaniko". Example: prod-mirror:imageBuilder: external',
        },
    ],
    cloudMode: [{ value: "localstack", message: `prod-mirror:cloudMode ${F}: expected one of emulated, aws, got "localstack". Example: prod-mirror:cloudMode: emulated` }],
    operatorGroup: ["prod mirror", "prod-mirror:operators,admins", ":operators"].map((value) => ({
        value,
        message: `prod-mirror:operatorGroup ${F}: expected a Kubernetes group name, got "${value}". Example: prod-mirror:operatorGroup: prod-mirror:operators`,
    })),
    awsRegion: ["us-east-1a", "aws:eu-west-1", "US-EAST-1", "eu-1", "euw-west-1"].map((value) => ({
        value,
        message: `prod-mirror:awsRegion ${F}: expected an AWS region name, got "${value}". Example: prod-mirror:awsRegion: eu-west-1`,
    })),
    awsEndpoint: ["localhost:4566", "xhttp://127.0.0.1:4566", "http://127.0.0.1:4566/a b", "ftp://127.0.0.1", "http:///path"].map((value) => ({
        value,
        message: `prod-mirror:awsEndpoint ${F}: expected an http:// or https:// URL, got "${value}". Example: prod-mirror:awsEndpoint: http://127.0.0.1:4566`,
    })),
    awsWorkloadEndpoint: [
        {
            value: "aws.internal:4566",
            message: `prod-mirror:awsWorkloadEndpoint ${F}: expected an http:// or https:// URL, got "aws.internal:4566". Example: prod-mirror:awsWorkloadEndpoint: http://aws.internal:4566`,
        },
    ],
    awsWorkloadIdentity: [
        {
            value: "arn:aws:iam::123456789012:user/ci",
            message:
                `prod-mirror:awsWorkloadIdentity ${F}: expected an IAM role ARN (the role the platform gives the pods), got "arn:aws:iam::123456789012:user/ci". ` +
                "Example: prod-mirror:awsWorkloadIdentity: arn:aws:iam::123456789012:role/prod-mirror-workloads",
        },
    ],
    emulatorImage: [
        {
            value: "moto server:5",
            message:
                `prod-mirror:emulatorImage ${F}: expected an image reference, name:tag or name@sha256:<64 hex digits>, got "moto server:5". ` +
                "Example: prod-mirror:emulatorImage: 127.0.0.1:5000/prod-mirror/moto@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        },
    ],
    quota: [
        { value: "[1]", message: `prod-mirror:quota ${F}: expected an object, got [1]. Example: prod-mirror:quota: ${QUOTA_EXAMPLE}` },
        { value: "{", message: `prod-mirror:quota ${F}: expected an object (Expected property name or '}' in JSON at position 1), got "{". Example: prod-mirror:quota: ${QUOTA_EXAMPLE}` },
        {
            value: '{"cpu": "4"}',
            message: `prod-mirror:quota.cpu ${F}: unknown field; known fields are requestsCpu, requestsMemory, limitsCpu, limitsMemory, pods, got "4". Example: prod-mirror:quota.cpu: ${QUOTA_EXAMPLE}`,
        },
        { value: '{"requestsCpu": "lots"}', message: `prod-mirror:quota.requestsCpu ${F}: ${QUANTITY}, got "lots". Example: prod-mirror:quota.requestsCpu: "4"` },
        { value: '{"requestsMemory": "8 Gi"}', message: `prod-mirror:quota.requestsMemory ${F}: ${QUANTITY}, got "8 Gi". Example: prod-mirror:quota.requestsMemory: "8Gi"` },
        { value: '{"limitsCpu": "x8"}', message: `prod-mirror:quota.limitsCpu ${F}: ${QUANTITY}, got "x8". Example: prod-mirror:quota.limitsCpu: "8"` },
        { value: '{"limitsMemory": "16Gix"}', message: `prod-mirror:quota.limitsMemory ${F}: ${QUANTITY}, got "16Gix". Example: prod-mirror:quota.limitsMemory: "16Gi"` },
        ...["0", "1001", '"50x"', "2.5"].map((pods) => ({
            value: `{"pods": ${pods}}`,
            message: `prod-mirror:quota.pods ${F}: expected a whole number from 1 to 1000, got ${pods}. Example: prod-mirror:quota.pods: 50`,
        })),
    ],
    containerDefaults: [
        { value: '"small"', message: `prod-mirror:containerDefaults ${F}: expected an object, got "small". Example: prod-mirror:containerDefaults: ${DEFAULTS_EXAMPLE}` },
        {
            value: '{"cpu": "1"}',
            message: `prod-mirror:containerDefaults.cpu ${F}: unknown field; known fields are requestCpu, requestMemory, limitCpu, limitMemory, got "1". Example: prod-mirror:containerDefaults.cpu: ${DEFAULTS_EXAMPLE}`,
        },
        { value: '{"requestCpu": "lots"}', message: `prod-mirror:containerDefaults.requestCpu ${F}: ${QUANTITY}, got "lots". Example: prod-mirror:containerDefaults.requestCpu: "50m"` },
        { value: '{"requestMemory": {}}', message: `prod-mirror:containerDefaults.requestMemory ${F}: expected a non-empty string, got {}. Example: prod-mirror:containerDefaults.requestMemory: "64Mi"` },
        { value: '{"limitCpu": "0.5 cores"}', message: `prod-mirror:containerDefaults.limitCpu ${F}: ${QUANTITY}, got "0.5 cores". Example: prod-mirror:containerDefaults.limitCpu: "500m"` },
        { value: '{"limitMemory": "-1Mi"}', message: `prod-mirror:containerDefaults.limitMemory ${F}: ${QUANTITY}, got "-1Mi". Example: prod-mirror:containerDefaults.limitMemory: "256Mi"` },
    ],
    deleteTimeout: ["9s", "3601s", "61m", "0m", "2", "1.5m", "2h", "-45s", "45 s"].map((value) => ({
        value,
        message: `prod-mirror:deleteTimeout ${F}: expected whole seconds or minutes from 10s to 60m, like 45s or 2m, got "${value}". Example: prod-mirror:deleteTimeout: "2m"`,
    })),
    app: [
        { value: "[]", message: `prod-mirror:app ${F}: expected an object, got []. Example: prod-mirror:app: ${APP_EXAMPLE}` },
        { value: "null", message: `prod-mirror:app ${F}: expected an object, got null. Example: prod-mirror:app: ${APP_EXAMPLE}` },
        { value: "{", message: `prod-mirror:app ${F}: expected an object (Expected property name or '}' in JSON at position 1), got "{". Example: prod-mirror:app: {"services": [...]}` },
        {
            value: "{}",
            message: `prod-mirror:app.services ${F}: expected at least one service, got nothing. Example: prod-mirror:app.services: [${SERVICE_EXAMPLE}]`,
        },
    ],
    appFile: [
        { value: "../credentials.env", with: { app: undefined }, message: `prod-mirror:appFile ${F}: ${INSIDE} (it climbs out with ..), got "../credentials.env". Example: prod-mirror:appFile: app/production.yaml` },
        { value: "app\\..\\..\\x.yaml", with: { app: undefined }, message: `prod-mirror:appFile ${F}: ${INSIDE} (it climbs out with ..), got "app\\\\..\\\\..\\\\x.yaml". Example: prod-mirror:appFile: app/production.yaml` },
        ...["/etc/passwd", "C:\\prod.yaml", "c:/prod.yaml", "\\\\server\\prod.yaml"].map((value) => ({
            value,
            with: { app: undefined },
            message: `prod-mirror:appFile ${F}: ${INSIDE} (it is absolute), got ${JSON.stringify(value)}. Example: prod-mirror:appFile: app/production.yaml`,
        })),
        {
            value: "missing.yaml",
            with: { app: undefined },
            message: `prod-mirror:appFile ${F}: expected a readable project-relative file (ENOENT: no such file or directory, open 'missing.yaml'), got "missing.yaml". Example: prod-mirror:appFile: production.yaml`,
        },
        {
            value: "app/production.yaml",
            message: "prod-mirror:app and prod-mirror:appFile are both set in Pulumi.dev.yaml: keep exactly one of them. Example: prod-mirror:appFile: production.yaml",
        },
    ],
    previewDomain: ["Preview.Example.com", "https://preview.example.com", "preview..example.com"].map((value) => ({
        value,
        message: `prod-mirror:previewDomain ${F}: expected a DNS domain (preview hosts are <branch>.<domain>), got ${JSON.stringify(value)}. Example: prod-mirror:previewDomain: preview.example.com`,
    })),
    previewTlsSecret: ["Preview_TLS", "-preview-tls", "x".repeat(254)].map((value) => ({
        value,
        message: `prod-mirror:previewTlsSecret ${F}: ${SUBDOMAIN}, got ${shown(value)}. Example: prod-mirror:previewTlsSecret: preview-tls`,
    })),
    overrides: [
        {
            value: '{"Deals_API": {"replicas": 1}}',
            with: { app: JSON.stringify({ deployment: { manifests: ["app/deploy"] } }) },
            message: `prod-mirror:overrides.Deals_API ${F}: a workload's metadata.name from production's deployment: ${SUBDOMAIN}, got "Deals_API". Example: prod-mirror:overrides.Deals_API: {"api": {"replicas": 1, "resources": {"limits": {"memory": "128Mi"}}}}`,
        },
        { value: '{"web": {"replicas": 1}}', message: `prod-mirror:overrides.web ${F}: a declared service (api), got "web". Example: prod-mirror:overrides.web: ${OVERRIDE_EXAMPLE}` },
        { value: "[]", message: `prod-mirror:overrides ${F}: expected an object, got []. Example: prod-mirror:overrides: ${OVERRIDE_EXAMPLE}` },
        { value: '{"api": 2}', message: `prod-mirror:overrides.api ${F}: expected an object, got 2. Example: prod-mirror:overrides.api: {"replicas": 1}` },
        {
            value: '{"api": {"replica": 2}}',
            message: `prod-mirror:overrides.api.replica ${F}: unknown field; known fields are replicas, resources, got 2. Example: prod-mirror:overrides.api.replica: {"replicas": 1}`,
        },
        ...["-1", "51", '"one"'].map((replicas) => ({
            value: `{"api": {"replicas": ${replicas}}}`,
            message: `prod-mirror:overrides.api.replicas ${F}: expected a whole number from 0 to 50, got ${replicas}. Example: prod-mirror:overrides.api.replicas: 1`,
        })),
        {
            value: '{"api": {"resources": {"limits": {"memory": "lots"}}}}',
            message: `prod-mirror:overrides.api.resources.limits.memory ${F}: ${QUANTITY}, got "lots". Example: prod-mirror:overrides.api.resources.limits.memory: "128Mi"`,
        },
    ],
};

describe("every config key refuses a bad value with a message naming the key, the value and the fix", () => {
    it("has a case for every key in SETTINGS_KEYS, and no case for a key that does not exist", () => {
        const covered = [...Object.keys(REFUSED), ...Object.keys(FREE_FORM)].sort();
        assert.deepStrictEqual(covered, [...SETTINGS_KEYS].sort());
        for (const [key, cases] of Object.entries(REFUSED)) {
            assert.ok(cases.length > 0, `no bad value for ${key}`);
            assert.ok(!(key in FREE_FORM), `${key} is both refused and free-form`);
        }
    });

    for (const [key, cases] of Object.entries(REFUSED)) {
        it(`${key}`, () => {
            for (const bad of cases) {
                const raw: RawSettings = { ...BASE, ...bad.with, [key]: bad.value };
                assert.strictEqual(errorOf(raw), bad.message, `${key} = ${JSON.stringify(bad.value)}`);
            }
        });
    }

    it("passes the free-form keys through verbatim", () => {
        for (const key of Object.keys(FREE_FORM) as Key[]) {
            const value = `${key}: Dana O'Brien <dana@example.com>`;
            assert.strictEqual(parseSettings({ ...BASE, [key]: value }, { stack: "dev", readFile: () => "" })[key as "owner"], value);
        }
    });
});

// ---------------------------------------------------------------------------------------------
// The app description (prod-mirror:app), field by field

/** A description of one service, `patch` merged in (an undefined field is left out). */
function svc(patch: Record<string, unknown>, cloud?: Record<string, unknown>): unknown {
    return { services: [{ ...SERVICE, ...patch }], ...(cloud === undefined ? {} : { cloud }) };
}

/** `field`: where the bad value sits, as a schema path (`[]` for any item); the guard matches it. */
interface BadField {
    field: string;
    app: unknown;
    message: string;
}

const S0 = `prod-mirror:app.services[0]`;
const TABLE_EXAMPLE = '{"name": "deals", "hashKey": "id"}';
const CLOUD_EXAMPLE = `{"queues": [{"name": "deal-events"}], "buckets": [{"name": "receipts"}], "tables": [${TABLE_EXAMPLE}]}`;
const BUILD_EXAMPLE = '{"context": "app", "dockerfile": "app/api/Dockerfile"}';
const RESOURCES_EXAMPLE = '{"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}';
const AMOUNTS_EXAMPLE = '{"cpu": "100m", "memory": "128Mi"}';
const USES_EXAMPLE = '{"queues": ["deal-events"], "tables": ["deals"]}';
const ARGS_EXAMPLE = '{"BASE": "prod-mirror/python:bookworm"}';
const ENV_RULE = "expected the name to be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)";
const NAME_RULE = "a name usable in Kubernetes and AWS names: it must start with a lowercase letter, contain only [a-z0-9-] and not end with a hyphen";
const NON_ROOT =
    "expected a port from 1024 to 65535: the mirror's pods run as non-root (uid 65532) with no capabilities and cannot bind ports below 1024; " +
    "make the service listen on a higher port (it gets it as PORT)";
const Q0 = "prod-mirror:app.cloud.queues[0]";
const B0 = "prod-mirror:app.cloud.buckets[0]";
const T0 = "prod-mirror:app.cloud.tables[0]";
const QUEUES = { queues: [{ name: "deal-events" }] };
const TABLE = { name: "deals", hashKey: "id" };

// The fields of production's own deployment (issue 9).
const A = "prod-mirror:app";
const DEPLOYMENT = { manifests: ["app/deploy/plain"] };
const DEPLOYMENT_EXAMPLE = '{"manifests": ["app/deploy/plain"]}';
const HELM_EXAMPLE = '{"chart": "charts/deals", "values": ["charts/deals/values-prod.yaml"], "set": {"replicaCount": 2}, "releaseName": "deals"}';
const IMAGE_EXAMPLE = '{"production": "registry.example.com/deals/api", "service": "api", "build": {"context": "app", "dockerfile": "app/api/Dockerfile"}}';
const STAND_INS_EXAMPLE = '{"secrets": [{"name": "deal-signing", "keys": ["key"]}]}';
const STAND_IN_EXAMPLE = '{"name": "deal-signing", "keys": ["key"]}';
const KIND_EXAMPLE = '{"apiVersion": "example.com/v1", "kind": "Widget", "namespaced": true}';
const QUEUE_PRODUCTION_EXAMPLE = '{"url": "https://sqs.eu-west-1.amazonaws.com/210987654321/deal-events", "name": "deal-events"}';
const IMAGE = { production: "registry.example.com/deals/api", service: "api" };
const I0 = `${A}.images[0]`;
const H = `${A}.deployment.helm`;
const SI0 = `${A}.standIns.secrets[0]`;
const K0 = `${A}.customResourceKinds[0]`;
const KIND = { apiVersion: "example.com/v1", kind: "Widget", namespaced: true };
const RELEASE = "expected a Helm release name: at most 53 of [a-z0-9-.], starting and ending with a letter or digit";
const CUSTOM_VERSION = "expected <group>/<version> of a custom resource, the group a DNS subdomain with a dot (example.com/v1)";
const ONE_SOURCE =
    "expected no services when deployment is given: the workloads come from production's own deployment, and services would describe them a second time " +
    "(remove services, or remove deployment to generate them from services)";

/** A description from production's deployment (no services), `patch` merged in. */
function dep(patch: Record<string, unknown> = {}): unknown {
    return { deployment: DEPLOYMENT, ...patch };
}

const FIDELITY_CASES: BadField[] = [
    { field: "deployment", app: dep({ deployment: "app/deploy" }), message: `${A}.deployment ${F}: expected an object, got "app/deploy". Example: ${A}.deployment: ${DEPLOYMENT_EXAMPLE}` },
    {
        field: "deployment",
        app: dep({ deployment: { manifests: ["a"], kustomize: "k" } }),
        message: `${A}.deployment ${F}: expected exactly one of manifests (YAML files or directories), kustomize (a kustomization directory) or helm (a chart), got {"manifests":["a"],"kustomize":"k"}. Example: ${A}.deployment: ${DEPLOYMENT_EXAMPLE}`,
    },
    { field: "deployment", app: dep({ deployment: {} }), message: `${A}.deployment ${F}: expected exactly one of manifests (YAML files or directories), kustomize (a kustomization directory) or helm (a chart), got {}. Example: ${A}.deployment: ${DEPLOYMENT_EXAMPLE}` },
    { field: "deployment", app: { ...(svc({}) as object), deployment: DEPLOYMENT }, message: `${A}.services ${F}: ${ONE_SOURCE}, got [{"name":"api","port":8080,"image":"r/api:{tag}"}]. Example: ${A}.services: (remove services)` },
    { field: "deployment", app: { services: [], deployment: DEPLOYMENT }, message: `${A}.services ${F}: ${ONE_SOURCE}, got []. Example: ${A}.services: (remove services)` },
    { field: "deployment.manifests", app: dep({ deployment: { manifests: [] } }), message: `${A}.deployment.manifests ${F}: expected a non-empty list of project-relative YAML files or directories, got []. Example: ${A}.deployment.manifests: ["app/deploy/plain"]` },
    { field: "deployment.manifests", app: dep({ deployment: { manifests: "app/deploy" } }), message: `${A}.deployment.manifests ${F}: expected a non-empty list of project-relative YAML files or directories, got "app/deploy". Example: ${A}.deployment.manifests: ["app/deploy/plain"]` },
    { field: "deployment.manifests", app: dep({ deployment: { manifests: ["app/../../prod"] } }), message: `${A}.deployment.manifests[0] ${F}: ${INSIDE} (it climbs out with ..), got "app/../../prod". Example: ${A}.deployment.manifests[0]: "app/deploy/plain"` },
    { field: "deployment.kustomize", app: dep({ deployment: { kustomize: "/etc/overlay" } }), message: `${A}.deployment.kustomize ${F}: ${INSIDE} (it is absolute), got "/etc/overlay". Example: ${A}.deployment.kustomize: "app/deploy/production"` },
    { field: "deployment.helm", app: dep({ deployment: { helm: "charts/deals" } }), message: `${H} ${F}: expected an object, got "charts/deals". Example: ${H}: ${HELM_EXAMPLE}` },
    { field: "deployment.helm.chart", app: dep({ deployment: { helm: {} } }), message: `${H}.chart ${F}: expected a non-empty string, got nothing. Example: ${H}.chart: "charts/deals"` },
    { field: "deployment.helm.chart", app: dep({ deployment: { helm: { chart: "C:\\charts\\deals" } } }), message: `${H}.chart ${F}: ${INSIDE} (it is absolute), got "C:\\\\charts\\\\deals". Example: ${H}.chart: "charts/deals"` },
    {
        field: "deployment.helm.values",
        app: dep({ deployment: { helm: { chart: "charts/deals", values: ["../values-prod.yaml"] } } }),
        message: `${H}.values[0] ${F}: ${INSIDE} (it climbs out with ..), got "../values-prod.yaml". Example: ${H}.values[0]: "charts/deals/values-prod.yaml"`,
    },
    { field: "deployment.helm.values", app: dep({ deployment: { helm: { chart: "charts/deals", values: "values.yaml" } } }), message: `${H}.values ${F}: expected a list, got "values.yaml". Example: ${H}.values: ["charts/deals/values-prod.yaml"]` },
    { field: "deployment.helm.set", app: dep({ deployment: { helm: { chart: "charts/deals", set: ["replicaCount=2"] } } }), message: `${H}.set ${F}: expected an object, got ["replicaCount=2"]. Example: ${H}.set: {"replicaCount": 2}` },
    ...["Deals", "deals_prod", "-deals", "d".repeat(54)].map((releaseName) => ({
        field: "deployment.helm.releaseName",
        app: dep({ deployment: { helm: { chart: "charts/deals", releaseName } } }),
        message: `${H}.releaseName ${F}: ${RELEASE}, got ${JSON.stringify(releaseName)}. Example: ${H}.releaseName: "deals"`,
    })),
    {
        field: "deployment.helm.releaseName",
        app: dep({ deployment: { helm: { chart: "charts/Deals_Chart" } } }),
        message: `${H}.releaseName ${F}: ${RELEASE}; the default, the chart directory's name, is not one, so set releaseName to production's release, got "Deals_Chart". Example: ${H}.releaseName: "deals"`,
    },
    { field: "images", app: dep({ images: IMAGE }), message: `${A}.images ${F}: expected a list, got ${JSON.stringify(IMAGE)}. Example: ${A}.images: [${IMAGE_EXAMPLE}]` },
    {
        field: "images",
        app: dep({ images: [IMAGE, { ...IMAGE, service: "api-2" }] }),
        message: `${A}.images[1].production ${F}: a production repository used only once, got "registry.example.com/deals/api". Example: ${A}.images[1].production: (merge it with images[0])`,
    },
    {
        field: "images",
        app: dep({ images: [IMAGE, { ...IMAGE, production: "registry.example.com/deals/worker" }] }),
        message: `${A}.images[1].service ${F}: an image name used only once, got "api". Example: ${A}.images[1].service: (merge it with images[0])`,
    },
    ...[
        ["registry.example.com/deals/api:1.4.2", "registry.example.com/deals/api"],
        [`registry.example.com/deals/api@sha256:${"ab".repeat(32)}`, "registry.example.com/deals/api"],
        ["localhost:5000/deals/api:latest", "localhost:5000/deals/api"],
    ].map(([production, bare]) => ({
        field: "images[].production",
        app: dep({ images: [{ ...IMAGE, production }] }),
        message: `${I0}.production ${F}: expected the repository alone, without tag or digest (${bare}): every image of it is replaced, whatever its tag, got ${JSON.stringify(production)}. Example: ${I0}.production: "registry.example.com/deals/api"`,
    })),
    ...["Registry.example.com/Deals/API", "https://registry.example.com/deals/api", "deals api"].map((production) => ({
        field: "images[].production",
        app: dep({ images: [{ ...IMAGE, production }] }),
        message: `${I0}.production ${F}: expected an image repository such as registry.example.com/deals/api: [registry-host[:port]/]lowercase path, no tag or digest, got ${JSON.stringify(production)}. Example: ${I0}.production: "registry.example.com/deals/api"`,
    })),
    { field: "images[].service", app: dep({ images: [{ ...IMAGE, service: "API" }] }), message: `${I0}.service ${F}: ${NAME_RULE}, got "API". Example: ${I0}.service: "api"` },
    {
        field: "images[].service",
        app: dep({ images: [{ ...IMAGE, service: "aws-emulator" }] }),
        message: `${I0}.service ${F}: a name not taken in the namespace (aws-emulator: the mirror's AWS emulator), got "aws-emulator". Example: ${I0}.service: "api"`,
    },
    { field: "images[].build", app: dep({ images: [{ ...IMAGE, build: "app" }] }), message: `${I0}.build ${F}: expected an object, got "app". Example: ${I0}.build: ${BUILD_EXAMPLE}` },
    { field: "images[].build.context", app: dep({ images: [{ ...IMAGE, build: {} }] }), message: `${I0}.build.context ${F}: expected a non-empty string, got nothing. Example: ${I0}.build.context: "app"` },
    { field: "images[].build.dockerfile", app: dep({ images: [{ ...IMAGE, build: { context: "app", dockerfile: 5 } }] }), message: `${I0}.build.dockerfile ${F}: expected a non-empty string, got 5. Example: ${I0}.build.dockerfile: "app/api/Dockerfile"` },
    { field: "images[].build.args", app: dep({ images: [{ ...IMAGE, build: { context: "app", args: ["x"] } }] }), message: `${I0}.build.args ${F}: expected an object, got ["x"]. Example: ${I0}.build.args: ${ARGS_EXAMPLE}` },
    { field: "images[].build.target", app: dep({ images: [{ ...IMAGE, build: { context: "app", target: "" } }] }), message: `${I0}.build.target ${F}: expected a non-empty string, got "". Example: ${I0}.build.target: "runtime"` },
    { field: "standIns", app: dep({ standIns: [] }), message: `${A}.standIns ${F}: expected an object, got []. Example: ${A}.standIns: ${STAND_INS_EXAMPLE}` },
    { field: "standIns.secrets", app: dep({ standIns: { secrets: {} } }), message: `${A}.standIns.secrets ${F}: expected a list, got {}. Example: ${A}.standIns.secrets: [${STAND_IN_EXAMPLE}]` },
    {
        field: "standIns.secrets",
        app: dep({ standIns: { secrets: [{ name: "deal-signing", keys: ["key"] }, { name: "deal-signing", keys: ["other"] }] } }),
        message: `${A}.standIns.secrets[1].name ${F}: a stand-in secret name used only once, got "deal-signing". Example: ${A}.standIns.secrets[1].name: "deal-signing-2"`,
    },
    ...["Deal_Signing", "deal-signing-", `${"a".repeat(250)}.com`].map((name) => ({
        field: "standIns.secrets[].name",
        app: dep({ standIns: { secrets: [{ name, keys: ["key"] }] } }),
        message: `${SI0}.name ${F}: ${SUBDOMAIN}, got ${shown(name)}. Example: ${SI0}.name: "deal-signing"`,
    })),
    { field: "standIns.secrets[].keys", app: dep({ standIns: { secrets: [{ name: "deal-signing", keys: [] }] } }), message: `${SI0}.keys ${F}: expected a non-empty list of the Secret's keys (those production's objects read), got []. Example: ${SI0}.keys: ["key"]` },
    { field: "standIns.secrets[].keys", app: dep({ standIns: { secrets: [{ name: "deal-signing" }] } }), message: `${SI0}.keys ${F}: expected a non-empty list of the Secret's keys (those production's objects read), got nothing. Example: ${SI0}.keys: ["key"]` },
    ...["signing key", "..key", ".", "k/ey"].map((key) => ({
        field: "standIns.secrets[].keys",
        app: dep({ standIns: { secrets: [{ name: "deal-signing", keys: [key] }] } }),
        message: `${SI0}.keys[0] ${F}: expected a Secret key: 1 to 253 of [-._a-zA-Z0-9], not "." and not starting with "..", got ${JSON.stringify(key)}. Example: ${SI0}.keys[0]: "key"`,
    })),
    {
        field: "standIns.secrets[].keys",
        app: dep({ standIns: { secrets: [{ name: "deal-signing", keys: ["key", "key"] }] } }),
        message: `${SI0}.keys[1] ${F}: a key listed only once, got "key". Example: ${SI0}.keys[1]: (remove keys[1])`,
    },
    { field: "customResourceKinds", app: dep({ customResourceKinds: KIND }), message: `${A}.customResourceKinds ${F}: expected a list, got ${JSON.stringify(KIND)}. Example: ${A}.customResourceKinds: [${KIND_EXAMPLE}]` },
    {
        field: "customResourceKinds",
        app: dep({ customResourceKinds: [KIND, { ...KIND, namespaced: false }] }),
        message: `${A}.customResourceKinds[1].kind ${F}: an apiVersion and kind used only once, got "example.com/v1 Widget". Example: ${A}.customResourceKinds[1].kind: (merge it with customResourceKinds[0])`,
    },
    ...["v1", "apps/v1", "example.com/V1", "example.com/v1/extra", "Example.com/v1"].map((apiVersion) => ({
        field: "customResourceKinds[].apiVersion",
        app: dep({ customResourceKinds: [{ ...KIND, apiVersion }] }),
        message: `${K0}.apiVersion ${F}: ${CUSTOM_VERSION}, got ${JSON.stringify(apiVersion)}. Example: ${K0}.apiVersion: "example.com/v1"`,
    })),
    ...["widget-x", "1Widget", ""].map((kind) => ({
        field: "customResourceKinds[].kind",
        app: dep({ customResourceKinds: [{ ...KIND, kind }] }),
        message:
            kind === ""
                ? `${K0}.kind ${F}: expected a non-empty string, got "". Example: ${K0}.kind: "Widget"`
                : `${K0}.kind ${F}: expected a kind such as Widget: a letter, then letters and digits, at most 63, got ${JSON.stringify(kind)}. Example: ${K0}.kind: "Widget"`,
    })),
    ...["yes", undefined, 1].map((namespaced) => ({
        field: "customResourceKinds[].namespaced",
        app: dep({ customResourceKinds: [{ ...KIND, namespaced }] }),
        message: `${K0}.namespaced ${F}: expected true (its objects live in a namespace) or false (cluster-scoped), got ${namespaced === undefined ? "nothing" : JSON.stringify(namespaced)}. Example: ${K0}.namespaced: true`,
    })),
    {
        field: "cloud.queues[].production",
        app: dep({ cloud: { queues: [{ name: "deal-events", production: {} }] } }),
        message: `${Q0}.production ${F}: expected url, name or both: how production's objects name the queue, got {}. Example: ${Q0}.production: ${QUEUE_PRODUCTION_EXAMPLE}`,
    },
    {
        field: "cloud.queues[].production",
        app: dep({ cloud: { queues: [{ name: "deal-events", production: "deal-events" }] } }),
        message: `${Q0}.production ${F}: expected an object, got "deal-events". Example: ${Q0}.production: ${QUEUE_PRODUCTION_EXAMPLE}`,
    },
    ...["sqs.eu-west-1.amazonaws.com/210987654321/deal-events", "https://sqs.eu-west-1.amazonaws.com", "https://sqs.eu-west-1.amazonaws.com/ x"].map((url) => ({
        field: "cloud.queues[].production.url",
        app: dep({ cloud: { queues: [{ name: "deal-events", production: { url } }] } }),
        message: `${Q0}.production.url ${F}: expected the queue's URL, https://sqs.<region>.amazonaws.com/<account>/<name>, got ${JSON.stringify(url)}. Example: ${Q0}.production.url: "https://sqs.eu-west-1.amazonaws.com/210987654321/deal-events"`,
    })),
    ...["deal events", "x".repeat(81), "deal.events"].map((name) => ({
        field: "cloud.queues[].production.name",
        app: dep({ cloud: { queues: [{ name: "deal-events", production: { name } }] } }),
        message: `${Q0}.production.name ${F}: expected an SQS queue name: 1 to 80 of [A-Za-z0-9_-], a FIFO queue's ending in .fifo, got ${JSON.stringify(name)}. Example: ${Q0}.production.name: "deal-events"`,
    })),
    ...["Acme_Receipts", "ab", "-acme-receipts"].map((production) => ({
        field: "cloud.buckets[].production",
        app: dep({ cloud: { buckets: [{ name: "receipts", production }] } }),
        message: `${B0}.production ${F}: expected an S3 bucket name: 3 to 63 of [a-z0-9.-], starting and ending with a letter or digit, got ${JSON.stringify(production)}. Example: ${B0}.production: "acme-deal-receipts"`,
    })),
    ...["ab", "acme deals", "x".repeat(256)].map((production) => ({
        field: "cloud.tables[].production",
        app: dep({ cloud: { tables: [{ ...TABLE, production }] } }),
        message: `${T0}.production ${F}: expected a DynamoDB table name: 3 to 255 of [A-Za-z0-9_.-], got ${shown(production)}. Example: ${T0}.production: "acme-deals"`,
    })),
];

const FIELD_CASES: BadField[] = [
    { field: "services", app: {}, message: `prod-mirror:app.services ${F}: expected at least one service, got nothing. Example: prod-mirror:app.services: [${SERVICE_EXAMPLE}]` },
    { field: "services", app: { services: [] }, message: `prod-mirror:app.services ${F}: expected at least one service, got []. Example: prod-mirror:app.services: [${SERVICE_EXAMPLE}]` },
    { field: "services", app: { services: {} }, message: `prod-mirror:app.services ${F}: expected a list, got {}. Example: prod-mirror:app.services: [${SERVICE_EXAMPLE}]` },
    { field: "services", app: { services: ["api"] }, message: `${S0} ${F}: expected an object, got "api". Example: ${S0}: ${SERVICE_EXAMPLE}` },
    {
        field: "services",
        app: { services: [SERVICE, { ...SERVICE, port: 8081 }] },
        message: `prod-mirror:app.services[1].name ${F}: a service name used only once, got "api". Example: prod-mirror:app.services[1].name: "api-2"`,
    },
    { field: "services[].name", app: svc({ name: "API" }), message: `${S0}.name ${F}: ${NAME_RULE}, got "API". Example: ${S0}.name: "api"` },
    { field: "services[].name", app: svc({ name: undefined }), message: `${S0}.name ${F}: expected a non-empty string, got nothing. Example: ${S0}.name: "api"` },
    { field: "services[].name", app: svc({ name: "" }), message: `${S0}.name ${F}: expected a non-empty string, got "". Example: ${S0}.name: "api"` },
    {
        field: "services[].name",
        app: svc({ name: "aws-emulator" }),
        message: `${S0}.name ${F}: a name not taken in the namespace (aws-emulator: the mirror's AWS emulator), got "aws-emulator". Example: ${S0}.name: "api"`,
    },
    ...["http", 0, 65536, 8080.5, -8080, "0x1F90", "8080e0", "-8080"].map((port) => ({
        field: "services[].port",
        app: svc({ port }),
        message: `${S0}.port ${F}: expected a whole number from 1024 to 65535, got ${JSON.stringify(port)}. Example: ${S0}.port: 8080`,
    })),
    ...[1, 1023, "80"].map((port) => ({ field: "services[].port", app: svc({ port }), message: `${S0}.port ${F}: ${NON_ROOT}, got ${JSON.stringify(port)}. Example: ${S0}.port: 8080` })),
    {
        field: "services[].image",
        app: svc({ build: { context: "app" } }),
        message: `${S0} ${F}: expected exactly one of image (a prebuilt reference) or build (a context to build), got {"image":"r/api:{tag}","build":{"context":"app"}}. Example: ${S0}: ${SERVICE_EXAMPLE}`,
    },
    {
        field: "services[].image",
        app: svc({ image: undefined }),
        message: `${S0} ${F}: expected exactly one of image (a prebuilt reference) or build (a context to build), got {}. Example: ${S0}: ${SERVICE_EXAMPLE}`,
    },
    ...["r/api :tag", " r/api", "r/api "].map((image) => ({
        field: "services[].image",
        app: svc({ image }),
        message: `${S0}.image ${F}: expected an image reference without spaces, got ${JSON.stringify(image)}. Example: ${S0}.image: "127.0.0.1:5000/prod-mirror/api:{tag}"`,
    })),
    { field: "services[].image", app: svc({ image: 5 }), message: `${S0}.image ${F}: expected a non-empty string, got 5. Example: ${S0}.image: "127.0.0.1:5000/prod-mirror/api:{tag}"` },
    { field: "services[].build", app: svc({ image: undefined, build: "app" }), message: `${S0}.build ${F}: expected an object, got "app". Example: ${S0}.build: ${BUILD_EXAMPLE}` },
    {
        field: "services[].build",
        app: svc({ image: undefined, build: { context: "app", file: "x" } }),
        message: `${S0}.build.file ${F}: unknown field; known fields are context, dockerfile, args, target, got "x". Example: ${S0}.build.file: ${BUILD_EXAMPLE}`,
    },
    { field: "services[].build.context", app: svc({ image: undefined, build: {} }), message: `${S0}.build.context ${F}: expected a non-empty string, got nothing. Example: ${S0}.build.context: "app"` },
    {
        field: "services[].build.dockerfile",
        app: svc({ image: undefined, build: { context: "app", dockerfile: 5 } }),
        message: `${S0}.build.dockerfile ${F}: expected a non-empty string, got 5. Example: ${S0}.build.dockerfile: "app/api/Dockerfile"`,
    },
    {
        field: "services[].build.target",
        app: svc({ image: undefined, build: { context: "app", target: "" } }),
        message: `${S0}.build.target ${F}: expected a non-empty string, got "". Example: ${S0}.build.target: "runtime"`,
    },
    { field: "services[].build.args", app: svc({ image: undefined, build: { context: "app", args: ["x"] } }), message: `${S0}.build.args ${F}: expected an object, got ["x"]. Example: ${S0}.build.args: ${ARGS_EXAMPLE}` },
    ...["1X", "X-1", "X Y"].map((arg) => ({
        field: "services[].build.args",
        app: svc({ image: undefined, build: { context: "app", args: { [arg]: "y" } } }),
        message: `${S0}.build.args.${arg} ${F}: expected the name to be a build argument name, got "${arg}". Example: ${S0}.build.args.${arg}: ${ARGS_EXAMPLE}`,
    })),
    {
        field: "services[].build.args",
        app: svc({ image: undefined, build: { context: "app", args: { BASE: null } } }),
        message: `${S0}.build.args.BASE ${F}: expected a string, got null. Example: ${S0}.build.args.BASE: ${ARGS_EXAMPLE}`,
    },
    { field: "services[].env", app: svc({ env: "LOG_LEVEL=debug" }), message: `${S0}.env ${F}: expected an object, got "LOG_LEVEL=debug". Example: ${S0}.env: {"LOG_LEVEL": "debug"}` },
    ...["1ABC", "ABC-1", "A B"].map((name) => ({
        field: "services[].env",
        app: svc({ env: { [name]: "x" } }),
        message: `${S0}.env.${name} ${F}: ${ENV_RULE}, got "${name}". Example: ${S0}.env.${name}: {"LOG_LEVEL": "debug"}`,
    })),
    { field: "services[].env", app: svc({ env: { LEVELS: ["debug"] } }), message: `${S0}.env.LEVELS ${F}: expected a string, got ["debug"]. Example: ${S0}.env.LEVELS: {"LOG_LEVEL": "debug"}` },
    ...[-1, 51, 1.5, "2x", "2e1", "0x10", true].map((replicas) => ({
        field: "services[].replicas",
        app: svc({ replicas }),
        message: `${S0}.replicas ${F}: expected a whole number from 0 to 50, got ${JSON.stringify(replicas)}. Example: ${S0}.replicas: 2`,
    })),
    { field: "services[].resources", app: svc({ resources: "big" }), message: `${S0}.resources ${F}: expected an object, got "big". Example: ${S0}.resources: ${RESOURCES_EXAMPLE}` },
    {
        field: "services[].resources",
        app: svc({ resources: { request: {} } }),
        message: `${S0}.resources.request ${F}: unknown field; known fields are requests, limits, got {}. Example: ${S0}.resources.request: ${RESOURCES_EXAMPLE}`,
    },
    { field: "services[].resources.requests", app: svc({ resources: { requests: "x" } }), message: `${S0}.resources.requests ${F}: expected an object, got "x". Example: ${S0}.resources.requests: ${AMOUNTS_EXAMPLE}` },
    {
        field: "services[].resources.requests",
        app: svc({ resources: { requests: { gpu: 1 } } }),
        message: `${S0}.resources.requests.gpu ${F}: unknown field; known fields are cpu, memory, got 1. Example: ${S0}.resources.requests.gpu: ${AMOUNTS_EXAMPLE}`,
    },
    { field: "services[].resources.limits", app: svc({ resources: { limits: [] } }), message: `${S0}.resources.limits ${F}: expected an object, got []. Example: ${S0}.resources.limits: ${AMOUNTS_EXAMPLE}` },
    ...["lots", "x500m", "500mx", "1.", ".5", "1.5.5"].map((cpu) => ({
        field: "services[].resources.requests.cpu",
        app: svc({ resources: { requests: { cpu } } }),
        message: `${S0}.resources.requests.cpu ${F}: ${QUANTITY}, got "${cpu}". Example: ${S0}.resources.requests.cpu: "100m"`,
    })),
    {
        field: "services[].resources.requests.memory",
        app: svc({ resources: { requests: { memory: "128 Mi" } } }),
        message: `${S0}.resources.requests.memory ${F}: ${QUANTITY}, got "128 Mi". Example: ${S0}.resources.requests.memory: "128Mi"`,
    },
    { field: "services[].resources.limits.cpu", app: svc({ resources: { limits: { cpu: -1 } } }), message: `${S0}.resources.limits.cpu ${F}: ${QUANTITY}, got "-1". Example: ${S0}.resources.limits.cpu: "100m"` },
    { field: "services[].resources.limits.memory", app: svc({ resources: { limits: { memory: "1GB" } } }), message: `${S0}.resources.limits.memory ${F}: ${QUANTITY}, got "1GB". Example: ${S0}.resources.limits.memory: "128Mi"` },
    ...["healthz", "/ready now", "x/healthz", "/ready "].map((readinessPath) => ({
        field: "services[].readinessPath",
        app: svc({ readinessPath }),
        message: `${S0}.readinessPath ${F}: expected a path starting with /, got "${readinessPath}". Example: ${S0}.readinessPath: "/healthz"`,
    })),
    { field: "services[].uses", app: svc({ uses: ["deals"] }), message: `${S0}.uses ${F}: expected an object, got ["deals"]. Example: ${S0}.uses: ${USES_EXAMPLE}` },
    {
        field: "services[].uses",
        app: svc({ uses: { topics: [] } }),
        message: `${S0}.uses.topics ${F}: unknown field; known fields are queues, buckets, tables, services, got []. Example: ${S0}.uses.topics: ${USES_EXAMPLE}`,
    },
    ...(
        [
            ["queues", '["deal-events"]'],
            ["buckets", '["receipts"]'],
            ["tables", '["deals"]'],
            ["services", '["api"]'],
        ] as const
    ).flatMap(([kind, example]) => [
        { field: `services[].uses.${kind}`, app: svc({ uses: { [kind]: "x" } }), message: `${S0}.uses.${kind} ${F}: expected a list of names, got "x". Example: ${S0}.uses.${kind}: ${example}` },
        { field: `services[].uses.${kind}`, app: svc({ uses: { [kind]: [5] } }), message: `${S0}.uses.${kind}[0] ${F}: expected a non-empty string, got 5. Example: ${S0}.uses.${kind}[0]: ${example}` },
    ]),
    {
        field: "services[].uses.queues",
        app: svc({ uses: { queues: ["orders"] } }, QUEUES),
        message: `${S0}.uses.queues[0] ${F}: a declared queue (deal-events), got "orders". Example: ${S0}.uses.queues[0]: "deal-events"`,
    },
    {
        field: "services[].uses.buckets",
        app: svc({ uses: { buckets: ["receipts"] } }, QUEUES),
        message: `${S0}.uses.buckets[0] ${F}: a declared bucket (none declared), got "receipts". Example: ${S0}.uses.buckets[0]: (declare it first under cloud.buckets)`,
    },
    {
        field: "services[].uses.tables",
        app: svc({ uses: { tables: ["deals"] } }),
        message: `${S0}.uses.tables[0] ${F}: a declared table (none declared), got "deals". Example: ${S0}.uses.tables[0]: (declare it first under cloud.tables)`,
    },
    {
        field: "services[].uses.services",
        app: svc({ uses: { services: ["api"] } }),
        message: `${S0}.uses.services[0] ${F}: a declared other service (none declared), got "api". Example: ${S0}.uses.services[0]: (declare it first under services)`,
    },
    {
        field: "services[].uses.services",
        app: { services: [{ ...SERVICE, uses: { services: ["api"] } }, { ...SERVICE, name: "web", port: 8081 }] },
        message: `${S0}.uses.services[0] ${F}: a declared other service (web), got "api". Example: ${S0}.uses.services[0]: "web"`,
    },
    { field: "cloud", app: svc({}, "aws" as never), message: `prod-mirror:app.cloud ${F}: expected an object, got "aws". Example: prod-mirror:app.cloud: ${CLOUD_EXAMPLE}` },
    {
        field: "cloud",
        app: svc({}, { topics: [] }),
        message: `prod-mirror:app.cloud.topics ${F}: unknown field; known fields are queues, buckets, tables, got []. Example: prod-mirror:app.cloud.topics: ${CLOUD_EXAMPLE}`,
    },
    {
        field: "services",
        app: { ...(svc({}) as object), clouds: {} },
        message: `prod-mirror:app.clouds ${F}: unknown field; known fields are services, cloud, deployment, images, standIns, customResourceKinds, got {}. Example: prod-mirror:app.clouds: ${APP_EXAMPLE}`,
    },
    { field: "cloud.queues", app: svc({}, { queues: {} }), message: `prod-mirror:app.cloud.queues ${F}: expected a list, got {}. Example: prod-mirror:app.cloud.queues: [{"name": "deal-events"}]` },
    { field: "cloud.queues", app: svc({}, { queues: ["q"] }), message: `${Q0} ${F}: expected an object, got "q". Example: ${Q0}: {"name": "deal-events"}` },
    {
        field: "cloud.queues",
        app: svc({}, { queues: [{ name: "deal-events" }, { name: "deal-events" }] }),
        message: `prod-mirror:app.cloud.queues[1].name ${F}: a queue name used only once, got "deal-events". Example: prod-mirror:app.cloud.queues[1].name: "deal-events-2"`,
    },
    {
        field: "cloud.queues",
        app: svc({}, { queues: [{ name: "deal-events", delay: 5 }] }),
        message: `${Q0}.delay ${F}: unknown field; known fields are name, visibilityTimeoutSeconds, production, got 5. Example: ${Q0}.delay: {"name": "deal-events"}`,
    },
    { field: "cloud.queues[].name", app: svc({}, { queues: [{ name: "Deal_Events" }] }), message: `${Q0}.name ${F}: ${NAME_RULE}, got "Deal_Events". Example: ${Q0}.name: "deal-events"` },
    ...[-1, 43201, "30s"].map((visibilityTimeoutSeconds) => ({
        field: "cloud.queues[].visibilityTimeoutSeconds",
        app: svc({}, { queues: [{ name: "deal-events", visibilityTimeoutSeconds }] }),
        message: `${Q0}.visibilityTimeoutSeconds ${F}: expected a whole number of seconds from 0 to 43200, got ${JSON.stringify(visibilityTimeoutSeconds)}. Example: ${Q0}.visibilityTimeoutSeconds: 30`,
    })),
    { field: "cloud.buckets", app: svc({}, { buckets: "receipts" }), message: `prod-mirror:app.cloud.buckets ${F}: expected a list, got "receipts". Example: prod-mirror:app.cloud.buckets: [{"name": "receipts"}]` },
    { field: "cloud.buckets", app: svc({}, { buckets: [5] }), message: `${B0} ${F}: expected an object, got 5. Example: ${B0}: {"name": "receipts"}` },
    {
        field: "cloud.buckets",
        app: svc({}, { buckets: [{ name: "receipts" }, { name: "receipts" }] }),
        message: `prod-mirror:app.cloud.buckets[1].name ${F}: a bucket name used only once, got "receipts". Example: prod-mirror:app.cloud.buckets[1].name: "receipts-2"`,
    },
    {
        field: "cloud.buckets",
        app: svc({}, { buckets: [{ name: "receipts", versioned: true }] }),
        message: `${B0}.versioned ${F}: unknown field; known fields are name, production, got true. Example: ${B0}.versioned: {"name": "receipts"}`,
    },
    { field: "cloud.buckets[].name", app: svc({}, { buckets: [{}] }), message: `${B0}.name ${F}: expected a non-empty string, got nothing. Example: ${B0}.name: "receipts"` },
    { field: "cloud.tables", app: svc({}, { tables: {} }), message: `prod-mirror:app.cloud.tables ${F}: expected a list, got {}. Example: prod-mirror:app.cloud.tables: [${TABLE_EXAMPLE}]` },
    { field: "cloud.tables", app: svc({}, { tables: [5] }), message: `${T0} ${F}: expected an object, got 5. Example: ${T0}: ${TABLE_EXAMPLE}` },
    {
        field: "cloud.tables",
        app: svc({}, { tables: [TABLE, TABLE] }),
        message: `prod-mirror:app.cloud.tables[1].name ${F}: a table name used only once, got "deals". Example: prod-mirror:app.cloud.tables[1].name: "deals-2"`,
    },
    {
        field: "cloud.tables",
        app: svc({}, { tables: [{ ...TABLE, sortKey: "at" }] }),
        message: `${T0}.sortKey ${F}: unknown field; known fields are name, hashKey, hashKeyType, rangeKey, rangeKeyType, production, got "at". Example: ${T0}.sortKey: ${TABLE_EXAMPLE}`,
    },
    { field: "cloud.tables[].name", app: svc({}, { tables: [{ ...TABLE, name: "Deals" }] }), message: `${T0}.name ${F}: ${NAME_RULE}, got "Deals". Example: ${T0}.name: "deals"` },
    { field: "cloud.tables[].hashKey", app: svc({}, { tables: [{ name: "deals" }] }), message: `${T0}.hashKey ${F}: expected a non-empty string, got nothing. Example: ${T0}.hashKey: "id"` },
    ...["string", "s", "SN", ""].map((hashKeyType) => ({
        field: "cloud.tables[].hashKeyType",
        app: svc({}, { tables: [{ ...TABLE, hashKeyType }] }),
        message: `${T0}.hashKeyType ${F}: expected "S", "N" or "B", got "${hashKeyType}". Example: ${T0}.hashKeyType: "S"`,
    })),
    { field: "cloud.tables[].rangeKey", app: svc({}, { tables: [{ ...TABLE, rangeKey: "" }] }), message: `${T0}.rangeKey ${F}: expected a non-empty string, got "". Example: ${T0}.rangeKey: "createdAt"` },
    {
        field: "cloud.tables[].rangeKeyType",
        app: svc({}, { tables: [{ ...TABLE, rangeKey: "at", rangeKeyType: 1 }] }),
        message: `${T0}.rangeKeyType ${F}: expected "S", "N" or "B", got 1. Example: ${T0}.rangeKeyType: "S"`,
    },
    ...FIDELITY_CASES,
];

/**
 * Every object of the schema, as a description with an unknown field `zzz` in it: the error lists
 * that object's known fields, which is where the guard learns them from the parser itself.
 */
const OBJECTS: Record<string, unknown> = {
    "": { ...(svc({}) as object), zzz: 1 },
    "services[]": svc({ zzz: 1 }),
    "services[].build": svc({ image: undefined, build: { context: "app", zzz: 1 } }),
    "services[].resources": svc({ resources: { zzz: 1 } }),
    "services[].resources.requests": svc({ resources: { requests: { zzz: 1 } } }),
    "services[].resources.limits": svc({ resources: { limits: { zzz: 1 } } }),
    "services[].uses": svc({ uses: { zzz: 1 } }),
    cloud: svc({}, { zzz: 1 }),
    "cloud.queues[]": svc({}, { queues: [{ name: "q", zzz: 1 }] }),
    "cloud.buckets[]": svc({}, { buckets: [{ name: "b", zzz: 1 }] }),
    "cloud.tables[]": svc({}, { tables: [{ ...TABLE, zzz: 1 }] }),
    "cloud.queues[].production": dep({ cloud: { queues: [{ name: "q", production: { name: "q", zzz: 1 } }] } }),
    deployment: dep({ deployment: { ...DEPLOYMENT, zzz: 1 } }),
    "deployment.helm": dep({ deployment: { helm: { chart: "charts/deals", zzz: 1 } } }),
    "images[]": dep({ images: [{ ...IMAGE, zzz: 1 }] }),
    "images[].build": dep({ images: [{ ...IMAGE, build: { context: "app", zzz: 1 } }] }),
    standIns: dep({ standIns: { zzz: 1 } }),
    "standIns.secrets[]": dep({ standIns: { secrets: [{ name: "s", keys: ["k"], zzz: 1 }] } }),
    "customResourceKinds[]": dep({ customResourceKinds: [{ ...KIND, zzz: 1 }] }),
};

function appError(app: unknown): string {
    return errorOf({ ...BASE, app: JSON.stringify(app) });
}

describe("every field of the app description refuses a bad value with the path, the value and the fix", () => {
    it("has a case for every field the parser knows, at every level", () => {
        const fields: string[] = [];
        for (const [level, app] of Object.entries(OBJECTS)) {
            const known = /unknown field; known fields are (.*), got 1\. /.exec(appError(app))?.[1];
            assert.ok(known !== undefined, `no list of known fields for ${level || "the document"}`);
            fields.push(...known.split(", ").map((f) => (level === "" ? f : `${level}.${f}`)));
        }
        // A list of items is one field; its items' objects are levels of their own.
        const labels = new Set(FIELD_CASES.map((c) => c.field.replace(/\[\]$/, "")));
        assert.deepStrictEqual(fields.filter((f) => !labels.has(f)), [], "fields without a case");
        assert.deepStrictEqual([...labels].filter((l) => !fields.includes(l)), [], "cases for fields the parser does not know");
    });

    for (const c of FIELD_CASES) {
        it(`${c.field}: ${JSON.stringify(c.app).slice(0, 110)}`, () => {
            assert.strictEqual(appError(c.app), c.message);
        });
    }
});
