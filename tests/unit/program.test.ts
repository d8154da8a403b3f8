// The whole program (index.ts) under mocks: config in, resources and stack outputs out.
import * as assert from "assert";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { builtImageName, ConfigError, imageTag, KEYS, labelValue, stackName } from "../../components";
import { EMULATOR_IMAGE, PASSWORD, sampleApp } from "./fixtures";
import { inBothModes, isKnown, isSecret, isSecretValue, kubernetesLabelSets, once, RecordingMocks, repoRoot, resolved, settle, STACK, useMocks } from "./mocks";

const INDEX = path.join(repoRoot, "index.ts");
const COMMIT = "3f2a9c1d4e5b6a7980112233445566778899aabb";
// Relative to the clock: index.ts refuses an expiry that has passed.
const EXPIRES_AT = new Date(Math.floor(Date.now() / 1000) * 1000 + 48 * 3_600_000).toISOString();

const BASE_CONFIG: Record<string, string> = {
    branch: "feature/login",
    commit: COMMIT,
    owner: "jane@example.com",
    expiresAt: EXPIRES_AT,
    registryUsername: "ci-bot",
    registryPassword: PASSWORD,
    emulatorImage: EMULATOR_IMAGE,
    app: JSON.stringify({
        services: sampleApp().services.map(({ name, port, image, build, uses, env }) => ({ name, port, image, build, uses, env })),
        cloud: { queues: [{ name: "deal-events" }], buckets: [{ name: "receipts" }], tables: [{ name: "deals", hashKey: "id" }] },
    }),
};
const SECRET_KEYS = ["registryPassword", "awsAccessKeyId", "awsSecretAccessKey"];

type Program = Record<string, pulumi.Output<unknown>>;

/** Runs index.ts afresh with this config (keys without the `prod-mirror:` prefix) in this stack. */
async function run(preview: boolean, config: Record<string, string>, stack = STACK): Promise<{ mocks: RecordingMocks; program: Program }> {
    const mocks = await useMocks(preview, stack);
    pulumi.runtime.setAllConfig(
        Object.fromEntries(Object.entries(config).map(([k, v]) => [`prod-mirror:${k}`, v])),
        SECRET_KEYS.filter((k) => k in config).map((k) => `prod-mirror:${k}`),
    );
    delete require.cache[require.resolve(INDEX)];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require(INDEX) as Program;
    await settle(mocks);
    return { mocks, program };
}

function fails(config: Record<string, string>, message: string): Promise<void> {
    return assert.rejects(
        () => run(false, config),
        (err: Error) => {
            assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
            assert.strictEqual(err.message, message);
            return true;
        },
    );
}

describe("program (index.ts)", () => {
    inBothModes((preview) => {
        const emulated = once(() => run(preview, { ...BASE_CONFIG, kubeconfig: "/tmp/kubeconfig", kubeContext: "prod-mirror-local" }));

        it("exports namespace, service URLs, images, cloud names, expiry and runner env", async () => {
            const { program } = await emulated();
            assert.deepStrictEqual(Object.keys(program).sort(), ["branch", "cloud", "commit", "entryService", "expiresAt", "fidelity", "images", "namespace", "owner", "runnerEnv", "serviceUrls"]);
            const namespace = await resolved(program.namespace);
            assert.match(String(namespace), /^pm-feature-login-[0-9a-f]{8}$/);
            assert.deepStrictEqual(Object.keys((await resolved(program.serviceUrls)) as object), ["api", "worker", "gateway"]);
            assert.strictEqual(await resolved(program.expiresAt), EXPIRES_AT);
            assert.strictEqual(await resolved(program.branch), "feature/login");
            assert.strictEqual(((await resolved(program.cloud)) as { mode: string }).mode, "emulated");
        });

        it("carries no plaintext credential in any stack output", async () => {
            const { program } = await emulated();
            const knownness = await Promise.all(Object.entries(program).map(async ([name, output]) => [name, await isKnown(output)] as const));
            // Only the images carry something computed at creation (the built image's digest), and the
            // fidelity report, which names the image each container gets.
            assert.deepStrictEqual(knownness.filter(([, known]) => !known).map(([name]) => name), preview ? ["fidelity", "images"] : []);
            for (const [name, output] of Object.entries(program)) {
                if (!(await isKnown(output))) {
                    assert.strictEqual(await isSecret(output), false, `output ${name} should not need to be secret`);
                    continue;
                }
                const text = JSON.stringify(await resolved(output));
                assert.ok(!text.includes(PASSWORD), `output ${name} carries the registry password`);
                assert.ok(!text.includes(Buffer.from(`ci-bot:${PASSWORD}`).toString("base64")), `output ${name} carries the registry auth`);
                assert.strictEqual(await isSecret(output), false, `output ${name} should not need to be secret`);
            }
        });

        it("reads the registry password as a secret and sends it to the engine only as one", async () => {
            const { mocks } = await emulated();
            const pull = mocks.registrations.find((r) => r.type === "kubernetes:core/v1:Secret" && r.name === "mirror-registry-pull");
            assert.ok(pull !== undefined && isSecretValue(pull.rawInputs.data));
            const image = mocks.one("docker:index/image:Image", "mirror-worker-image");
            assert.ok(isSecretValue(image.rawInputs.registry));
        });

        it("manages every Kubernetes object through the explicit provider", async () => {
            const { mocks } = await emulated();
            const provider = mocks.one("pulumi:providers:kubernetes", "kubernetes");
            assert.strictEqual(provider.inputs.enableServerSideApply, "true");
            // Custom resources only: the ConfigGroup is a component, whose children carry the provider.
            const objects = mocks.registrations.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
            assert.ok(objects.length >= 15);
            for (const r of objects) {
                assert.match(r.provider ?? "", new RegExp(`^urn:pulumi:${STACK}::prod-mirror::pulumi:providers:kubernetes::kubernetes::`), `${r.type} ${r.name}`);
            }
        });

        // A second stack, as the CLI names a branch's (longer than a label value may be), that deploys
        // images pushed outside Pulumi: one run serves both tests below.
        const otherStack = stackName(`feature/${"very-long-branch-".repeat(5)}name`);
        const external = once(() => run(preview, { ...BASE_CONFIG, branch: "feature/other", imageBuilder: "external" }, otherStack));

        it("labels every Kubernetes object with its stack, so two stacks' objects never share a selector", async () => {
            const other = await external();
            const { mocks } = await emulated();
            const valuesOf = (m: RecordingMocks) => new Set(kubernetesLabelSets(m).map(({ labels }) => labels?.[KEYS.stack]));
            assert.deepStrictEqual([...valuesOf(mocks)], [STACK]);
            assert.deepStrictEqual([...valuesOf(other.mocks)], [labelValue(otherStack)]);
            assert.ok(otherStack.length > 63 && labelValue(otherStack).length <= 63);
            assert.strictEqual(other.mocks.ofType("kubernetes:core/v1:Namespace")[0].inputs.metadata.annotations[KEYS.stack], otherStack, "the annotation keeps the exact stack");
        });

        it("deploys externally pushed images, declaring no docker resource, when imageBuilder is external", async () => {
            const { mocks, program } = await external();
            assert.deepStrictEqual(mocks.registrations.filter((r) => r.type.startsWith("docker:")).map((r) => r.name), []);
            const worker = builtImageName("127.0.0.1:5000", "prod-mirror", "worker", imageTag("feature/other", COMMIT));
            assert.strictEqual(((await resolved(program.images)) as Record<string, string>).worker, worker);
            const deployment = mocks.ofType("kubernetes:apps/v1:Deployment").filter((r) => r.name.endsWith("/worker"));
            assert.deepStrictEqual(deployment.map((r) => r.inputs.spec.template.spec.containers[0].image), [worker]);
        });

        it("passes kubeconfig and context from config to the provider, the kubeconfig as a secret even when set in plain text", async () => {
            const { mocks } = await emulated();
            const provider = mocks.one("pulumi:providers:kubernetes", "kubernetes");
            assert.deepStrictEqual([provider.inputs.kubeconfig, provider.inputs.context], ["/tmp/kubeconfig", "prod-mirror-local"]);
            assert.ok(!SECRET_KEYS.includes("kubeconfig"), "this test sets kubeconfig without --secret");
            assert.strictEqual(isSecretValue(provider.rawInputs.kubeconfig), true, "the provider's kubeconfig input is not secret");
            assert.strictEqual(isSecretValue(provider.rawInputs.context), false);
        });

        it("switches to aws mode from config, with the endpoint and the keys as secrets", async () => {
            const { mocks, program } = await run(preview, {
                ...BASE_CONFIG,
                cloudMode: "aws",
                awsRegion: "eu-west-1",
                awsEndpoint: "http://127.0.0.1:4566",
                awsAccessKeyId: "AKIAEXAMPLE",
                awsSecretAccessKey: "aws-secret-key",
            });
            const provider = mocks.one("pulumi:providers:aws", "mirror-cloud-provider");
            assert.strictEqual(JSON.parse(provider.inputs.endpoints).length, 1);
            assert.ok(isSecretValue(provider.rawInputs.accessKey) && isSecretValue(provider.rawInputs.secretKey));
            assert.strictEqual(mocks.ofType("aws:s3/bucket:Bucket").length, 1);
            if (preview) {
                // It lists the queue URLs, which AWS returns at creation.
                assert.strictEqual(await isKnown(program.runnerEnv), false);
            } else {
                const text = JSON.stringify(await resolved(program.runnerEnv));
                assert.ok(!text.includes("aws-secret-key") && text.includes("http://127.0.0.1:4566"));
            }
            assert.deepStrictEqual(mocks.ofType("aws:iam/user:User").map((r) => r.name), ["mirror-cloud-workload"]);
        });

        it("hands prod-mirror:awsWorkloadIdentity to the workloads' ServiceAccount instead of making a user", async () => {
            const role = "arn:aws:iam::123456789012:role/prod-mirror-workloads";
            const { mocks } = await run(preview, { ...BASE_CONFIG, cloudMode: "aws", awsWorkloadIdentity: role });
            assert.deepStrictEqual(mocks.one("kubernetes:core/v1:ServiceAccount", "mirror-registry-workloads").inputs.metadata.annotations, { "eks.amazonaws.com/role-arn": role });
            assert.deepStrictEqual(mocks.ofType("aws:iam/user:User"), []);
        });
    });

    describe("config errors", () => {
        it("fails with the key, the stack file and an example when the registry password is missing", async () => {
            const { registryPassword: _omitted, ...config } = BASE_CONFIG;
            await fails(
                config,
                `prod-mirror:registryPassword is missing from Pulumi.${STACK}.yaml: the password for ci-bot at 127.0.0.1:5000. ` +
                    "Set it with: pulumi config set --secret prod-mirror:registryPassword s3cr3t",
            );
        });

        it("requires both AWS keys or neither", async () => {
            await fails(
                { ...BASE_CONFIG, awsAccessKeyId: "AKIA" },
                `prod-mirror:awsSecretAccessKey is missing from Pulumi.${STACK}.yaml: set both prod-mirror:awsAccessKeyId and ` +
                    "prod-mirror:awsSecretAccessKey, or neither (to use the ambient AWS credentials). " +
                    "Set it with: pulumi config set --secret prod-mirror:awsSecretAccessKey <value>",
            );
        });

        it("fails on a malformed object value with the key, the parser's reason and an example", async () => {
            // The reason in the middle is V8's JSON.parse message, whose wording varies between Node versions.
            await assert.rejects(
                () => run(false, { ...BASE_CONFIG, overrides: "{replicas: 1" }),
                new RegExp(
                    `^ConfigError: prod-mirror:overrides in Pulumi\\.${STACK}\\.yaml is invalid: expected an object \\(.*JSON.*\\), got "\\{replicas: 1"\\. ` +
                        'Example: prod-mirror:overrides: \\{"api": \\{"replicas": 1, "resources": \\{"limits": \\{"memory": "128Mi"\\}\\}\\}\\}$',
                ),
            );
        });
    });
});
