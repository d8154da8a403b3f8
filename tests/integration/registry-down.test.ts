// Registry down during `up` (issue 12), for real and without touching the shared registry: a live
// mirror's stack is pointed (its `prod-mirror:registryServer`, as a user would set it) at a loopback
// port nothing listens on. `up` must fail in seconds naming that endpoint and the setting, leave the
// stack's state as it was (no update recorded, no pending operation, the same resources), and a
// rerun must succeed once the setting names a registry that answers again.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import { repoRoot } from "../../cli/local-environment";
import { awsEndpointDownMessage, registryDownMessage } from "../../cli/registry-api";
import { stackName as stackNameFor } from "../../components/naming";
import { ensureLocalEnv, freePort } from "../local/local-env";
import { cli, expectOk } from "./cli-runner";

describe("registry down during up on the local environment", function () {
    const branch = `emu/registry-${crypto.randomBytes(3).toString("hex")}`;
    const stack = stackNameFor(branch);
    const commit = "0123456789abcdef0123456789abcdef01234567";
    let env: NodeJS.ProcessEnv;
    let created = false;

    const pulumi = (...args: string[]): string =>
        execFileSync("pulumi", [...args, "--stack", stack, "--non-interactive"], { cwd: repoRoot, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    /** The checkpoint as `pulumi stack export` prints it, parsed (throws if it does not parse). */
    const exported = (): { deployment: { pending_operations?: unknown[]; resources?: Array<{ urn: string }> } } => JSON.parse(pulumi("stack", "export"));
    const history = (): unknown[] => JSON.parse(pulumi("stack", "history", "--json"));

    before(function () {
        this.timeout(30 * 60_000);
        env = ensureLocalEnv();
    });

    after(async function () {
        this.timeout(15 * 60_000);
        if (created) {
            const r = await cli(env, "down", "--branch", branch);
            expectOk(`cleanup: down of ${branch}`, r);
        }
    });

    it("fails in seconds naming the endpoint and its setting, leaves the state as it was, and succeeds once the registry answers", async function () {
        this.timeout(30 * 60_000);
        created = true;
        expectOk("the first up", await cli(env, "up", "--branch", branch, "--commit", commit, "--no-forward"));
        const live = pulumi("config", "get", "prod-mirror:registryServer").trim();
        const before = exported();
        const updates = history().length;
        assert.ok((before.deployment.resources ?? []).length >= 20, "the first up left too few resources to compare");

        const dead = `127.0.0.1:${await freePort()}`;
        pulumi("config", "set", "prod-mirror:registryServer", dead);
        const started = Date.now();
        const failed = await cli(env, "up", "--branch", branch, "--commit", commit, "--no-forward");
        const took = (Date.now() - started) / 1000;
        assert.strictEqual(failed.code, 1, failed.stderr.slice(-2000));
        const expected = `prod-mirror: ${registryDownMessage(dead, { kind: "stack", stackName: stack }, `connect ECONNREFUSED ${dead}`)}\n`;
        assert.ok(failed.stderr.endsWith(expected), `stderr does not end with the registry's error:\n${failed.stderr.slice(-2000)}`);
        assert.ok(!failed.stderr.includes("pushed in"), "an image was built and pushed before the check");
        // The bound includes the CLI's own start and its check of the local environment (bash local/env.sh up).
        assert.ok(took < 60, `up took ${took} s to fail`);
        console.log(`figure: up with the registry down failed in ${took.toFixed(1)} s naming ${dead} (prod-mirror:registryServer)`);

        const after = exported();
        assert.deepStrictEqual(after.deployment.pending_operations ?? [], [], "the failed up left pending operations");
        assert.deepStrictEqual((after.deployment.resources ?? []).map((r) => r.urn), (before.deployment.resources ?? []).map((r) => r.urn));
        assert.strictEqual(history().length, updates, "the failed up recorded an update");

        pulumi("config", "set", "prod-mirror:registryServer", live);
        expectOk("the rerun once the registry answers", await cli(env, "up", "--branch", branch, "--commit", commit, "--no-forward"));
        assert.deepStrictEqual(exported().deployment.pending_operations ?? [], []);
    });

    // aws mode is the only path where `up` itself talks to an emulator (the AWS provider, to
    // prod-mirror:awsEndpoint); the emulated mode's emulator is in the cluster (emulator-restart.test.ts).
    // No rerun here: the aws provider plugin cannot be built locally (README, "What cannot be built here").
    it("in aws mode, fails in seconds naming a dead awsEndpoint, before anything is built, the state as it was", async function () {
        this.timeout(10 * 60_000);
        assert.ok(created, "the mirror of the first test is missing");
        const before = exported();
        const updates = history().length;
        const dead = `http://127.0.0.1:${await freePort()}`;
        pulumi("config", "set", "prod-mirror:cloudMode", "aws");
        pulumi("config", "set", "prod-mirror:awsEndpoint", dead);
        try {
            const started = Date.now();
            const failed = await cli(env, "up", "--branch", branch, "--commit", commit, "--no-forward");
            const took = (Date.now() - started) / 1000;
            assert.strictEqual(failed.code, 1, failed.stderr.slice(-2000));
            const expected = `prod-mirror: ${awsEndpointDownMessage(dead, stack, `connect ECONNREFUSED ${dead.slice("http://".length)}`)}\n`;
            assert.ok(failed.stderr.endsWith(expected), `stderr does not end with the endpoint's error:\n${failed.stderr.slice(-2000)}`);
            assert.ok(!failed.stderr.includes("pushed in"), "an image was built and pushed before the check");
            assert.ok(took < 60, `up took ${took} s to fail`);
            console.log(`figure: up with the aws endpoint down failed in ${took.toFixed(1)} s naming ${dead} (prod-mirror:awsEndpoint)`);
            const after = exported();
            assert.deepStrictEqual(after.deployment.pending_operations ?? [], []);
            assert.deepStrictEqual((after.deployment.resources ?? []).map((r) => r.urn), (before.deployment.resources ?? []).map((r) => r.urn));
            assert.strictEqual(history().length, updates, "the failed up recorded an update");
        } finally {
            pulumi("config", "rm", "prod-mirror:awsEndpoint");
            pulumi("config", "set", "prod-mirror:cloudMode", "emulated");
        }
    });
});
