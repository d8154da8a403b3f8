// Issue 12, `down` never hangs: an object whose finalizer never clears holds the mirror's namespace,
// and `down` gives up within prod-mirror:deleteTimeout naming it, keeps the stack, and finishes on a
// later run once the object is resolved; the cluster gone entirely (the stack's kubeconfig pointed at
// an address nothing listens on, for these runs only), `down` fails naming the endpoint and keeps the
// stack, and `down --forget-state` removes the stack untouched and lists what may remain, which the
// test then removes with kubectl. Each case prints the figure it establishes.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Stack } from "@pulumi/pulumi/automation";
import { repoRoot } from "../../cli/local-environment";
import { destroyMirror, prepareMirror, useLocalEnvironment, type PreparedMirror } from "../../cli/mirror";
import { findStack } from "../../cli/stack";
import { PROJECT } from "../../components/config-error";
import { labelValue, stackName as stackNameFor } from "../../components/naming";
import { KEYS } from "../../components/manifests";
import { cli, expectOk } from "./cli-runner";
import { eventually, kubectl, kubectlJson } from "./cluster";
import { asClusterAdmin } from "../local/local-env";

const log = (line: string): void => {
    process.stderr.write(`      ${line}\n`);
};
const quiet = { onOutput: (): void => undefined };
const DELETE_TIMEOUT_SECONDS = 45;
const FINALIZER = "prod-mirror.test/hold";
/** Where nothing listens: a connection is refused at once. */
const DEAD_SERVER = "https://127.0.0.1:1";
const seconds = (since: number): number => Math.round((Date.now() - since) / 100) / 10;

describe("down with a stuck finalizer or without its cluster", function () {
    const suffix = crypto.randomBytes(3).toString("hex");
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).trim();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prod-mirror-stuck-down-"));
    let env: NodeJS.ProcessEnv;
    let workingKubeconfig: string;
    /** Mirrors this suite made and has not seen removed, by branch, with their namespace. */
    const alive = new Map<string, { mirror: PreparedMirror; namespace: string; kubeconfig: string }>();

    /** A mirror whose stack reaches the cluster through its own copy of the kubeconfig, so that one copy can be broken alone. */
    async function createMirror(branch: string): Promise<{ stack: Stack; namespace: string; kubeconfig: string }> {
        const mirror = await prepareMirror({ branch, commit }, 1, useLocalEnvironment(), log);
        const kubeconfig = path.join(dir, `${stackNameFor(branch)}.kubeconfig`);
        fs.writeFileSync(kubeconfig, workingKubeconfig, { mode: 0o600 });
        await mirror.stack.setAllConfig({
            [`${PROJECT}:deleteTimeout`]: { value: `${DELETE_TIMEOUT_SECONDS}s` },
            [`${PROJECT}:kubeconfig`]: { value: kubeconfig, secret: true },
        });
        alive.set(branch, { mirror, namespace: "", kubeconfig });
        const up = await mirror.stack.up(quiet);
        const namespace = String(up.outputs.namespace.value);
        alive.set(branch, { mirror, namespace, kubeconfig });
        return { stack: mirror.stack, namespace, kubeconfig };
    }

    /** What of the mirror is still in the cluster: its namespace, and anything labelled with its stack anywhere. */
    function leftovers(branch: string, namespace: string): string[] {
        const selector = `${KEYS.stack}=${labelValue(stackNameFor(branch))}`;
        const labelled = kubectl(asClusterAdmin(env), "get", "all,configmaps,secrets,serviceaccounts,networkpolicies,resourcequotas,limitranges,jobs", "-A", "-l", selector, "-o", "name");
        const ns = kubectl(env, "get", "namespace", namespace, "--ignore-not-found", "-o", "name");
        return `${labelled}${ns}`.split("\n").filter((l) => l.trim() !== "");
    }

    /** A cleanup step that must not stop the next one; what went wrong is logged. */
    function attempt(step: () => unknown): void {
        try {
            step();
        } catch (err) {
            log(`cleanup step failed: ${String(err)}`);
        }
    }

    before(function () {
        this.timeout(10 * 60_000);
        useLocalEnvironment();
        env = process.env;
        workingKubeconfig = fs.readFileSync(env.KUBECONFIG as string, "utf8");
    });

    after(async function () {
        this.timeout(20 * 60_000);
        for (const [branch, { mirror, namespace, kubeconfig }] of alive) {
            log(`cleaning up the mirror of ${branch}`);
            fs.writeFileSync(kubeconfig, workingKubeconfig, { mode: 0o600 });
            if (namespace !== "") {
                attempt(() => kubectl(asClusterAdmin(env), "patch", "configmap/held", "-n", namespace, "--type=merge", "-p", '{"metadata":{"finalizers":null}}'));
            }
            if ((await findStack(stackNameFor(branch))) !== undefined) {
                await destroyMirror(branch, mirror.local, log).catch((err: unknown) => log(`cleanup of ${branch} failed: ${String(err)}`));
            }
            if (namespace !== "") {
                attempt(() => kubectl(env, "delete", "namespace", namespace, "--ignore-not-found", "--wait=true", "--timeout=120s"));
            }
        }
        fs.rmSync(dir, { recursive: true, force: true });
    });

    describe("an object whose finalizer never clears", function () {
        const branch = `down/stuck-${suffix}`;
        const stackName = stackNameFor(branch);
        let namespace: string;

        before(async function () {
            this.timeout(20 * 60_000);
            ({ namespace } = await createMirror(branch));
            const held = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "held", namespace, finalizers: [FINALIZER] }, data: { why: "a controller that is gone" } };
            execFileSync("kubectl", ["create", "-f", "-"], { env, input: JSON.stringify(held), stdio: ["pipe", "ignore", "pipe"] });
        });

        it("makes down give up within deleteTimeout, naming the object, its finalizer and the patch, and keep the stack", async function () {
            this.timeout(10 * 60_000);
            const started = Date.now();
            const r = await cli(env, "down", "--branch", branch);
            const took = seconds(started);
            console.log(`figure: down with a stuck finalizer returned in ${took} s (prod-mirror:deleteTimeout ${DELETE_TIMEOUT_SECONDS}s), naming ConfigMap/held`);
            assert.strictEqual(r.code, 1, `down exited ${r.code}:\n${r.stderr.slice(-3000)}`);
            assert.ok(took >= DELETE_TIMEOUT_SECONDS, `down returned after ${took} s, before the namespace's ${DELETE_TIMEOUT_SECONDS} s were up: it failed for another reason`);
            assert.ok(took < DELETE_TIMEOUT_SECONDS + 120, `down took ${took} s, more than deleteTimeout plus 2 minutes of ordinary work`);
            const report = r.stderr.slice(r.stderr.indexOf(`prod-mirror: the namespace ${namespace}`));
            log(`down said:\n${report}`);
            assert.match(report, new RegExp(`^prod-mirror: the namespace ${namespace} did not go within prod-mirror:deleteTimeout \\(deleted at \\S+Z, phase Terminating\\)\n`));
            assert.match(report, new RegExp(`\n  ConfigMap/held  finalizers: ${FINALIZER}  \\(deleted at \\S+Z\\)\n`));
            assert.match(report, new RegExp(`\n  NamespaceFinalizersRemaining: Some content in the namespace has finalizers remaining: ${FINALIZER} in 1 resource instances\n`));
            assert.ok(report.includes(`\n  kubectl patch configmap/held -n ${namespace} --type=merge -p '{"metadata":{"finalizers":null}}'\n`), report);
            assert.ok(report.endsWith(`run 'prod-mirror down --branch ${branch}' again\n`), report);

            const stack = await findStack(stackName);
            assert.ok(stack !== undefined, "down removed the stack of a mirror whose namespace is still there");
            const types = ((await stack.exportStack()).deployment.resources as Array<{ type: string }>).map((res) => res.type);
            assert.ok(types.includes("kubernetes:core/v1:Namespace"), `the stack no longer records the namespace: ${types.join(", ")}`);
            assert.strictEqual(kubectlJson(env, "get", "namespace", namespace).status.phase, "Terminating");
        });

        it("fails at once naming the endpoint when the stack's cluster is gone, and drops nothing without --forget-state", async function () {
            this.timeout(10 * 60_000);
            const { kubeconfig } = alive.get(branch)!;
            fs.writeFileSync(kubeconfig, workingKubeconfig.replace(/server: \S+/g, `server: ${DEAD_SERVER}`), { mode: 0o600 });
            try {
                const started = Date.now();
                const r = await cli(env, "down", "--branch", branch);
                const took = seconds(started);
                console.log(`figure: down against a cluster that is gone failed in ${took} s naming ${DEAD_SERVER}`);
                assert.strictEqual(r.code, 1, `down exited ${r.code}:\n${r.stderr.slice(-3000)}`);
                assert.match(
                    r.stderr,
                    new RegExp(
                        `prod-mirror: the mirror of branch ${branch} was not destroyed: cannot reach its cluster at ${DEAD_SERVER} \\(.*refused.*\\)\\. ` +
                            `Stack ${stackName} is kept\\. If the cluster is only down, run 'prod-mirror down --branch ${branch}' again once it answers; ` +
                            `if it is gone for good, 'prod-mirror down --branch ${branch} --forget-state' removes the stack without touching the cluster and lists what may remain\n$`,
                    ),
                );
                assert.ok(took < 60, `down took ${took} s to notice the cluster is gone`);
                assert.ok((await findStack(stackName)) !== undefined, "down dropped the stack without --forget-state");
            } finally {
                fs.writeFileSync(kubeconfig, workingKubeconfig, { mode: 0o600 });
            }
        });

        it("finishes on a later down once the finalizer is removed, leaving nothing", async function () {
            this.timeout(10 * 60_000);
            kubectl(asClusterAdmin(env), "patch", "configmap/held", "-n", namespace, "--type=merge", "-p", '{"metadata":{"finalizers":null}}');
            const started = Date.now();
            const r = await cli(env, "down", "--branch", branch);
            console.log(`figure: a later down finished in ${seconds(started)} s once the finalizer was removed`);
            expectOk("down once the finalizer is removed", r);
            assert.match(r.stderr, new RegExp(`stack ${stackName} removed in [0-9.]+s; nothing labelled with it is left\n`));
            assert.strictEqual(await findStack(stackName), undefined);
            assert.deepStrictEqual(leftovers(branch, namespace), []);
            alive.delete(branch);
        });
    });

    describe("the cluster gone for good", function () {
        const branch = `down/gone-${suffix}`;
        const stackName = stackNameFor(branch);
        let namespace: string;
        let kubeconfig: string;

        before(async function () {
            this.timeout(20 * 60_000);
            ({ namespace, kubeconfig } = await createMirror(branch));
            fs.writeFileSync(kubeconfig, workingKubeconfig.replace(/server: \S+/g, `server: ${DEAD_SERVER}`), { mode: 0o600 });
        });

        it("down --forget-state removes the stack without touching the cluster and lists what may remain", async function () {
            this.timeout(10 * 60_000);
            const objectsBefore = kubectlJson(env, "get", "all,configmaps,secrets,serviceaccounts,networkpolicies,resourcequotas,limitranges", "-n", namespace).items.length;
            const started = Date.now();
            const r = await cli(env, "down", "--branch", branch, "--forget-state");
            const took = seconds(started);
            expectOk("down --forget-state", r);
            log(`down --forget-state said:\n${r.stdout}`);
            const lines = r.stdout.split("\n");
            const recorded = Number(/\((\d+) resource\(s\)\):$/.exec(lines[1] ?? "")?.[1]);
            console.log(`figure: down --forget-state removed the stack in ${took} s and listed ${recorded} recorded resources and the namespace ${namespace}`);
            assert.strictEqual(lines[0], `stack ${stackName} removed without touching the cluster at ${DEAD_SERVER}; nothing was deleted.`);
            assert.strictEqual(lines[2], `  namespace: ${namespace}`);
            assert.ok(lines.includes(`    Namespace/${namespace}  (kubernetes:core/v1:Namespace)`), r.stdout);
            assert.ok(lines.some((l) => new RegExp(`^ {4}Deployment/\\S+ -n ${namespace} {2}\\(kubernetes:apps/v1:Deployment\\)$`).test(l)), r.stdout);
            assert.ok(lines.some((l) => new RegExp(`^ {4}ResourceQuota/\\S+ -n ${namespace} {2}\\(kubernetes:core/v1:ResourceQuota\\)$`).test(l)), r.stdout);
            assert.ok(recorded >= 10, `only ${recorded} resources listed:\n${r.stdout}`);
            assert.ok(r.stdout.includes(`if the cluster comes back: kubectl delete namespace ${namespace} removes the objects in it`), r.stdout);
            assert.strictEqual(await findStack(stackName), undefined, "the stack is still on the backend");

            // Nothing was touched: the mirror's objects are all still there, for the person to remove.
            const objectsAfter = kubectlJson(env, "get", "all,configmaps,secrets,serviceaccounts,networkpolicies,resourcequotas,limitranges", "-n", namespace).items.length;
            assert.strictEqual(objectsAfter, objectsBefore, "--forget-state changed what is in the namespace");
            assert.strictEqual(kubectlJson(env, "get", "namespace", namespace).status.phase, "Active");
            alive.delete(branch);

            // What a person then does by hand, with the report's own command: nothing of the mirror remains.
            const cleaned = Date.now();
            kubectl(env, "delete", "namespace", namespace, "--wait=true", "--timeout=180s");
            await eventually(`${namespace} and everything labelled with ${stackName} to be gone`, 60_000, () => (leftovers(branch, namespace).length === 0 ? true : undefined));
            console.log(`figure: the leftovers --forget-state listed were removed by hand with one kubectl delete namespace in ${seconds(cleaned)} s`);
        });
    });
});
