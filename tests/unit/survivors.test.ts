import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { kubectlEach } from "../../cli/kubectl";
import { survivorsOf } from "../../cli/mirror";

// What `down` finds left of a mirror, with a kubectl that answers as a cluster would: all listings
// at once, the per-namespace fallback for an identity that may not list the whole cluster.
describe("what survives a destroy (survivorsOf) and kubectl calls side by side (kubectlEach)", function () {
    this.timeout(20_000);
    let dir: string;
    let env: NodeJS.ProcessEnv;

    /**
     * A kubectl on PATH answering each call by the first rule whose words all appear in its arguments
     * (`!` first: exit 1 with the rest on stderr), recording every call's start and end in calls.log.
     */
    function fakeKubectl(rules: Array<[string, string]>, sleepSeconds = 0): void {
        const cases = rules
            .map(([words, answer]) => {
                const test = words.split(" ").map((w) => `[[ " $* " == *" ${w} "* ]]`).join(" && ");
                const body = answer.startsWith("!") ? `printf '%s\\n' ${JSON.stringify(answer.slice(1))} >&2; finish 1` : `printf '%b' ${JSON.stringify(answer)}; finish 0`;
                return `if ${test}; then ${body}; fi`;
            })
            .join("\n");
        const script = [
            "#!/usr/bin/env bash",
            `log=${JSON.stringify(path.join(dir, "calls.log"))}`,
            'echo "start $$" >> "$log"',
            `sleep ${sleepSeconds}`,
            'finish() { echo "end $$ $*" >> "$log"; exit "$1"; }',
            cases,
            "finish 0",
        ].join("\n");
        fs.writeFileSync(path.join(dir, "kubectl"), script, { mode: 0o755 });
    }

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "pm-survivors-"));
        env = { ...process.env, PATH: `${dir}:${process.env.PATH ?? ""}` };
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const calls = (): string[] => fs.readFileSync(path.join(dir, "calls.log"), "utf8").trim().split("\n");

    it("finds nothing when the cluster lists nothing labelled with the stack", async () => {
        fakeKubectl([]);
        assert.deepStrictEqual(await survivorsOf("feat-a", "pm-feat-a", env), []);
    });

    it("lists what is labelled with the stack across the cluster, and the namespace the outputs name when it is still there", async () => {
        fakeKubectl([
            ["get namespaces -l prod-mirror.dev/stack=feat-a", ""],
            ["get namespace pm-feat-a", "namespace/pm-feat-a\n"],
            ["-A -l prod-mirror.dev/stack=feat-a", "secret/mirror-registry-pull\n"],
        ]);
        assert.deepStrictEqual(await survivorsOf("feat-a", "pm-feat-a", env), ["secret/mirror-registry-pull", "namespace/pm-feat-a"]);
    });

    it("without the right to list the cluster, looks in each of prod-mirror's namespaces it may read", async () => {
        fakeKubectl([
            ["get namespaces -l prod-mirror.dev/stack=feat-a", "namespace/pm-feat-a\n"],
            ["-A -l", "!Error from server (Forbidden): secrets is forbidden: User cannot list resource at the cluster scope"],
            ["app.kubernetes.io/managed-by=prod-mirror", "namespace/pm-feat-a\nnamespace/pm-other\nnamespace/pm-third\n"],
            ["-n pm-feat-a", "!Error from server (Forbidden): being deleted"],
            ["-n pm-other", "secret/mirror-registry-pull\n"],
            ["-n pm-third", ""],
        ]);
        assert.deepStrictEqual(await survivorsOf("feat-a", undefined, env), ["secret/mirror-registry-pull (in pm-other)", "namespace/pm-feat-a"]);
    });

    it("says what it could not list rather than reporting nothing", async () => {
        fakeKubectl([["get namespaces -l prod-mirror.dev/stack=feat-a", "!Unable to connect to the server"]]);
        const found = await survivorsOf("feat-a", "pm-feat-a", env);
        assert.strictEqual(found.length, 1);
        assert.match(found[0], /could not list namespaces labelled prod-mirror\.dev\/stack=feat-a: Unable to connect/);
    });

    it("kubectlEach answers in the order asked, never more than `atOnce` at a time", async () => {
        fakeKubectl([["get a", "A"], ["get b", "B"], ["get c", "C"], ["get d", "!no d"], ["get e", "E"]], 0.2);
        const results = await kubectlEach(["a", "b", "c", "d", "e"].map((x) => ["get", x]), env, 2);
        assert.deepStrictEqual(results.map((r) => (r.ok ? r.stdout : `failed: ${r.stderr.trim()}`)), ["A", "B", "C", "failed: no d", "E"]);
        let running = 0;
        let most = 0;
        for (const line of calls()) {
            running += line.startsWith("start") ? 1 : -1;
            most = Math.max(most, running);
        }
        assert.strictEqual(most, 2);
        assert.strictEqual(calls().length, 10);
    });
});
