import * as assert from "assert";
import { describeTarget, resolveTarget, type ExternalTarget, type LocalValues, type Target } from "../../cli/target";

const LOCAL_KUBECONFIG = "/home/me/.local/state/prod-mirror/kubernetes/admin.kubeconfig";
const LOCAL_BACKEND = "file:///home/me/.local/state/prod-mirror/pulumi-backend";
/** shellenv's backend, and the one of the CLI's mirrors directory a test suite chose. */
const LOCAL: LocalValues = {
    KUBECONFIG: [LOCAL_KUBECONFIG],
    PULUMI_BACKEND_URL: [LOCAL_BACKEND, "file:///tmp/prod-mirror-tests-x/pulumi-backend"],
    PROD_MIRROR_REGISTRY: ["127.0.0.1:5000"],
};
const SHELLENV = { KUBECONFIG: LOCAL_KUBECONFIG, PULUMI_BACKEND_URL: LOCAL_BACKEND, PROD_MIRROR_REGISTRY: "127.0.0.1:5000" };

/** A complete external target's variables (GitLab-style registry), each test changes one thing. */
const GITLAB = {
    KUBECONFIG: "/ci/kubeconfig",
    CI_REGISTRY: "registry.gitlab.example",
    CI_REGISTRY_USER: "gitlab-ci-token",
    CI_REGISTRY_PASSWORD: "job-token",
    PULUMI_BACKEND_URL: "s3://state/mirrors?region=eu-west-1",
    PULUMI_CONFIG_PASSPHRASE: "pp",
};

function external(env: Record<string, string | undefined>, flags = {}): ExternalTarget {
    const target: Target = resolveTarget(env, flags, LOCAL);
    assert.strictEqual(target.kind, "external");
    return target as ExternalTarget;
}

describe("cli: target", () => {
    describe("local or external", () => {
        it("is the local default with nothing set, and with exactly the local environment's own values (a shell that ran shellenv)", () => {
            assert.deepStrictEqual(resolveTarget({}, {}, LOCAL), { kind: "local", reason: "nothing chooses another target" });
            assert.deepStrictEqual(resolveTarget({ ...SHELLENV, PULUMI_CONFIG_PASSPHRASE_FILE: "/x" }, {}, LOCAL).kind, "local");
            assert.deepStrictEqual(resolveTarget({ ...SHELLENV, PULUMI_BACKEND_URL: "file:///tmp/prod-mirror-tests-x/pulumi-backend" }, {}, LOCAL).kind, "local", "a child of a CLI with its own mirrors directory");
            assert.deepStrictEqual(resolveTarget({ KUBECONFIG: "" , CI_REGISTRY: "" }, {}, LOCAL).kind, "local", "an empty variable is an unset one");
        });

        it("is external when any choosing setting differs from the local value, and says which", () => {
            for (const name of ["KUBECONFIG", "PROD_MIRROR_REGISTRY", "CI_REGISTRY", "PULUMI_BACKEND_URL"]) {
                assert.throws(() => resolveTarget({ ...SHELLENV, [name]: "elsewhere:1" }, {}, LOCAL), { message: new RegExp(`^an external target \\(chosen because ${name} is set\\)`) }, name);
            }
            assert.throws(() => resolveTarget({}, { context: "prod" }, LOCAL), { message: /chosen because --context is set/ });
            assert.throws(() => resolveTarget({}, { kubeconfig: "/k" }, LOCAL), { message: /chosen because --kubeconfig is set/ });
            assert.strictEqual(resolveTarget({}, { kubeconfig: LOCAL_KUBECONFIG }, LOCAL).kind, "local");
            assert.strictEqual(external(GITLAB).reason, "KUBECONFIG, CI_REGISTRY, PULUMI_BACKEND_URL are set");
        });

        it("is forced either way by PROD_MIRROR_TARGET", () => {
            assert.deepStrictEqual(resolveTarget({ ...GITLAB, PROD_MIRROR_TARGET: "local" }, {}, LOCAL), { kind: "local", reason: "PROD_MIRROR_TARGET=local" });
            assert.throws(() => resolveTarget({ PROD_MIRROR_TARGET: "external" }, {}, LOCAL), { message: /^an external target \(chosen because PROD_MIRROR_TARGET=external\)/ });
            assert.deepStrictEqual(external({ ...GITLAB, ...SHELLENV, CI_REGISTRY: "127.0.0.1:5000", PROD_MIRROR_TARGET: "external" }).cluster, {
                kind: "kubeconfig",
                kubeconfig: LOCAL_KUBECONFIG,
                context: undefined,
                source: "KUBECONFIG (its current context)",
            }, "the local cluster as an external target, when asked for");
            assert.throws(() => resolveTarget({ PROD_MIRROR_TARGET: "cloud" }, {}, LOCAL), {
                name: "TargetError",
                message: 'PROD_MIRROR_TARGET "cloud" is not a target: set PROD_MIRROR_TARGET=local (the local default) or PROD_MIRROR_TARGET=external, or unset it',
            });
            assert.throws(() => resolveTarget({ PROD_MIRROR_TARGET: "local" }, { kubeconfig: "/k", context: "c" }, LOCAL), {
                message: "--kubeconfig and --context choose an external cluster, but PROD_MIRROR_TARGET=local forces the local default: drop --kubeconfig and --context or unset PROD_MIRROR_TARGET",
            });
        });
    });

    describe("an external target from GitLab's variables", () => {
        it("takes every part from them, and nothing from the local environment", () => {
            assert.deepStrictEqual(external(GITLAB), {
                kind: "external",
                reason: "KUBECONFIG, CI_REGISTRY, PULUMI_BACKEND_URL are set",
                cluster: { kind: "kubeconfig", kubeconfig: "/ci/kubeconfig", context: undefined, source: "KUBECONFIG (its current context)" },
                registry: {
                    server: "registry.gitlab.example",
                    serverSource: "CI_REGISTRY",
                    push: { username: "gitlab-ci-token", password: "job-token", source: "CI_REGISTRY_USER/CI_REGISTRY_PASSWORD" },
                    pull: { username: "gitlab-ci-token", password: "job-token", source: "CI_REGISTRY_USER/CI_REGISTRY_PASSWORD" },
                },
                backend: { kind: "s3", url: "s3://state/mirrors?region=eu-west-1", bucket: "state", prefix: "mirrors/", endpoint: undefined, region: "eu-west-1", forcePathStyle: false },
                secrets: { kind: "passphrase", source: "PULUMI_CONFIG_PASSPHRASE" },
            });
        });

        it("pulls with the deploy token, which outlives the job, when there is one", () => {
            const t = external({ ...GITLAB, CI_DEPLOY_USER: "gitlab+deploy-token-7", CI_DEPLOY_PASSWORD: "dt" });
            assert.deepStrictEqual(t.registry.pull, { username: "gitlab+deploy-token-7", password: "dt", source: "CI_DEPLOY_USER/CI_DEPLOY_PASSWORD" });
            assert.strictEqual(t.registry.push.username, "gitlab-ci-token");
        });

        it("never sends GitLab's credentials to another registry the person named", () => {
            assert.throws(() => resolveTarget({ ...GITLAB, PROD_MIRROR_REGISTRY: "registry.other.example" }, {}, LOCAL), {
                message: /registry credentials for registry\.other\.example: none given; set PROD_MIRROR_REGISTRY_USER and PROD_MIRROR_REGISTRY_PASSWORD \(or pass --registry-password-stdin\)\n/,
            });
        });
    });

    describe("precedence", () => {
        it("registry: PROD_MIRROR_REGISTRY › CI_REGISTRY › ghcr.io in a GitHub job given GITHUB_TOKEN", () => {
            const own = { PROD_MIRROR_REGISTRY_USER: "pm", PROD_MIRROR_REGISTRY_PASSWORD: "pw" };
            assert.strictEqual(external({ ...GITLAB, ...own, PROD_MIRROR_REGISTRY: "r.example:5000" }).registry.server, "r.example:5000");
            const gh = external({ KUBECONFIG: "/k", PULUMI_BACKEND_URL: "file:///state", PULUMI_CONFIG_PASSPHRASE: "", GITHUB_ACTIONS: "true", GITHUB_ACTOR: "octocat", GITHUB_TOKEN: "ghs_x" });
            assert.deepStrictEqual(gh.registry, {
                server: "ghcr.io",
                serverSource: "GITHUB_TOKEN (GitHub's registry)",
                push: { username: "octocat", password: "ghs_x", source: "GITHUB_ACTOR/GITHUB_TOKEN" },
                pull: { username: "octocat", password: "ghs_x", source: "GITHUB_ACTOR/GITHUB_TOKEN" },
            });
            assert.strictEqual(external({ ...GITLAB, GITHUB_ACTIONS: "true", GITHUB_TOKEN: "ghs_x" }).registry.server, "registry.gitlab.example");
        });

        it("push credentials: PROD_MIRROR_REGISTRY_USER/PASSWORD (or the password read from stdin) › CI's", () => {
            const own = external({ ...GITLAB, PROD_MIRROR_REGISTRY_USER: "pm", PROD_MIRROR_REGISTRY_PASSWORD: "pw" });
            assert.deepStrictEqual(own.registry.push, { username: "pm", password: "pw", source: "PROD_MIRROR_REGISTRY_USER/PROD_MIRROR_REGISTRY_PASSWORD" });
            const stdin = external({ ...GITLAB, PROD_MIRROR_REGISTRY_USER: "pm", PROD_MIRROR_REGISTRY_PASSWORD: "pw" }, { registryPassword: "from-stdin" });
            assert.deepStrictEqual(stdin.registry.push, { username: "pm", password: "from-stdin", source: "PROD_MIRROR_REGISTRY_USER/--registry-password-stdin" });
        });

        it("pull credentials: PROD_MIRROR_PULL_USER/PASSWORD › the deploy token › the push credentials", () => {
            const t = external({ ...GITLAB, CI_DEPLOY_USER: "d", CI_DEPLOY_PASSWORD: "dp", PROD_MIRROR_PULL_USER: "puller", PROD_MIRROR_PULL_PASSWORD: "pp" });
            assert.deepStrictEqual(t.registry.pull, { username: "puller", password: "pp", source: "PROD_MIRROR_PULL_USER/PROD_MIRROR_PULL_PASSWORD" });
        });

        it("cluster: --kubeconfig › KUBECONFIG; --context narrows either; alone it means $HOME/.kube/config", () => {
            assert.deepStrictEqual(external(GITLAB, { kubeconfig: "/flag/kc", context: "prod" }).cluster, { kind: "kubeconfig", kubeconfig: "/flag/kc", context: "prod", source: "--kubeconfig and --context" });
            assert.deepStrictEqual(external(GITLAB, { context: "prod" }).cluster, { kind: "kubeconfig", kubeconfig: "/ci/kubeconfig", context: "prod", source: "KUBECONFIG and --context" });
            assert.deepStrictEqual(external({ ...GITLAB, KUBECONFIG: undefined, HOME: "/home/me/" }, { context: "prod" }).cluster, {
                kind: "kubeconfig",
                kubeconfig: "/home/me/.kube/config",
                context: "prod",
                source: "--context (in $HOME/.kube/config)",
            });
        });

        it("cluster: the pod's service account only when PROD_MIRROR_TARGET=external asks for it", () => {
            const pod = { ...GITLAB, KUBECONFIG: undefined, KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };
            assert.deepStrictEqual(external({ ...pod, PROD_MIRROR_TARGET: "external" }).cluster, { kind: "in-cluster", server: "https://10.96.0.1:443", source: "the pod's service account (KUBERNETES_SERVICE_HOST)" });
            assert.throws(() => resolveTarget(pod, {}, LOCAL), { message: /cluster: none given; set KUBECONFIG=\/path\/to\/kubeconfig or pass --kubeconfig PATH/ });
            assert.strictEqual((external({ ...pod, KUBERNETES_SERVICE_HOST: "fd00::1", PROD_MIRROR_TARGET: "external" }).cluster as { server: string }).server, "https://[fd00::1]:443");
        });

        it("secrets: PULUMI_CONFIG_PASSPHRASE › _FILE › PROD_MIRROR_SECRETS_PROVIDER; Pulumi Cloud's own by default there", () => {
            const base = { ...GITLAB, PULUMI_CONFIG_PASSPHRASE: undefined };
            assert.deepStrictEqual(external({ ...base, PULUMI_CONFIG_PASSPHRASE_FILE: "/p", PROD_MIRROR_SECRETS_PROVIDER: "awskms://alias/x" }).secrets, { kind: "passphrase", source: "PULUMI_CONFIG_PASSPHRASE_FILE" });
            assert.deepStrictEqual(external({ ...base, PROD_MIRROR_SECRETS_PROVIDER: "awskms://alias/x?region=eu-west-1" }).secrets, { kind: "url", url: "awskms://alias/x?region=eu-west-1", source: "PROD_MIRROR_SECRETS_PROVIDER" });
            assert.deepStrictEqual(external({ ...base, PULUMI_BACKEND_URL: "https://api.pulumi.com", PULUMI_ACCESS_TOKEN: "pul-x" }).secrets, { kind: "service" });
        });

        it("emulator image: PROD_MIRROR_EMULATOR_IMAGE when set, never the local one", () => {
            assert.strictEqual(external(GITLAB).emulatorImage, undefined);
            assert.strictEqual(external({ ...GITLAB, PROD_MIRROR_EMULATOR_IMAGE: "r/moto:5" }).emulatorImage, "r/moto:5");
        });
    });

    describe("what is missing or wrong, all at once", () => {
        it("KUBECONFIG set but nothing else: names each part and its variable", () => {
            assert.throws(() => resolveTarget({ KUBECONFIG: "/ci/kubeconfig" }, {}, LOCAL), {
                name: "TargetError",
                message:
                    "an external target (chosen because KUBECONFIG is set) needs a cluster, a registry and a state backend; 2 parts are missing or invalid:\n" +
                    "  - registry: none given; set PROD_MIRROR_REGISTRY=host[:port] (GitLab CI sets CI_REGISTRY; a GitHub job with GITHUB_TOKEN uses ghcr.io)\n" +
                    "  - state backend: none given; set PULUMI_BACKEND_URL, e.g. s3://my-bucket/mirrors?region=eu-west-1, file:///var/lib/mirrors or https://api.pulumi.com\n" +
                    "or set PROD_MIRROR_TARGET=local for the local default",
            });
        });

        it("a malformed backend URL, a half-given pair, a registry with a scheme, a bad KMS URL, no passphrase", () => {
            assert.throws(() => resolveTarget({ ...GITLAB, PULUMI_BACKEND_URL: "state-bucket" }, {}, LOCAL), {
                message: /one part is missing or invalid:\n {2}- state backend: PULUMI_BACKEND_URL "state-bucket" is not a usable state backend: it has no scheme/,
            });
            assert.throws(() => resolveTarget({ ...GITLAB, PROD_MIRROR_REGISTRY_USER: "pm" }, {}, LOCAL), {
                message: /- registry credentials: PROD_MIRROR_REGISTRY_USER is set but PROD_MIRROR_REGISTRY_PASSWORD is not: set it or pass --registry-password-stdin\n/,
            });
            assert.throws(() => resolveTarget({ ...GITLAB, PROD_MIRROR_PULL_PASSWORD: "x" }, {}, LOCAL), {
                message: /- registry credentials: PROD_MIRROR_PULL_PASSWORD is set but PROD_MIRROR_PULL_USER is not/,
            });
            assert.throws(() => resolveTarget({ ...GITLAB, CI_REGISTRY: "https://registry.gitlab.example" }, {}, LOCAL), {
                message: /- registry: CI_REGISTRY "https:\/\/registry.gitlab.example" is not a registry host\[:port\] without a scheme/,
            });
            assert.throws(() => resolveTarget({ ...GITLAB, PULUMI_CONFIG_PASSPHRASE: undefined, PROD_MIRROR_SECRETS_PROVIDER: "kms" }, {}, LOCAL), {
                message: /- secrets provider: PROD_MIRROR_SECRETS_PROVIDER "kms" is not a KMS URL/,
            });
            assert.throws(() => resolveTarget({ ...GITLAB, PULUMI_CONFIG_PASSPHRASE: undefined }, {}, LOCAL), {
                message: /- secrets provider: none for s3:\/\/ state; set PULUMI_CONFIG_PASSPHRASE, PULUMI_CONFIG_PASSPHRASE_FILE=\/path\/to\/file, or PROD_MIRROR_SECRETS_PROVIDER=/,
            });
            assert.throws(() => resolveTarget({ ...GITLAB, PULUMI_BACKEND_URL: "https://api.pulumi.com" }, {}, LOCAL), {
                message: /- state backend: PULUMI_BACKEND_URL https:\/\/api.pulumi.com is Pulumi Cloud, which needs PULUMI_ACCESS_TOKEN/,
            });
        });

        it("never echoes a password in an error", () => {
            try {
                resolveTarget({ ...GITLAB, PULUMI_BACKEND_URL: "nope", CI_DEPLOY_PASSWORD: "deploy-secret" }, {}, LOCAL);
                assert.fail("resolved");
            } catch (err) {
                assert.ok(!/job-token|deploy-secret/.test((err as Error).message), (err as Error).message);
            }
        });
    });

    it("describes a target without a password, the backend's user:password redacted", () => {
        const lines = describeTarget(external({ ...GITLAB, PULUMI_BACKEND_URL: "https://me:tok@pulumi.example", PULUMI_ACCESS_TOKEN: "t", PROD_MIRROR_SECRETS_PROVIDER: "awskms://alias/x?region=r" }, { context: "prod" }));
        assert.deepStrictEqual(lines, [
            "target:    external (--context, KUBECONFIG, CI_REGISTRY, PULUMI_BACKEND_URL are set)",
            "cluster:   /ci/kubeconfig context prod (KUBECONFIG and --context)",
            "registry:  registry.gitlab.example (CI_REGISTRY); push as gitlab-ci-token (CI_REGISTRY_USER/CI_REGISTRY_PASSWORD); pull as gitlab-ci-token (CI_REGISTRY_USER/CI_REGISTRY_PASSWORD)",
            "backend:   https://***@pulumi.example (PULUMI_BACKEND_URL)",
            "secrets:   passphrase (PULUMI_CONFIG_PASSPHRASE)",
        ]);
        assert.deepStrictEqual(describeTarget({ kind: "local", reason: "nothing chooses another target" }), ["target:    local default (nothing chooses another target)"]);
    });
});
