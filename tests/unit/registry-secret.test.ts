import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { RegistrySecret } from "../../components";
import { PASSWORD } from "./fixtures";
import { inBothModes, isSecret, isSecretValue, settle, useMocks, valueOf } from "./mocks";

describe("RegistrySecret", () => {
    inBothModes((preview) => {
        // Built afresh by each test: a mutation run credits a construction to the one test that ran it, so a
        // construction shared by several tests would be checked by the first of them only.
        const create = async () => {
            const mocks = await useMocks(preview);
            const registry = new RegistrySecret("reg", {
                namespace: "pm-main",
                server: "127.0.0.1:5000",
                username: "ci-bot",
                password: pulumi.secret(PASSWORD),
                labels: { "app.kubernetes.io/managed-by": "prod-mirror" },
            });
            await settle(mocks);
            return { mocks, registry };
        };

        it("builds a kubernetes.io/dockerconfigjson Secret whose decoded content is exactly right", async () => {
            const { mocks } = await create();
            const secret = mocks.one("kubernetes:core/v1:Secret", "reg-pull").inputs;
            assert.strictEqual(secret.type, "kubernetes.io/dockerconfigjson");
            assert.deepStrictEqual(Object.keys(secret.data), [".dockerconfigjson"]);
            const decoded = JSON.parse(Buffer.from(secret.data[".dockerconfigjson"], "base64").toString("utf8"));
            assert.deepStrictEqual(decoded, {
                auths: {
                    "127.0.0.1:5000": {
                        username: "ci-bot",
                        password: PASSWORD,
                        auth: Buffer.from(`ci-bot:${PASSWORD}`).toString("base64"),
                    },
                },
            });
        });

        it("binds the Secret to the workloads' ServiceAccount, which mounts no API token", async () => {
            const { mocks, registry } = await create();
            const account = mocks.one("kubernetes:core/v1:ServiceAccount", "reg-workloads").inputs;
            // The name the engine registered for the Secret (autonamed), not the component's own output.
            const secretName = mocks.kubernetesName("kubernetes:core/v1:Secret", "reg-pull");
            assert.match(secretName, /^reg-pull-[0-9a-f]{8}$/);
            assert.deepStrictEqual(account.imagePullSecrets, [{ name: secretName }]);
            assert.strictEqual(await valueOf(registry.secretName), secretName);
            assert.strictEqual(await valueOf(registry.serviceAccountName), mocks.kubernetesName("kubernetes:core/v1:ServiceAccount", "reg-workloads"));
            assert.strictEqual(account.automountServiceAccountToken, false);
            assert.strictEqual(account.metadata.namespace, "pm-main");
        });

        it("keeps the credential secret end to end and out of every annotation and label", async () => {
            const { mocks, registry } = await create();
            assert.ok(await isSecret(registry.dockerConfigJson), "dockerConfigJson output must be secret");
            assert.ok(isSecretValue(mocks.one("kubernetes:core/v1:Secret", "reg-pull").rawInputs.data), "the Secret's data must reach the engine as a secret");
            assert.strictEqual(await isSecret(registry.secretName), false);
            for (const r of mocks.registrations) {
                const metadata = JSON.stringify([r.inputs.metadata?.annotations ?? {}, r.inputs.metadata?.labels ?? {}]);
                assert.ok(!metadata.includes(PASSWORD) && !metadata.includes(Buffer.from(`ci-bot:${PASSWORD}`).toString("base64")), `${r.type} ${r.name}`);
            }
        });
    });

    it("marks the Secret's data secret even when the caller passes a plain password", async () => {
        const mocks = await useMocks(false);
        const registry = new RegistrySecret("plain", { namespace: "ns", server: "r", username: "u", password: "plain-password" });
        await settle(mocks);
        assert.ok(await isSecret(registry.dockerConfigJson));
        assert.ok(isSecretValue(mocks.one("kubernetes:core/v1:Secret", "plain-pull").rawInputs.data));
    });
});
