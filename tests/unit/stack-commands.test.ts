import * as assert from "assert";
import { PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import { destroyStack, exportedState, maskedOutputs, stampTags, TAGS, updateStack } from "../../cli/stack";

/** A stack whose workspace records each `pulumi` command and answers it from `answers` (by the command's first two words). */
function recordingStack(answers: Record<string, string> = {}): { stack: Stack; calls: { args: string[]; cwd: string; env: Record<string, string>; signal?: AbortSignal }[]; tags: string[][] } {
    const calls: { args: string[]; cwd: string; env: Record<string, string>; signal?: AbortSignal }[] = [];
    const tags: string[][] = [];
    const workspace = {
        workDir: "/repo",
        pulumiHome: "/home/pulumi",
        envVars: { PULUMI_CONFIG_PASSPHRASE_FILE: "/pass" },
        pulumiCommand: {
            run: (args: string[], cwd: string, env: Record<string, string>, _onOutput?: unknown, _onError?: unknown, signal?: AbortSignal) => {
                calls.push({ args, cwd, env, signal });
                return Promise.resolve({ stdout: answers[args.slice(0, 2).join(" ")] ?? "", stderr: "" });
            },
        },
        listTags: () => Promise.resolve({ [TAGS.createdAt]: "2026-11-26T00:00:00Z", [TAGS.expiresAt]: "old" }),
        setTag: (_stack: string, key: string, value: string) => {
            tags.push([key, value]);
            return Promise.resolve();
        },
    };
    return { stack: { name: "pm-x", workspace } as unknown as Stack, calls, tags };
}

describe("cli: pulumi commands on a stack", () => {
    it("relies on the automation API's PulumiCommand.run, which its type declarations omit (a pinned SDK that drops it fails here)", () => {
        assert.strictEqual(typeof (PulumiCommand.prototype as unknown as { run?: unknown }).run, "function");
    });

    it("runs up and destroy as the automation API does, on the stack, in its workspace, then reads the outputs once, masked", async () => {
        const outputs = JSON.stringify({ namespace: "pm-x", token: "[secret]", urls: { api: "http://api" } });
        const { stack, calls } = recordingStack({ "stack output": outputs });
        const signal = new AbortController().signal;
        const read = await updateStack(stack, { signal });
        assert.deepStrictEqual(read, { namespace: { value: "pm-x", secret: false }, token: { value: "[secret]", secret: true }, urls: { value: { api: "http://api" }, secret: false } });
        await destroyStack(stack);
        assert.deepStrictEqual(calls.map((c) => c.args), [
            ["up", "--yes", "--skip-preview", "--exec-kind", "auto.local", "--stack", "pm-x"],
            ["stack", "output", "--json", "--stack", "pm-x"],
            ["destroy", "--yes", "--skip-preview", "--exec-kind", "auto.local", "--stack", "pm-x"],
        ]);
        assert.deepStrictEqual(calls[0], { args: calls[0].args, cwd: "/repo", env: { PULUMI_HOME: "/home/pulumi", PULUMI_CONFIG_PASSPHRASE_FILE: "/pass" }, signal });
        // No --show-secrets anywhere: a secret output's value never reaches this process.
        assert.ok(calls.every((c) => !c.args.includes("--show-secrets")));
        assert.deepStrictEqual(await maskedOutputs(recordingStack({ "stack output": "{}" }).stack), {});
        // The look at pending operations reads the state with its secrets still encrypted.
        const exporting = recordingStack({ "stack export": JSON.stringify({ version: 3, deployment: { pending_operations: [] } }) });
        assert.deepStrictEqual(await exportedState(exporting.stack), { version: 3, deployment: { pending_operations: [] } });
        assert.deepStrictEqual(exporting.calls.map((c) => c.args), [["stack", "export", "--stack", "pm-x"]]);
    });

    it("stamps only the tags that changed, createdAt only when missing, and asks the backend again only when not told the tags", async () => {
        const { stack, tags } = recordingStack();
        const now = await stampTags(stack, { branch: "feature/x", expiresAt: "old", entryUrl: undefined });
        assert.deepStrictEqual(tags, [[TAGS.branch, "feature/x"]]);
        assert.deepStrictEqual(now, { [TAGS.createdAt]: "2026-11-26T00:00:00Z", [TAGS.expiresAt]: "old", [TAGS.branch]: "feature/x" });
        const again = await stampTags(stack, { entryUrl: "http://127.0.0.1:1234" }, { [TAGS.branch]: "feature/x" }, new Date("2026-11-27T01:02:03.456Z"));
        assert.deepStrictEqual(tags.slice(1), [[TAGS.entryUrl, "http://127.0.0.1:1234"], [TAGS.createdAt, "2026-11-27T01:02:03Z"]]);
        assert.deepStrictEqual(again, { [TAGS.branch]: "feature/x", [TAGS.entryUrl]: "http://127.0.0.1:1234", [TAGS.createdAt]: "2026-11-27T01:02:03Z" });
    });
});
