import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { ConfigMap, Stack } from "@pulumi/pulumi/automation";
import { configureStack, setSecretFromStdin } from "../../cli/stack";

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

describe("setSecretFromStdin", () => {
    let dir: string;
    let savedPath: string | undefined;

    /** A `pulumi` on PATH that records its arguments and standard input, then exits with `code`. */
    function fakePulumi(code: number): void {
        fs.writeFileSync(
            path.join(dir, "pulumi"),
            `#!/usr/bin/env bash\nprintf '%s\\n' "$@" > ${JSON.stringify(path.join(dir, "args"))}\ncat > ${JSON.stringify(path.join(dir, "stdin"))}\n` +
                (code === 0 ? "exit 0\n" : `echo "error: no stack named 'feature-x' found" >&2\nexit ${code}\n`),
            { mode: 0o755 },
        );
    }

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "pm-secret-"));
        savedPath = process.env.PATH;
        process.env.PATH = `${dir}:${savedPath ?? ""}`;
    });
    afterEach(() => {
        process.env.PATH = savedPath;
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("hands the value over on standard input, never on the command line", async () => {
        fakePulumi(0);
        await setSecretFromStdin("feature-x", "prod-mirror:registryPassword", "s3cret value");
        assert.strictEqual(fs.readFileSync(path.join(dir, "stdin"), "utf8"), "s3cret value");
        const args = fs.readFileSync(path.join(dir, "args"), "utf8").trim().split("\n");
        assert.deepStrictEqual(args, ["config", "set", "--secret", "prod-mirror:registryPassword", "--stack", "feature-x", "--non-interactive"]);
    });

    it("fails with pulumi's own message, which never holds the value", async () => {
        fakePulumi(255);
        await assert.rejects(setSecretFromStdin("feature-x", "prod-mirror:registryPassword", "s3cret"), (err: Error) => {
            assert.match(err.message, /^pulumi config set --secret prod-mirror:registryPassword failed for stack feature-x: error: no stack named 'feature-x' found$/);
            return true;
        });
    });
});
