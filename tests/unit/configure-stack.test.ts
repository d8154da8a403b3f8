import * as assert from "assert";
import type { ConfigMap, Stack } from "@pulumi/pulumi/automation";
import { configureStack } from "../../cli/stack";

/** A stack that records each `setAllConfig`; any other call fails the test. */
function recordingStack(): { stack: Stack; writes: ConfigMap[] } {
    const writes: ConfigMap[] = [];
    const stack = { name: "feature-x", setAllConfig: async (config: ConfigMap) => void writes.push(config) } as unknown as Stack;
    return { stack, writes };
}

const SETTINGS = { branch: "feature/x", commit: "0123456789abcdef0123456789abcdef01234567", expiresAt: "2026-11-27T10:00:00Z", installation: "ci-1", registryUsername: "pull", registryPassword: "pw", imageBuilder: "external" as const };

const written = (current: ConfigMap): ConfigMap => ({
    ...current,
    "prod-mirror:branch": { value: "feature/x" },
    "prod-mirror:commit": { value: SETTINGS.commit },
    "prod-mirror:expiresAt": { value: "2026-11-27T10:00:00Z" },
    "prod-mirror:installation": { value: "ci-1" },
    "prod-mirror:registryUsername": { value: "pull" },
    "prod-mirror:imageBuilder": { value: "external" },
    "prod-mirror:appFile": { value: "app/production.yaml" },
});

describe("configureStack", () => {
    it("writes every setting and default a new stack lacks in one set-all", async () => {
        const { stack, writes } = recordingStack();
        // The password is already there: a changed one goes through `pulumi config set --secret` on stdin.
        const current: ConfigMap = { "prod-mirror:registryPassword": { value: "pw", secret: true } };
        const now = await configureStack(stack, SETTINGS, current, { appFile: "app/production.yaml" });
        assert.deepStrictEqual(writes, [{
            "prod-mirror:appFile": { value: "app/production.yaml" },
            "prod-mirror:branch": { value: "feature/x" },
            "prod-mirror:commit": { value: SETTINGS.commit },
            "prod-mirror:expiresAt": { value: "2026-11-27T10:00:00Z" },
            "prod-mirror:installation": { value: "ci-1" },
            "prod-mirror:registryUsername": { value: "pull" },
            "prod-mirror:imageBuilder": { value: "external" },
        }]);
        assert.strictEqual(now["prod-mirror:branch"].value, "feature/x");
        assert.deepStrictEqual(now["prod-mirror:registryPassword"], { value: "pw", secret: true });
    });

    it("writes only what changed: a renewing up moves the expiry alone", async () => {
        const { stack, writes } = recordingStack();
        const current = { ...written({}), "prod-mirror:expiresAt": { value: "2026-11-26T10:00:00Z" }, "prod-mirror:registryPassword": { value: "pw", secret: true } };
        const now = await configureStack(stack, SETTINGS, current, { appFile: "app/production.yaml" });
        assert.deepStrictEqual(writes, [{ "prod-mirror:expiresAt": { value: "2026-11-27T10:00:00Z" } }]);
        assert.strictEqual(now["prod-mirror:expiresAt"].value, "2026-11-27T10:00:00Z");
    });

    it("runs no pulumi process at all when nothing changed", async () => {
        const { stack, writes } = recordingStack();
        const current = { ...written({}), "prod-mirror:registryPassword": { value: "pw", secret: true } };
        assert.deepStrictEqual(await configureStack(stack, SETTINGS, current, { appFile: "app/production.yaml" }), current);
        assert.deepStrictEqual(writes, []);
    });
});
