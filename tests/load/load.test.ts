// `npm run test:load` (not part of `npm test`): N mirrors (1, 5, 10) brought up at once from separate
// branches through the CLI on the one local cluster, checked ready and isolated, taken down at once
// and checked gone to the last object; then `ls` and `reap --dry-run` against 50 stacks. Writes
// docs/load.md. Everything runs under the installation and mirrors directory of tests/own-mirrors-dir.ts.
//
// The node has 2 CPUs and a mirror of the sample app requests about 450m: only some of 5 or 10 fit.
// The test does not shrink the mirrors to make them fit (their requests are production's, which is
// the point of a mirror). It expects what the scheduler really does: every up either succeeds or
// waits with a pod the scheduler reports Unschedulable for lack of CPU, and no more succeed than the
// unrequested CPU had room for. An up found waiting like that is interrupted (SIGINT, as Ctrl-C) and
// taken down with the others: Pulumi alone would wait 10 minutes per Deployment before failing.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { repoRoot } from "../../cli/local-environment";
import { mirrorKey } from "../../components/branch-context";
import { labelValue, stackName as stackNameFor } from "../../components/naming";
import { freeCpu, podCpuRequest } from "../../bench/capacity";
import { cli as timedCli } from "../../bench/run";
import { envFor, machineFacts, makeListedStacks } from "../../bench/stacks";
import { ensureLocalEnv } from "../local/local-env";
import { cli, start, type Result, type Run } from "../integration/cli-runner";
import { kubectl, kubectlJson } from "../integration/cluster";
import { renderLoadReport, type LevelFigures, type ListingFigures } from "./load-report";


const LEVELS = [1, 5, 10];
const LISTED_STACKS = 50;
/** An up whose mirror has had an unschedulable pod this long, with every other up settled or waiting too, waits for CPU nobody frees. */
const STUCK_MS = 90_000;
/** No level's ups may take longer than this in all. */
const UP_BOUND_MS = 20 * 60_000;
const LABEL_KINDS = "deployments,replicasets,pods,services,jobs,secrets,configmaps,serviceaccounts,networkpolicies,resourcequotas,limitranges,roles,rolebindings";

const log = (line: string): void => {
    process.stderr.write(`      [${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const stackOf = (branch: string): string => stackNameFor(mirrorKey(branch));

function meminfoKiB(field: string): number {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(fs.readFileSync("/proc/meminfo", "utf8"));
    if (m === null) {
        throw new Error(`/proc/meminfo has no ${field} line`);
    }
    return Number(m[1]);
}
const GiB = (kib: number): number => kib / 2 ** 20;

/** The machine's memory in use (MemTotal - MemAvailable), sampled every second until stop(). */
function sampleMemory(): { before: number; stop: () => number } {
    const total = meminfoKiB("MemTotal");
    const before = total - meminfoKiB("MemAvailable");
    let peak = before;
    const timer = setInterval(() => {
        peak = Math.max(peak, total - meminfoKiB("MemAvailable"));
    }, 1000);
    const stop = (): number => {
        clearInterval(timer);
        return GiB(peak);
    };
    return { before: GiB(before), stop };
}

describe("load: N mirrors at once on one cluster", function () {
    const id = crypto.randomBytes(2).toString("hex");
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).trim();
    const alive = new Set<string>();
    const stackFiles = new Set<string>();
    const levels: LevelFigures[] = [];
    const notes: string[] = [];
    let listing: ListingFigures | undefined;
    let perMirrorCpu: number | undefined;
    let startFreeCpu: number | undefined;
    let env: NodeJS.ProcessEnv;
    let installation: string;

    const clusterFreeCpu = (): number => freeCpu(kubectlJson(env, "get", "nodes").items, kubectlJson(env, "get", "pods", "-A").items);
    /** Namespace → its stack label, for this run's mirrors. */
    const ourNamespaces = (): Map<string, string> =>
        new Map(kubectlJson(env, "get", "namespaces", "-l", `prod-mirror.dev/installation=${installation}`).items
            .map((n: any) => [n.metadata.name as string, n.metadata.labels["prod-mirror.dev/stack"] as string]));

    before(function () {
        this.timeout(30 * 60_000);
        env = ensureLocalEnv();
        installation = env.PROD_MIRROR_INSTALLATION ?? "";
        assert.match(installation, /^test-/, "tests/own-mirrors-dir.ts did not give the run an installation of its own");
        startFreeCpu = clusterFreeCpu();
        log(`run ${id}: installation ${installation}, ${startFreeCpu}m CPU unrequested on the cluster`);
        notes.push("isolation is checked on the live objects: every object of the run sits in its own stack's namespace, each namespace holds only its stack's objects, " +
            "each mirror's service URLs point into its own namespace, and its NetworkPolicies (default deny, same namespace, DNS) name no other namespace or address block; " +
            "the local cluster's bridge CNI does not enforce NetworkPolicies, so a pod of one mirror can still reach another's service here (an enforcing CNI blocks it)");
    });

    after(async function () {
        this.timeout(30 * 60_000);
        if (alive.size > 0) {
            log(`cleaning up: down of ${[...alive].join(", ")}`);
            await Promise.all([...alive].map(async (branch) => {
                const r = await cli(env, "down", "--branch", branch);
                log(`cleanup: down --branch ${branch} exited ${r.code}${r.code === 0 ? "" : `:\n${r.stderr.slice(-1500)}`}`);
            }));
        }
        for (const file of stackFiles) {
            fs.rmSync(file, { force: true });
        }
        if (levels.length > 0) {
            const facts = await machineFacts(env);
            const date = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
            const report = renderLoadReport({ date, command: "npm run test:load", ...facts, perMirrorCpu, freeCpu: startFreeCpu, levels, listing, notes });
            fs.writeFileSync(path.join(repoRoot, "docs", "load.md"), report);
            log(`docs/load.md written:\n${report}`);
        }
    });

    it(`lists and dry-run reaps ${LISTED_STACKS} stacks on the backend`, async function () {
        this.timeout(30 * 60_000);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `prod-mirror-load-stacks-${id}-`));
        try {
            const stacksEnv = envFor(path.join(dir, "mirrors"), installation);
            const names = Array.from({ length: LISTED_STACKS }, (_, i) => `load-${id}-s${String(i + 1).padStart(3, "0")}`);
            const made = Date.now();
            await makeListedStacks(stacksEnv, names, stackFiles);
            log(`${LISTED_STACKS} stacks made in ${((Date.now() - made) / 1000).toFixed(1)} s`);
            const figures: ListingFigures = { stacks: LISTED_STACKS, lsSeconds: [], reapDryRunSeconds: [] };
            listing = figures;
            for (let i = 0; i < 2; i++) {
                const listed = await timedCli(stacksEnv, "ls", "--json");
                figures.lsSeconds.push(listed.seconds);
                assert.deepStrictEqual(JSON.parse(listed.stdout).map((r: { stack: string }) => r.stack).sort(), names);
                const reaped = await timedCli(stacksEnv, "reap", "--dry-run");
                figures.reapDryRunSeconds.push(reaped.seconds);
                // Each stack is a day from expiry: every one is looked at and kept (other installations'
                // namespaces on the shared cluster are listed too, as not this run's).
                const kept = names.filter((name) => new RegExp(`^stack +${name} +stack=${name} .* -> kept$`, "m").test(reaped.stdout));
                assert.deepStrictEqual(kept, names, reaped.stdout.slice(-1500));
                assert.match(reaped.stdout, new RegExp(`^reap \\(dry run\\): [0-9]+ item\\(s\\): ${LISTED_STACKS} kept(, [0-9]+ not provably ours)?$`, "m"), reaped.stdout.slice(-500));
            }
            log(`${LISTED_STACKS} stacks: ls ${figures.lsSeconds.map((x) => x.toFixed(1)).join(", ")} s, reap --dry-run ${figures.reapDryRunSeconds.map((x) => x.toFixed(1)).join(", ")} s`);
        } finally {
            for (const file of stackFiles) {
                fs.rmSync(file, { force: true });
            }
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    for (const n of LEVELS) {
        it(`brings up ${n} mirror(s) at once: each ready or clearly unschedulable, isolated, then all gone`, async function () {
            this.timeout(60 * 60_000);
            const branches = Array.from({ length: n }, (_, i) => `load-${id}-n${n}-${i + 1}`);
            const stacks = new Map(branches.map((b) => [b, labelValue(stackOf(b))]));
            const fit = perMirrorCpu === undefined ? undefined : Math.floor(clusterFreeCpu() / perMirrorCpu);
            const memory = sampleMemory();
            const started = Date.now();
            const runs = new Map<string, Run>();
            const results = new Map<string, Result>();
            const exitedAt = new Map<string, number>();
            for (const branch of branches) {
                alive.add(branch);
                const run = start(env, "up", "--branch", branch, "--commit", commit, "--ttl", "2h", "--no-forward");
                runs.set(branch, run);
                void run.done.then((r) => {
                    results.set(branch, r);
                    exitedAt.set(branch, Date.now());
                });
            }
            log(`N=${n}: ${n} up(s) started${fit === undefined ? "" : `; ${fit} fit the unrequested CPU`}`);

            // Until every up exited, or the ones left have each waited STUCK_MS on a pod the scheduler cannot place.
            const stuckSince = new Map<string, number>();
            const stuckReason = new Map<string, string>();
            let stuck: string[] = [];
            for (;;) {
                await sleep(5000);
                const waiting = branches.filter((b) => !results.has(b));
                if (waiting.length === 0) {
                    break;
                }
                const byStack = new Map([...ourNamespaces()].map(([ns, stack]) => [stack, ns]));
                const unschedulable = new Map<string, string>();
                for (const pod of kubectlJson(env, "get", "pods", "-A").items) {
                    const scheduled = pod.status?.conditions?.find((c: any) => c.type === "PodScheduled");
                    if (pod.status?.phase === "Pending" && scheduled?.status === "False" && scheduled.reason === "Unschedulable") {
                        unschedulable.set(pod.metadata.namespace, `pod ${pod.metadata.name}: ${scheduled.message}`);
                    }
                }
                const now = Date.now();
                for (const branch of waiting) {
                    const reason = unschedulable.get(byStack.get(stacks.get(branch)!) ?? "");
                    if (reason === undefined) {
                        stuckSince.delete(branch);
                    } else {
                        stuckSince.set(branch, stuckSince.get(branch) ?? now);
                        stuckReason.set(branch, reason);
                    }
                }
                if (waiting.every((b) => now - (stuckSince.get(b) ?? now) >= STUCK_MS)) {
                    stuck = waiting;
                    break;
                }
                if (now - started > UP_BOUND_MS) {
                    stuck = waiting;
                    notes.push(`N=${n}: ${waiting.length} up(s) still running after ${UP_BOUND_MS / 60_000} min without an unschedulable pod`);
                    break;
                }
            }
            const upSeconds = (Date.now() - started) / 1000;
            for (const branch of stuck) {
                log(`N=${n}: ${branch} waits: ${stuckReason.get(branch) ?? "(no unschedulable pod)"}; interrupting its up`);
                process.kill(runs.get(branch)!.child.pid!, "SIGINT");
            }
            await Promise.all(stuck.map((b) => runs.get(b)!.done));

            const ready = branches.filter((b) => !stuck.includes(b) && results.get(b)?.code === 0);
            const failed = branches.filter((b) => !stuck.includes(b) && results.get(b)?.code !== 0);
            const lastReadySeconds = Math.max(0, ...ready.map((b) => (exitedAt.get(b)! - started) / 1000));
            for (const b of failed) {
                log(`N=${n}: up of ${b} exited ${results.get(b)?.code}:\n${results.get(b)?.stderr.slice(-2000)}`);
            }
            log(`N=${n}: ${ready.length} ready (last after ${lastReadySeconds.toFixed(1)} s), ${stuck.length} unschedulable, ${failed.length} failed; settled after ${upSeconds.toFixed(1)} s`);

            // Checked while everything is up; the downs run whatever the checks found.
            const problems: string[] = [];
            try {
                problems.push(...checkLevel(n, fit, ready, failed, stuck, stuckReason));
                problems.push(...checkReadyAndIsolated(ready, stacks));
                if (perMirrorCpu === undefined && ready.length === 1) {
                    perMirrorCpu = mirrorRequest(stacks.get(ready[0])!);
                    log(`one mirror requests ${perMirrorCpu}m CPU`);
                }
            } catch (err) {
                problems.push(`the checks themselves failed: ${err instanceof Error ? err.message : String(err)}`);
            }

            const downStarted = Date.now();
            const downs = await Promise.all(branches.map(async (b) => [b, await cli(env, "down", "--branch", b)] as const));
            const downSeconds = (Date.now() - downStarted) / 1000;
            for (const [b, r] of downs) {
                if (r.code === 0) {
                    alive.delete(b);
                } else {
                    problems.push(`down --branch ${b} exited ${r.code}: ${r.stderr.slice(-1500)}`);
                }
            }
            const leftovers = leftoversOf(branches, stacks);
            problems.push(...leftovers);
            const memoryPeakGiB = memory.stop();
            log(`N=${n}: all downs in ${downSeconds.toFixed(1)} s, ${leftovers.length} leftover(s); memory used ${memory.before.toFixed(1)} GiB before, peak ${memoryPeakGiB.toFixed(1)} GiB`);
            levels.push({
                n, fit, ready: ready.length, unschedulable: stuck.length, failed: failed.length, upSeconds, lastReadySeconds, downSeconds,
                memoryBeforeGiB: memory.before, memoryPeakGiB, leftovers: leftovers.length,
            });
            if (stuck.length > 0) {
                notes.push(`N=${n}: ${stuck.length} up(s) waited on the scheduler, e.g. ${stuckReason.get(stuck[0]) ?? "?"}`);
            }
            assert.deepStrictEqual(problems, []);
        });
    }

    /** What one level must show: all ready when they fit, else only ready or unschedulable for lack of CPU, no more ready than fit. */
    function checkLevel(n: number, fit: number | undefined, ready: string[], failed: string[], stuck: string[], reasons: Map<string, string>): string[] {
        const problems: string[] = [];
        if (failed.length > 0) {
            problems.push(`${failed.length} up(s) failed on their own: ${failed.join(", ")}`);
        }
        if (fit === undefined || n <= fit) {
            if (ready.length !== n) {
                problems.push(`${n} mirror(s) fit the cluster's unrequested CPU (${fit ?? "not measured yet"}) but only ${ready.length} became ready`);
            }
            return problems;
        }
        if (ready.length > fit) {
            problems.push(`${ready.length} mirrors became ready though the CPU had room for ${fit}: the capacity figure is wrong`);
        }
        for (const b of stuck) {
            if (!/Insufficient cpu/.test(reasons.get(b) ?? "")) {
                problems.push(`the up of ${b} waited, but not for CPU: ${reasons.get(b) ?? "no unschedulable pod"}`);
            }
        }
        return problems;
    }

    /** Every ready mirror: its pods Ready, its outputs pointing into its own namespace, its objects only its own, its policies admitting no other namespace. */
    function checkReadyAndIsolated(ready: string[], stacks: Map<string, string>): string[] {
        const problems: string[] = [];
        const namespaces = ourNamespaces();
        const objects = kubectlJson(env, "get", LABEL_KINDS, "-A", "-l", `prod-mirror.dev/installation=${installation}`).items;
        // One namespace per stack, and every object labelled with this run's installation in the namespace of its own stack.
        const nsOfStack = new Map([...namespaces].map(([ns, stack]) => [stack, ns]));
        for (const o of objects) {
            const stack = o.metadata.labels?.["prod-mirror.dev/stack"];
            if (nsOfStack.get(stack) !== o.metadata.namespace) {
                problems.push(`${o.kind}/${o.metadata.name} in ${o.metadata.namespace} is labelled with stack ${stack}, whose namespace is ${nsOfStack.get(stack)}`);
            }
        }
        for (const branch of ready) {
            const ns = nsOfStack.get(stacks.get(branch)!);
            if (ns === undefined) {
                problems.push(`no namespace labelled with the stack of ${branch}`);
                continue;
            }
            const inNs = kubectlJson(env, "get", "deployments,services,secrets,networkpolicies", "-n", ns).items
                .filter((o: any) => !(o.kind === "Secret" && o.type === "kubernetes.io/service-account-token"));
            const foreign = inNs.filter((o: any) => o.metadata.labels?.["prod-mirror.dev/stack"] !== stacks.get(branch)).map((o: any) => `${o.kind}/${o.metadata.name}`);
            if (foreign.length > 0) {
                problems.push(`${ns} holds objects not of its stack: ${foreign.join(", ")}`);
            }
            if (inNs.filter((o: any) => o.kind === "Deployment").length < 4) {
                problems.push(`${ns} has fewer than 4 Deployments (3 services and the emulator)`);
            }
            const pods = kubectlJson(env, "get", "pods", "-n", ns).items.filter((p: any) => p.status.phase !== "Succeeded");
            const unready = pods.filter((p: any) => !p.status.conditions?.some((c: any) => c.type === "Ready" && c.status === "True")).map((p: any) => p.metadata.name);
            if (unready.length > 0) {
                problems.push(`${ns}: pods not Ready after a successful up: ${unready.join(", ")}`);
            }
            // The policies promise traffic only within the namespace (plus DNS): no peer names another
            // namespace or an address block. The local bridge CNI does not enforce them (README), so
            // their shape is what can be checked here.
            for (const policy of inNs.filter((o: any) => o.kind === "NetworkPolicy")) {
                const peers = [...(policy.spec.ingress ?? []).flatMap((r: any) => r.from ?? []), ...(policy.spec.egress ?? []).flatMap((r: any) => r.to ?? [])];
                const open = peers.filter((p: any) => p.namespaceSelector !== undefined || p.ipBlock !== undefined || p.podSelector === undefined);
                if (open.length > 0) {
                    problems.push(`${ns}: NetworkPolicy ${policy.metadata.name} admits peers outside the namespace: ${JSON.stringify(open)}`);
                }
            }
            if (!inNs.some((o: any) => o.kind === "NetworkPolicy" && Object.keys(o.spec.podSelector).length === 0 && (o.spec.ingress ?? []).length === 0 && (o.spec.egress ?? []).length === 0)) {
                problems.push(`${ns}: no default-deny NetworkPolicy`);
            }
            const urls = Object.values(JSON.parse(execFileSync(process.execPath, [path.join(repoRoot, "bin", "prod-mirror.js"), "outputs", "--branch", branch], { cwd: repoRoot, env, encoding: "utf8" })).serviceUrls ?? {}) as string[];
            const elsewhere = urls.filter((u) => !u.includes(`.${ns}.svc.`));
            if (urls.length === 0 || elsewhere.length > 0) {
                problems.push(`the outputs of ${branch} name services outside ${ns}: ${urls.length === 0 ? "(none at all)" : elsewhere.join(", ")}`);
            }
        }
        return problems;
    }

    /** The CPU one mirror's running pods request, as the scheduler counts it. */
    function mirrorRequest(stack: string): number {
        const ns = new Map([...ourNamespaces()].map(([n, s]) => [s, n])).get(stack);
        return kubectlJson(env, "get", "pods", "-n", ns ?? "").items
            .filter((p: any) => p.status.phase !== "Succeeded" && p.status.phase !== "Failed")
            .reduce((sum: number, p: any) => sum + podCpuRequest(p.spec), 0);
    }

    /** Anything of these branches' mirrors still there: namespaces, labelled objects, stacks on the backend. */
    function leftoversOf(branches: string[], stacks: Map<string, string>): string[] {
        const left: string[] = [];
        for (const branch of branches) {
            const selector = `prod-mirror.dev/stack=${stacks.get(branch)}`;
            left.push(...kubectl(env, "get", `namespaces,${LABEL_KINDS}`, "-A", "-l", selector, "-o", "name").split("\n").filter((l) => l !== "").map((l) => `${branch}: ${l}`));
        }
        const listed = JSON.parse(execFileSync(process.execPath, [path.join(repoRoot, "bin", "prod-mirror.js"), "ls", "--json"], { cwd: repoRoot, env, encoding: "utf8" })) as Array<{ stack: string }>;
        const ours = new Set(branches.map(stackOf));
        left.push(...listed.filter((r) => ours.has(r.stack)).map((r) => `stack ${r.stack} still on the backend`));
        return left;
    }
});
