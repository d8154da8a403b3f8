// `npm run bench`: times a mirror's life with prod-mirror against the seed's way (kubectl apply of the
// same objects into a fresh namespace), alternating, on the local environment, and writes
// docs/benchmarks.md. Everything it makes lives in a throwaway mirrors directory (its own Pulumi
// backend, run locks, installation id: like tests/own-mirrors-dir.ts), so a person's mirrors are never
// seen, locked or reaped; everything it makes is destroyed at the end, failure or not.
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { APP_FILE_MAX_BYTES } from "../components/app-file";
import { mirrorKey } from "../components/branch-context";
import { labelValue, stackName as stackNameFor } from "../components/naming";
import { readProjectFile } from "../components/project-file";
import { parseSettings } from "../components/settings";
import { buildAndPushImages, plannedImageBuilds } from "../cli/app-images";
import { repoRoot } from "../cli/local-environment";
import { LOCAL_APP_FILE } from "../cli/mirror";
import { BENCH_USAGE, parseBenchArgs, type BenchPlan } from "./args";
import { chooseLevel, freeCpu, mirrorCpuRequest } from "./capacity";
import { asList, baselineObjects, describeObjects, moveBaseline, NAMESPACED_KINDS } from "./baseline";
import { headlineRatios, renderReport, type Results } from "./report";
import { acceptCommands, cli, imageSeconds, loggedSeconds, pool, PULUMI_UP_LINE, refuseCommands, run } from "./run";
import { secondsSince, stepTable, type Step } from "./stats";
import { envFor, machineFacts, makeListedStacks } from "./stacks";

/* eslint-disable @typescript-eslint/no-explicit-any -- kubectl's and pulumi's JSON, read generically */

const say = (line: string): void => {
    process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

/** What this run made and has not removed yet: the cleanup's list. */
interface Made {
    branches: Set<string>;
    namespaces: Set<string>;
    stackFiles: Set<string>;
    images: Set<string>;
}

interface Bench {
    plan: BenchPlan;
    id: string;
    dir: string;
    /** The environment of every command about mirrors: the local environment's, with the bench's mirrors directory. */
    env: NodeJS.ProcessEnv;
    /**
     * The kubectl baseline's and the capacity check's: the cluster admin's kubeconfig, as the seed's
     * job ran with the team's own credentials (prod-mirror runs as the restricted operator, access/).
     */
    adminEnv: NodeJS.ProcessEnv;
    registry: string;
    made: Made;
}

const stackOf = (branch: string): string => stackNameFor(mirrorKey(branch));

/** `up --branch B --no-forward`, remembered for the cleanup before it starts. */
async function up(b: Bench, branch: string): Promise<{ seconds: number; pulumi: number; images: number; log: string; namespace: string }> {
    b.made.branches.add(branch);
    const r = await cli(b.env, "up", "--branch", branch, "--no-forward");
    const namespace = /^namespace:\s+(\S+)$/m.exec(r.stdout)?.[1];
    if (namespace === undefined) {
        throw new Error(`prod-mirror up --branch ${branch} printed no 'namespace:' line:\n${r.stdout}`);
    }
    return { seconds: r.seconds, pulumi: loggedSeconds(r.stderr, PULUMI_UP_LINE), images: imageSeconds(r.stderr), log: r.stderr, namespace };
}

async function down(b: Bench, branch: string): Promise<number> {
    const r = await cli(b.env, "down", "--branch", branch);
    b.made.branches.delete(branch);
    return r.seconds;
}

/** Pulumi's summary count of one operation (`3 replaced`), 0 when the summary does not name it. */
function summaryCount(log: string, op: string): number {
    return Number(new RegExp(`(\\d+) ${op}\\b`).exec(log)?.[1] ?? 0);
}

/** The baseline: a real mirror's objects, read back, as a script would apply them; checked against the stack's own count. */
async function takeBaseline(b: Bench, notes: string[]): Promise<{ objects: any[]; namespace: string; label: string; listed: string[] }> {
    const branch = `bench-${b.id}-src`;
    say(`baseline: making the mirror it is read from (${branch})`);
    const made = await up(b, branch);
    const label = labelValue(stackOf(branch));
    const ns = JSON.parse((await run("kubectl", ["get", "namespace", made.namespace, "-o", "json"], b.env)).stdout);
    const items = JSON.parse((await run("kubectl", ["get", NAMESPACED_KINDS, "-n", made.namespace, "-o", "json"], b.env)).stdout).items as any[];
    const objects = baselineObjects(ns, items, label);
    // The stack's own record of what it made: its custom kubernetes resources (not providers, not components).
    const state = JSON.parse((await run("pulumi", ["stack", "export", "--stack", stackOf(branch)], b.env)).stdout);
    const declared = new Set<string>((state.deployment?.resources ?? [])
        .filter((r: any) => r.custom === true && String(r.type).startsWith("kubernetes:"))
        .map((r: any) => `${r.outputs?.kind ?? r.type}/${r.outputs?.metadata?.name ?? "?"}`));
    const listed = describeObjects(objects);
    const missing = [...declared].filter((d) => !listed.includes(d));
    const extra = listed.filter((l) => !declared.has(l));
    const check = `the stack's state holds ${declared.size} Kubernetes objects; the baseline applies ${objects.length}` +
        (missing.length + extra.length === 0 ? ", the same ones by kind and name" : `; not in the baseline: ${missing.join(", ") || "none"}; only in the baseline: ${extra.join(", ") || "none"}`);
    say(check);
    notes.push(check);
    notes.push(`the source mirror's own up (a warm-up, not counted): ${made.seconds.toFixed(1)} s, pulumi up ${made.pulumi} s`);
    await down(b, branch);
    return { objects, namespace: made.namespace, label, listed };
}

interface MainSamples {
    ready: number[];
    gone: number[];
    newCommand: number[];
    newPulumi: number[];
    newImages: number[];
    renewCommand: number[];
    renewPulumi: number[];
    preview: number[];
    down: number[];
}

async function kubectlRound(b: Bench, base: { objects: any[]; namespace: string; label: string }, i: number, s: MainSamples): Promise<void> {
    const ns = `pmk-${b.id}-${i}`;
    const file = path.join(b.dir, `baseline-${i}.json`);
    const objects = moveBaseline(base.objects, base.namespace, ns, base.label, `bench-baseline-${b.id}`);
    // It holds the pull secret's credentials: readable by this user only, removed with the directory.
    fs.writeFileSync(file, asList(objects), { mode: 0o600 });
    const kinds = new Set(objects.map((o) => o.kind));
    b.made.namespaces.add(ns);
    const start = process.hrtime.bigint();
    await run("kubectl", ["apply", "-f", file], b.adminEnv);
    await Promise.all([
        kinds.has("Job") ? run("kubectl", ["wait", "-n", ns, "--for=condition=complete", "job", "--all", "--timeout=300s"], b.adminEnv) : undefined,
        kinds.has("Deployment") ? run("kubectl", ["wait", "-n", ns, "--for=condition=available", "deployment", "--all", "--timeout=300s"], b.adminEnv) : undefined,
    ]);
    s.ready.push(secondsSince(start));
    const r = await run("kubectl", ["delete", "namespace", ns, "--wait=true", "--timeout=300s"], b.adminEnv);
    b.made.namespaces.delete(ns);
    s.gone.push(r.seconds);
    say(`kubectl run ${i}: ready ${s.ready.at(-1)!.toFixed(1)} s, namespace gone ${r.seconds.toFixed(1)} s`);
}

async function mirrorRound(b: Bench, i: number, s: MainSamples, notes: string[]): Promise<void> {
    const branch = `bench-${b.id}-r${i}`;
    const made = await up(b, branch);
    s.newCommand.push(made.seconds);
    s.newPulumi.push(made.pulumi);
    s.newImages.push(made.images);
    const again = await up(b, branch);
    s.renewCommand.push(again.seconds);
    s.renewPulumi.push(again.pulumi);
    notes.push(`renewing up, run ${i}: ${summaryCount(again.log, "replaced")} replaced, ${summaryCount(again.log, "updated")} updated, ${summaryCount(again.log, "created")} created`);
    const preview = await run("pulumi", ["preview", "--stack", stackOf(branch), "--non-interactive"], b.env);
    s.preview.push(preview.seconds);
    s.down.push(await down(b, branch));
    say(`prod-mirror run ${i}: new ${made.seconds.toFixed(1)} s (pulumi up ${made.pulumi} s), renew ${again.seconds.toFixed(1)} s, ` +
        `preview ${preview.seconds.toFixed(1)} s, down ${s.down.at(-1)!.toFixed(1)} s`);
}

/** The CLI's image step (cli/app-images.ts) alone: all services under a new tag, from `projectDir`. */
async function imageStep(b: Bench, projectDir: string, tag: string): Promise<number> {
    // The image step reads only the app description and the image repository; `aws` spares giving an
    // emulator image, which has nothing to do with it.
    const settings = parseSettings(
        { appFile: LOCAL_APP_FILE, registryUsername: "bench", cloudMode: "aws" },
        { stack: "bench", readFile: (relative) => readProjectFile(repoRoot, relative, APP_FILE_MAX_BYTES) },
    );
    const builds = plannedImageBuilds(settings.app, b.registry, settings.imageRepository, tag, projectDir);
    builds.forEach((build) => b.made.images.add(build.ref));
    const start = process.hrtime.bigint();
    await buildAndPushImages(builds, b.env, () => undefined);
    return secondsSince(start);
}

async function imageSteps(b: Bench): Promise<Step[]> {
    const sameLayers: number[] = [];
    const changed: number[] = [];
    for (let i = 1; i <= b.plan.runs; i++) {
        sameLayers.push(await imageStep(b, repoRoot, `bench-${b.id}-img${i}`));
        // A copy of app/ with one service's source changed: the other services' layers are all there.
        const copy = path.join(b.dir, `changed-${i}`);
        fs.cpSync(path.join(repoRoot, "app"), path.join(copy, "app"), { recursive: true });
        fs.appendFileSync(path.join(copy, "app", "api", "main.py"), `\n# changed for bench ${b.id} run ${i}\n`);
        changed.push(await imageStep(b, copy, `bench-${b.id}-chg${i}`));
        say(`image step run ${i}: same layers ${sameLayers.at(-1)!.toFixed(1)} s, api changed ${changed.at(-1)!.toFixed(1)} s`);
    }
    const unit: number[] = [];
    for (let i = 1; i <= b.plan.runs; i++) {
        unit.push((await run(path.join(repoRoot, "node_modules", ".bin", "mocha"), ["--config", ".mocharc.unit.json"], b.env)).seconds);
    }
    say(`unit suite: ${unit.map((u) => u.toFixed(1)).join(", ")} s`);
    // Two fixed costs every `up` pays before Pulumi starts.
    const startup: number[] = [];
    const envUp: number[] = [];
    for (let i = 1; i <= b.plan.runs; i++) {
        startup.push((await cli(b.env, "--help")).seconds);
        envUp.push((await run("bash", [path.join(repoRoot, "local", "env.sh"), "up"], b.env)).seconds);
    }
    return [
        { name: "image step, new tag, every layer already pushed (3 services)", samples: sameLayers },
        { name: "image step, one service changed (api)", samples: changed },
        { name: "unit suite (`mocha --config .mocharc.unit.json`)", samples: unit },
        { name: "CLI start-up alone (`prod-mirror --help`)", samples: startup },
        { name: "`bash local/env.sh up` with everything already up (each `up` runs it)", samples: envUp },
    ];
}

/** The cluster's free CPU requests now, in millicores. */
async function clusterFreeCpu(b: Bench): Promise<number> {
    const nodes = JSON.parse((await run("kubectl", ["get", "nodes", "-o", "json"], b.adminEnv)).stdout).items as any[];
    const pods = JSON.parse((await run("kubectl", ["get", "pods", "-A", "-o", "json"], b.adminEnv)).stdout).items as any[];
    return freeCpu(nodes, pods);
}

async function growth(b: Bench, baseline: readonly any[], notes: string[]): Promise<Step[]> {
    const steps: Step[] = [];
    const live: string[] = [];
    const perMirror = mirrorCpuRequest(baseline);
    let lastMeasured = -1;
    for (const wanted of b.plan.liveMirrors) {
        const choice = chooseLevel(wanted, live.length, lastMeasured, perMirror, await clusterFreeCpu(b));
        if ("skipped" in choice) {
            say(`growth: ${choice.skipped}`);
            notes.push(`growth: ${choice.skipped}; not measured`);
            steps.push({ name: `new mirror with ${wanted} live: whole command`, samples: [], note: choice.skipped });
            break;
        }
        const level = choice.level;
        if (choice.fallback !== undefined) {
            say(`growth: ${choice.fallback}; measuring with ${level} live instead`);
            notes.push(`growth: ${choice.fallback}; measured with ${level} live instead, the most that fit`);
        }
        const more = Array.from({ length: level - live.length }, (_, j) => `bench-${b.id}-l${live.length + j + 1}`);
        if (more.length > 0) {
            say(`growth: making ${more.length} more live mirror(s), two at a time`);
            await pool(more, 2, async (branch) => void (await up(b, branch)));
            live.push(...more);
        }
        const branch = `bench-${b.id}-g${level}`;
        const made = await up(b, branch);
        const gone = await down(b, branch);
        lastMeasured = level;
        say(`growth with ${level} live: new ${made.seconds.toFixed(1)} s (pulumi up ${made.pulumi} s), down ${gone.toFixed(1)} s`);
        steps.push(
            { name: `new mirror with ${level} live: whole command`, samples: [made.seconds], note: choice.fallback === undefined ? undefined : `instead of ${wanted}: the most that fit` },
            { name: `new mirror with ${level} live: pulumi up`, samples: [made.pulumi] },
            { name: `down with ${level} live`, samples: [gone] },
        );
        if (choice.fallback !== undefined) {
            break;
        }
    }
    say(`growth: removing the ${live.length} live mirror(s)`);
    await pool(live, 3, async (branch) => void (await down(b, branch)));
    return steps;
}

/** Stacks on a throwaway backend, made without deploying: what `ls` and `reap` read is the stack list and its tags. */
async function listing(b: Bench): Promise<Step[]> {
    const env = envFor(path.join(b.dir, "stacks"), b.env.PROD_MIRROR_INSTALLATION ?? "");
    const steps: Step[] = [];
    let made = 0;
    for (const count of b.plan.stackCounts) {
        const names = Array.from({ length: count - made }, (_, j) => `bench-${b.id}-s${String(made + j + 1).padStart(3, "0")}`);
        say(`listing: making ${names.length} stack(s) (pulumi stack init + tags)`);
        await makeListedStacks(env, names, b.made.stackFiles);
        made = count;
        const ls: number[] = [];
        const reap: number[] = [];
        for (let i = 0; i < b.plan.listRuns; i++) {
            const listed = await cli(env, "ls", "--json");
            const rows = JSON.parse(listed.stdout) as unknown[];
            if (rows.length !== count) {
                throw new Error(`prod-mirror ls listed ${rows.length} stacks on the bench's backend, expected ${count}`);
            }
            ls.push(listed.seconds);
            reap.push((await cli(env, "reap", "--dry-run")).seconds);
        }
        say(`listing ${count} stack(s): ls ${ls.map((x) => x.toFixed(1)).join(", ")} s, reap --dry-run ${reap.map((x) => x.toFixed(1)).join(", ")} s`);
        steps.push({ name: `ls, ${count} stack(s)`, samples: ls }, { name: `reap --dry-run, ${count} stack(s)`, samples: reap });
    }
    return steps;
}

async function measure(b: Bench, command: string): Promise<string> {
    const notes: string[] = [];
    const s: MainSamples = { ready: [], gone: [], newCommand: [], newPulumi: [], newImages: [], renewCommand: [], renewPulumi: [], preview: [], down: [] };
    const about = await machineFacts(b.env);
    const base = await takeBaseline(b, notes);
    for (let i = 1; i <= b.plan.runs; i++) {
        // Alternating which goes first, so that neither always runs on a cluster the other just warmed or loaded.
        if (i % 2 === 1) {
            await kubectlRound(b, base, i, s);
            await mirrorRound(b, i, s, notes);
        } else {
            await mirrorRound(b, i, s, notes);
            await kubectlRound(b, base, i, s);
        }
    }
    const main: Step[] = [
        { name: "kubectl: apply + wait (Job complete, Deployments available)", samples: s.ready },
        { name: "prod-mirror up, new mirror: pulumi up (its log's figure)", samples: s.newPulumi },
        { name: "prod-mirror up, new mirror: whole command", samples: s.newCommand },
        { name: "… of which the image step (its log's figures)", samples: s.newImages },
        { name: "prod-mirror up, renewing, nothing changed: pulumi up", samples: s.renewPulumi },
        { name: "prod-mirror up, renewing, nothing changed: whole command", samples: s.renewCommand },
        { name: "pulumi preview of a live mirror", samples: s.preview },
        { name: "kubectl delete namespace --wait", samples: s.gone },
        { name: "prod-mirror down", samples: s.down },
    ];
    say(`main steps:\n${stepTable(main)}`);
    const images = await imageSteps(b);
    const grown = await growth(b, base.objects, notes);
    const listed = await listing(b);
    if (b.plan.quick) {
        notes.push(`--quick: growth planned with ${b.plan.liveMirrors.join("/")} live mirrors only`);
    }
    notes.push("each growth and listing level is one sample (two for ls/reap in a full run): read them as a trend, not a distribution");
    notes.push(`images pushed by the bench (tags bench-${b.id}-*) stay in the local registry, as every mirror's do; they are removed from the engine`);
    const results: Results = {
        main,
        images,
        growth: grown,
        listing: listed,
        ratios: headlineRatios(s.ready, s.newPulumi, s.newCommand, s.down, s.gone, s.renewCommand),
        baseline: base.listed,
        notes,
    };
    const date = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    return renderReport({ date, command, ...about }, results);
}

async function cleanup(b: Bench): Promise<boolean> {
    let clean = true;
    const attempt = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
        try {
            await fn();
        } catch (err) {
            clean = false;
            say(`cleanup: ${what} failed: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
        }
    };
    if (b.made.branches.size > 0) {
        say(`cleanup: prod-mirror down of ${[...b.made.branches].join(", ")}`);
        await pool([...b.made.branches], 3, (branch) => attempt(`down --branch ${branch}`, () => down(b, branch)));
    }
    for (const ns of b.made.namespaces) {
        await attempt(`kubectl delete namespace ${ns}`, () => run("kubectl", ["delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=300s"], b.adminEnv));
    }
    for (const file of b.made.stackFiles) {
        fs.rmSync(file, { force: true });
    }
    // Only the engine's copies: tidying, not cleanup (a ref that was never built makes docker fail).
    if (b.made.images.size > 0) {
        await run("docker", ["image", "rm", "--force", ...b.made.images], b.env).catch(() => say("cleanup: some bench images were not in the engine"));
    }
    return clean;
}

async function main(argv: string[]): Promise<number> {
    let plan: BenchPlan;
    try {
        plan = parseBenchArgs(argv);
    } catch (err) {
        process.stderr.write(`bench: ${(err as Error).message}\n`);
        return 2;
    }
    const status = await run("bash", [path.join(repoRoot, "local", "env.sh"), "status"], process.env).catch((err: Error) => err);
    if (status instanceof Error) {
        process.stderr.write(`bench: the local environment is not up ('bash local/env.sh status' failed); bring it up with 'bash local/env.sh up' (or 'npm start') and run again\n${BENCH_USAGE}\n`);
        return 1;
    }
    const id = `${Date.now().toString(36).slice(-4)}${crypto.randomBytes(1).toString("hex")}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `prod-mirror-bench-${id}-`));
    const env = envFor(path.join(dir, "mirrors"), `bench-${id}`);
    const admin = env.PROD_MIRROR_ADMIN_KUBECONFIG;
    if (admin === undefined || !fs.existsSync(admin)) {
        process.stderr.write(`bench: PROD_MIRROR_ADMIN_KUBECONFIG names no file (${admin ?? "unset"}); bring the local environment up with 'bash local/env.sh up'\n${BENCH_USAGE}\n`);
        return 1;
    }
    const adminEnv = { ...env, KUBECONFIG: admin };
    const b: Bench = { plan, id, dir, env, adminEnv, registry: env.PROD_MIRROR_REGISTRY ?? "127.0.0.1:5000", made: { branches: new Set(), namespaces: new Set(), stackFiles: new Set(), images: new Set() } };
    const command = `npm run bench${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}`;
    say(`run ${id}: mirrors, backend and baseline files under ${dir}; installation bench-${id}`);
    const started = process.hrtime.bigint();
    // A signal stops the measuring (no new command starts; a running one is interrupted by the
    // terminal's signal or finishes) and the cleanup still runs.
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
        process.once(signal, () => {
            say(`${signal}: stopping, then cleaning up`);
            refuseCommands(`interrupted by ${signal}`);
        });
    }
    let code = 0;
    try {
        const report = await measure(b, command);
        process.stdout.write(report);
        if (plan.out !== undefined) {
            fs.writeFileSync(path.resolve(repoRoot, plan.out), report);
            say(`report written to ${plan.out}`);
        }
    } catch (err) {
        process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
        code = 1;
    } finally {
        acceptCommands();
        const clean = await cleanup(b);
        if (clean) {
            fs.rmSync(dir, { recursive: true, force: true });
        } else {
            process.stderr.write(`bench: some of what the run made is left; its state is in ${dir}: ` +
                `PROD_MIRROR_MIRRORS_DIR=${path.join(dir, "mirrors")} npx prod-mirror ls, then down --branch ... for each\n`);
            code = 1;
        }
        say(`done in ${(secondsSince(started) / 60).toFixed(1)} min`);
    }
    return code;
}

void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
});
