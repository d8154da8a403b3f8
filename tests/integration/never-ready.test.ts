// A mirror whose services never become ready, through the CLI on the real local environment, with a
// readiness bound of 60 s: `up` fails within the bound (plus the image step and the namespace) and
// names each service with the reason the cluster gives (an image tag that does not exist, a crash
// loop with the container's last log lines, a failing readiness probe); the fixed description then
// converges in place; an update that breaks a running service fails as clearly; `down` removes the
// mirror from that failed state, leaving nothing.
import * as assert from "assert";
import * as crypto from "crypto";
import * as path from "path";
import { useLocalEnvironment } from "../../cli/mirror";
import { findStack, openStack } from "../../cli/stack";
import { DEFAULT_NAME_PREFIX } from "../../components/app-spec";
import { PROJECT } from "../../components/config-error";
import { KEYS } from "../../components/manifests";
import { labelValue, namespaceName, stackName as stackNameFor } from "../../components/naming";
import { cli, expectOk, type Result } from "./cli-runner";
import { kubectl, kubectlJson } from "./cluster";
import { asClusterAdmin } from "../local/local-env";

const FIXTURES = path.join("tests", "integration", "fixtures", "never-ready");
/** The readiness bound the mirror is given: short, so the suite stays fast. */
const BOUND_SECONDS = 60;
/**
 * What `up` may take besides the bound: the image step, the stack's config, the namespace and the
 * supporting objects the workloads wait for, and the diagnosis.
 */
const MARGIN_SECONDS = 90;

const log = (line: string): void => {
    process.stderr.write(`      ${line}\n`);
};

/** The lines of `prod-mirror: ...` the failed run ended with (pulumi's own output comes before it). */
function errorOf(r: Result): string {
    const at = r.stderr.lastIndexOf("prod-mirror: ");
    assert.ok(at >= 0, `no prod-mirror error in:\n${r.stderr.slice(-3000)}`);
    return r.stderr.slice(at);
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("a service that never becomes ready", function () {
    const branch = `it/ready-${crypto.randomBytes(3).toString("hex")}`;
    const stackName = stackNameFor(branch);
    const namespace = namespaceName(branch, DEFAULT_NAME_PREFIX);
    const commit = "0123456789abcdef0123456789abcdef01234567";
    let env: NodeJS.ProcessEnv;
    let destroyed = false;

    /** `prod-mirror up` of the branch with production's description from `file`, timed. */
    async function upWith(file: string, ...flags: string[]): Promise<{ result: Result; seconds: number }> {
        // Set before `up`, which keeps a stack's own appFile.
        const stack = await openStack(stackName);
        await stack.setConfig(`${PROJECT}:appFile`, { value: path.join(FIXTURES, file) });
        const started = Date.now();
        const result = await cli(env, "up", "--branch", branch, "--commit", commit, "--ttl", "2h", "--no-forward", ...flags);
        return { result, seconds: (Date.now() - started) / 1000 };
    }

    before(function () {
        this.timeout(30 * 60_000);
        useLocalEnvironment();
        env = process.env;
    });

    after(async function () {
        this.timeout(15 * 60_000);
        if (!destroyed) {
            const r = await cli(env, "down", "--branch", branch);
            log(`cleanup: down of ${branch} exited ${r.code}${r.code === 0 ? "" : `:\n${r.stderr.slice(-2000)}`}`);
        }
    });

    it("fails up within the bound, naming each service and the reason the cluster gives", async function () {
        this.timeout(15 * 60_000);
        const { result, seconds } = await upWith("broken.yaml", "--ready-timeout", `${BOUND_SECONDS}s`);
        assert.strictEqual(result.code, 1, `up exited ${result.code}:\n${result.stderr.slice(-3000)}`);
        const error = errorOf(result);
        log(`up failed after ${seconds.toFixed(1)}s:\n${error}`);
        assert.ok(error.startsWith(`prod-mirror: pulumi up failed: 3 workload(s) in namespace ${namespace} were not ready within the ${BOUND_SECONDS} s bound (prod-mirror:readyTimeoutSeconds):\n`), error);
        assert.ok(seconds < BOUND_SECONDS + MARGIN_SECONDS, `up took ${seconds.toFixed(1)}s, more than the ${BOUND_SECONDS} s bound + ${MARGIN_SECONDS} s`);

        // (1) The tag that does not exist: the registry's answer, with the image.
        const pull = new RegExp(
            `^  Deployment bad-tag: (ErrImagePull|ImagePullBackOff): container bad-tag cannot pull image ${escape("127.0.0.1:5000/prod-mirror/crash:no-such-tag")}: ` +
                `Failed to pull image "${escape("127.0.0.1:5000/prod-mirror/crash:no-such-tag")}": .*not found`,
            "m",
        );
        assert.match(error, pull);
        console.log(`figure: up failed in ${seconds.toFixed(0)} s (bound ${BOUND_SECONDS} s) naming ${pull.exec(error)![1]} for Deployment bad-tag`);

        // (2) The crash loop: the exit code and the container's own last words.
        assert.match(
            error,
            /^ {2}Deployment crash: CrashLoopBackOff: container crash exited with code 1 \(Error\) and was restarted [1-9][0-9]* times; its last log lines:\n {4}\| environment variable DEALS_TABLE is not set; the mirror's service description must wire it$/m,
        );
        console.log(`figure: up failed in ${seconds.toFixed(0)} s (bound ${BOUND_SECONDS} s) naming CrashLoopBackOff for Deployment crash, with its last log line`);

        // (3) The readiness probe: the kubelet's own message, from the startup probe the mirror gives a
        // container with a readiness probe alone (probe-period), which checks the same path.
        assert.match(error, /^ {2}Deployment unready: ReadinessProbeFailed: container unready runs but is not ready: Startup probe failed: HTTP probe failed with statuscode: 404$/m);
        console.log(`figure: up failed in ${seconds.toFixed(0)} s (bound ${BOUND_SECONDS} s) naming the failing readiness probe of Deployment unready`);

        assert.match(error, new RegExp(`run 'prod-mirror up --branch ${escape(branch)}' again; if it is only slow, raise the bound with --ready-timeout`));
        // The emulator, ready, is not named.
        assert.deepStrictEqual(error.split("\n").filter((l) => /^ {2}Deployment /.test(l)).map((l) => l.split(":")[0].trim()), ["Deployment bad-tag", "Deployment crash", "Deployment unready"]);
    });

    it("converges in place once the description is fixed, keeping the bound", async function () {
        this.timeout(15 * 60_000);
        const { result, seconds } = await upWith("fixed.yaml");
        expectOk("up with the fixed description", result);
        console.log(`figure: up converged in ${seconds.toFixed(0)} s after the failed up, the description fixed`);
        const stack = await openStack(stackName);
        assert.strictEqual((await stack.getConfig(`${PROJECT}:readyTimeoutSeconds`)).value, String(BOUND_SECONDS));
        const deployments = kubectlJson(env, "get", "deployments", "-n", namespace).items as Array<{ metadata: { name: string }; status: { readyReplicas?: number } }>;
        assert.deepStrictEqual(
            deployments.filter((d) => ["bad-tag", "crash", "unready"].includes(d.metadata.name)).map((d) => [d.metadata.name, d.status.readyReplicas]),
            [["bad-tag", 1], ["crash", 1], ["unready", 1]],
        );
    });

    it("fails an update that breaks a running service, naming it while its old pod still serves", async function () {
        this.timeout(15 * 60_000);
        const bound = 20;
        const { result, seconds } = await upWith("broken-update.yaml", "--ready-timeout", `${bound}s`);
        assert.strictEqual(result.code, 1, `up exited ${result.code}:\n${result.stderr.slice(-3000)}`);
        const error = errorOf(result);
        log(`update failed after ${seconds.toFixed(1)}s:\n${error}`);
        assert.match(
            error,
            new RegExp(
                `^prod-mirror: pulumi up failed: 1 workload\\(s\\) in namespace ${namespace} were not ready within the ${bound} s bound \\(prod-mirror:readyTimeoutSeconds\\):\n` +
                    `  Deployment bad-tag: (ErrImagePull|ImagePullBackOff): container bad-tag cannot pull image ${escape("127.0.0.1:5000/prod-mirror/bad-tag:no-such-tag")}: `,
            ),
        );
        console.log(`figure: an update to a missing tag failed in ${seconds.toFixed(0)} s (bound ${bound} s) naming Deployment bad-tag`);
        // The old pod kept serving through the failed rollout: the diagnosis named the new one.
        const live = kubectlJson(env, "get", "deployment", "bad-tag", "-n", namespace);
        assert.deepStrictEqual([live.status.readyReplicas, live.status.updatedReplicas, live.status.unavailableReplicas], [1, 1, 1]);
    });

    it("removes the mirror with down from the failed state, leaving nothing", async function () {
        this.timeout(15 * 60_000);
        const started = Date.now();
        const down = await cli(env, "down", "--branch", branch);
        expectOk("down", down);
        destroyed = true;
        const seconds = (Date.now() - started) / 1000;
        console.log(`figure: down from a failed up took ${seconds.toFixed(0)} s and left nothing`);
        const selector = `${KEYS.stack}=${labelValue(stackName)}`;
        assert.strictEqual(kubectl(asClusterAdmin(env), "get", "all,secrets,configmaps,serviceaccounts,jobs,namespaces", "-A", "-l", selector, "-o", "name").trim(), "");
        assert.strictEqual(kubectl(env, "get", "namespace", namespace, "--ignore-not-found", "-o", "name").trim(), "");
        assert.strictEqual(await findStack(stackName), undefined, "the stack is still on the backend");
    });
});
