// Two mirrors side by side whose branch names only differ after the point where a naive
// truncation would cut them: they must get different names everywhere, stay isolated, and
// destroying one must leave the other working.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import { repoRoot } from "../../cli/local-environment";
import { destroyMirror, forwardServices, prepareMirror, useLocalEnvironment, type PreparedMirror } from "../../cli/mirror";
import { kubectl, requestJson } from "./cluster";
import { walkDealFlow } from "./deal-flow";

const log = (line: string): void => {
    process.stderr.write(`      ${line}\n`);
};
const quiet = { onOutput: (): void => undefined };

describe("two mirrors side by side", function () {
    const stem = `it/${crypto.randomBytes(3).toString("hex")}-${"shared-prefix-".repeat(6)}`;
    const branches = [`${stem}one`, `${stem}two`];
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).trim();
    const mirrors: PreparedMirror[] = [];
    const namespaces: string[] = [];
    const urls: Array<Record<string, string>> = [];
    const alive = new Set<string>();
    let env: NodeJS.ProcessEnv;

    before(async function () {
        this.timeout(90 * 60_000);
        const local = useLocalEnvironment();
        env = process.env;
        for (const branch of branches) {
            mirrors.push(await prepareMirror({ branch, commit }, 1, local, log));
        }
    });

    after(async function () {
        this.timeout(20 * 60_000);
        for (const mirror of mirrors.filter((m) => alive.has(m.branch))) {
            log(`cleaning up the mirror of ${mirror.branch}`);
            await destroyMirror(mirror.branch, mirror.local, log);
        }
    });

    it("gives the two branches different stacks", function () {
        assert.notStrictEqual(mirrors[0].stackName, mirrors[1].stackName);
    });

    it("brings both up in their own namespaces", async function () {
        this.timeout(40 * 60_000);
        for (const mirror of mirrors) {
            alive.add(mirror.branch);
            const result = await mirror.stack.up(quiet);
            assert.strictEqual(result.summary.result, "succeeded");
            namespaces.push(String(result.outputs.namespace.value));
            urls.push(result.outputs.serviceUrls.value as Record<string, string>);
        }
        assert.notStrictEqual(namespaces[0], namespaces[1]);
        for (const ns of namespaces) {
            assert.ok(ns.length <= 63, `${ns} is longer than a namespace may be`);
        }
    });

    it("serves the e2e flow in each, each with its own data", async function () {
        this.timeout(10 * 60_000);
        const ids: string[] = [];
        for (const [i, mirror] of mirrors.entries()) {
            const gateway = (await forwardServices(mirror, namespaces[i], urls[i])).find((f) => f.service === "gateway");
            assert.ok(gateway);
            ids.push((await walkDealFlow(gateway.url, `side by side ${i}`)).id);
        }
        // Isolation: the first mirror's deal is unknown to the second's API.
        const other = (await forwardServices(mirrors[1], namespaces[1], urls[1])).find((f) => f.service === "gateway");
        assert.ok(other);
        assert.strictEqual((await requestJson("GET", `${other.url}/api/deals/${ids[0]}`)).status, 404);
    });

    it("destroying one leaves the other working", async function () {
        this.timeout(20 * 60_000);
        assert.deepStrictEqual(await destroyMirror(mirrors[0].branch, mirrors[0].local, log), { existed: true, survivors: [] });
        alive.delete(mirrors[0].branch);
        assert.strictEqual(kubectl(env, "get", "namespace", namespaces[0], "--ignore-not-found").trim(), "");
        const gateway = (await forwardServices(mirrors[1], namespaces[1], urls[1])).find((f) => f.service === "gateway");
        assert.ok(gateway);
        await walkDealFlow(gateway.url, "after the neighbour left");
    });
});
