// Issue 8, through the CLI on the real local environment: a branch named after another branch's
// derived stack/namespace name cannot reach that mirror. `down` of the forged name finds no mirror
// and leaves the original's namespace and stack alone, `up` of it gets a mirror of its own, and
// branch `ci` never resolves to the CI template.
import * as assert from "assert";
import * as crypto from "crypto";
import { ensureLocalEnv } from "../local/local-env";
import { cli, expectOk } from "./cli-runner";
import { kubectl } from "./cluster";

// Written out here rather than taken from components/naming, so this test checks the CLI against
// the rule, not against itself.
const hash8 = (s: string): string => crypto.createHash("sha256").update(s, "utf8").digest("hex").slice(0, 8);

describe("forged branch names through the CLI (issue 8)", function () {
    const suffix = crypto.randomBytes(3).toString("hex");
    const victim = `names-feature/login-${suffix}`;
    // What the victim maps to: `/` -> `-`, plus the hash of the original. The old rule used a valid
    // branch verbatim, so a branch literally named this got the same stack and namespace.
    const victimStack = `names-feature-login-${suffix}-${hash8(victim)}`;
    const victimNamespace = `pm-${victimStack}`;
    const forged = victimStack;
    const forgedStack = `${forged}-${hash8(forged)}`;
    const forgedNamespace = `pm-${forgedStack}`;
    const commit = "0123456789abcdef0123456789abcdef01234567";
    let env: NodeJS.ProcessEnv;
    let created = false;
    let forgedCreated = false;

    before(function () {
        this.timeout(90 * 60_000);
        env = ensureLocalEnv();
    });

    after(async function () {
        this.timeout(15 * 60_000);
        for (const [branch, made] of [[forged, forgedCreated], [victim, created]] as const) {
            if (made) {
                const r = await cli(env, "down", "--branch", branch);
                if (r.code !== 0) {
                    process.stderr.write(`      cleanup: down of ${branch} exited ${r.code}:\n${r.stderr.slice(-2000)}\n`);
                }
            }
        }
    });

    /** The victim's namespace is there and its stack still answers `outputs` with it. */
    async function assertVictimIntact(): Promise<void> {
        assert.strictEqual(kubectl(env, "get", "namespace", victimNamespace, "-o", "name").trim(), `namespace/${victimNamespace}`);
        const outputs = await cli(env, "outputs", "--branch", victim);
        expectOk(`outputs --branch ${victim}`, outputs);
        assert.strictEqual(JSON.parse(outputs.stdout).namespace, victimNamespace);
    }

    it("brings up the victim's mirror in the stack and namespace the rule gives", async function () {
        this.timeout(30 * 60_000);
        created = true;
        const r = await cli(env, "up", "--branch", victim, "--commit", commit, "--ttl", "1h", "--no-forward");
        expectOk(`up --branch ${victim}`, r);
        assert.match(r.stdout, new RegExp(`^stack: +${victimStack}$`, "m"));
        assert.match(r.stdout, new RegExp(`^namespace: +${victimNamespace}$`, "m"));
    });

    it("down of a branch named like the victim's stack finds no mirror and leaves the victim's alone", async function () {
        this.timeout(10 * 60_000);
        const r = await cli(env, "down", "--branch", forged);
        expectOk(`down --branch ${forged}`, r);
        assert.match(r.stderr, new RegExp(`no mirror of branch ${forged} \\(no stack ${forgedStack} on [^)]*\\); nothing to destroy`));
        await assertVictimIntact();
    });

    it("up of the forged branch gets a stack and namespace of its own, and its down leaves the victim's", async function () {
        this.timeout(30 * 60_000);
        forgedCreated = true;
        const up = await cli(env, "up", "--branch", forged, "--commit", commit, "--ttl", "1h", "--no-forward");
        expectOk(`up --branch ${forged}`, up);
        assert.match(up.stdout, new RegExp(`^stack: +${forgedStack}$`, "m"));
        assert.match(up.stdout, new RegExp(`^namespace: +${forgedNamespace}$`, "m"));
        const down = await cli(env, "down", "--branch", forged);
        expectOk(`down --branch ${forged}`, down);
        forgedCreated = false;
        assert.match(down.stderr, new RegExp(`stack ${forgedStack} removed in .*nothing labelled with it is left`));
        assert.strictEqual(kubectl(env, "get", "namespace", forgedNamespace, "--ignore-not-found").trim(), "");
        await assertVictimIntact();
    });

    it("never resolves branch ci to the CI template stack ci", async function () {
        this.timeout(2 * 60_000);
        // Read-only on purpose: `outputs` names the stack it looked for without touching any.
        const r = await cli(env, "outputs", "--branch", "ci");
        assert.strictEqual(r.code, 2, r.stderr);
        assert.match(r.stderr, /no mirror of branch ci \(stack ci-1b158839\): run 'prod-mirror up --branch ci' first/);
    });

    it("down of the victim itself still destroys its mirror", async function () {
        this.timeout(15 * 60_000);
        const r = await cli(env, "down", "--branch", victim);
        expectOk(`down --branch ${victim}`, r);
        created = false;
        assert.match(r.stderr, new RegExp(`stack ${victimStack} removed in .*nothing labelled with it is left`));
        assert.strictEqual(kubectl(env, "get", "namespace", victimNamespace, "--ignore-not-found").trim(), "");
    });
});
