#!/usr/bin/env node
// `prod-mirror`: the command line around the Pulumi program. Plain `pulumi up`/`destroy` keep
// working; this adds what a stack cannot do for itself: choosing the stack from the branch,
// bringing up the embedded local default, building the images, stamping the expiry, writing
// outputs for test runners and opening host access to the services.
import { DEFAULT_AWS_REGION, DEFAULT_NAME_PREFIX } from "../components/app-spec";
import { namespaceName, stackName as stackNameFor } from "../components/naming";
import { describeReport, type FidelityReport } from "../components/rewrite";
import { helpRequested, helpText, parseArgs, UsageError, type ParsedArgs } from "./args";
import { diagnoseNamespace, formatDiagnosis, isReadinessFailure } from "./diagnose";
import { doctor, externalChecks, formatDoctorReport, runChecks } from "./doctor";
import { guardedRun, recoverStack, whileLocked } from "./guarded-run";
import { formatMirrorTable, listMirrors } from "./inventory";
import { cliInstallation } from "./installation";
import { ClusterUnreachableError } from "./cluster-access";
import { forgetMirror } from "./forget";
import * as fs from "fs";
import { describeLocalEnvironment } from "./local-environment";
import { describeTarget, type Target } from "./target";
import { currentTarget, useExternalTarget, type Place } from "./target-env";
import { probeTarget, type Part } from "./target-probes";
import type { Stack } from "@pulumi/pulumi/automation";
import { type BranchRef, defaultOutDir, describeRef, destroyMirror, forwardServices, prepareMirror, refFlags, refKey, resolveBranch, useLocalEnvironment, writeOutputFiles } from "./mirror";
import { plainOutputs, runnerEnvOf, toDotenv } from "./outputs";
import { formatReapReport, reap as reapMirrors } from "./reap";
import { findStack, stampTags, updateStack } from "./stack";

const log = (line: string): void => {
    process.stderr.write(`[prod-mirror] ${line}\n`);
};

const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)}s`;

/** The target the environment and the command line choose; `--registry-password-stdin` reads standard input (one trailing newline dropped). */
function targetOf(args: ParsedArgs): Target {
    const registryPassword = args.registryPasswordStdin ? fs.readFileSync(0, "utf8").replace(/\r?\n$/, "") : undefined;
    return currentTarget({ kubeconfig: args.kubeconfig, context: args.context, registryPassword });
}

/**
 * The target this command runs against, applied to this process: the local default (started when
 * `start`, else only described) or an external target whose `parts` answer, probed before anything
 * is created.
 */
async function enterTarget(args: ParsedArgs, parts: Part[], start: boolean): Promise<Place> {
    const target = targetOf(args);
    if (target.kind === "local") {
        if (start) {
            return useLocalEnvironment();
        }
        const local = describeLocalEnvironment();
        Object.assign(process.env, local.env);
        return local;
    }
    describeTarget(target).forEach(log);
    const place = useExternalTarget(target);
    await probeTarget(target, process.env, parts);
    return place;
}

async function up(args: ParsedArgs): Promise<void> {
    const local = await enterTarget(args, ["cluster", "registry", "backend"], true);
    const ref = resolveBranch(args);
    const stackName = stackNameFor(refKey(ref));
    await guardedRun(local.mirrorsDir, stackName, "up", args.lockTimeoutMinutes, log, async (run) => {
        const { signal, cancelled, deadline } = run;
        // While the images build: an interrupted run's leftovers cleared, and the tags `ls` and `reap`
        // read stamped before the update (a mirror whose update fails is still listed with its expiry).
        let tags: Record<string, string> = {};
        const mirror = await prepareMirror(ref, args.ttlHours, local, log, args.readyTimeoutSeconds, async (stack, stamped, created) => {
            // A stack created by this run has neither leftovers nor tags to read.
            if (!created) {
                await recoverStack(stack, process.env, log, run);
            }
            tags = await stampTags(stack, { branch: ref.branch, ...stamped }, created ? {} : undefined);
        });
        // A signal during the image step: do not start an update only to cancel it.
        if (cancelled()) {
            throw new Error("cancelled before the update started");
        }
        const started = Date.now();
        const outputs = await whileLocked(() => updateStack(mirror.stack, { onOutput: (out) => process.stderr.write(out), signal }), deadline, log).catch((err: unknown) => {
            throw cancelled() ? err : unreadyError(err, namespaceName(refKey(ref), mirror.settings.namePrefix), mirror.settings.readyTimeoutSeconds, refFlags(ref));
        });
        log(`pulumi up succeeded in ${seconds(started)}`);

        const files = writeOutputFiles(args.outDir ?? defaultOutDir(mirror.stackName), outputs);
        const namespace = String(outputs.namespace?.value ?? "");
        const serviceUrls = (outputs.serviceUrls?.value ?? {}) as Record<string, string>;
        const entry = String(outputs.entryService?.value ?? "");
        let entryUrl = serviceUrls[entry];
        const lines = [`stack:     ${mirror.stackName}`, `namespace: ${namespace}`, `outputs:   ${files.json}`, `dotenv:    ${files.dotenv}`];
        if (args.forward) {
            const forwards = await forwardServices(mirror, namespace, serviceUrls);
            entryUrl = forwards.find((f) => f.service === entry)?.url ?? entryUrl;
            lines.push("reachable from this host (kubectl port-forward, closed by 'npm stop'):");
            lines.push(...forwards.map((f) => `  ${f.service.padEnd(10)} ${f.url}`));
        }
        lines.push("stack outputs for test runners (also: npx prod-mirror outputs --format dotenv|json):");
        lines.push(...toDotenv(runnerEnvOf(outputs)).trimEnd().split("\n").map((l) => `  ${l}`));
        await stampTags(mirror.stack, { entryUrl }, tags);
        process.stdout.write(`${lines.join("\n")}\n`);
    });
}

/**
 * The error a failed update ends with: when it failed waiting for readiness and workloads in the
 * mirror's namespace are not ready, each of them and why, read from the cluster (pulumi's own output,
 * above it, says only that it timed out); otherwise pulumi's error as it is.
 */
function unreadyError(err: unknown, namespace: string, boundSeconds: number, flags: string): unknown {
    if (!isReadinessFailure(err instanceof Error ? err.message : String(err))) {
        return err;
    }
    try {
        const findings = diagnoseNamespace(namespace, process.env);
        return findings.length === 0 ? err : new Error(`pulumi up failed: ${formatDiagnosis(findings, { namespace, boundSeconds, refFlags: flags })}`);
    } catch (diagnosis) {
        log(`could not read why the workloads in ${namespace} are not ready: ${diagnosis instanceof Error ? diagnosis.message : String(diagnosis)}`);
        return err;
    }
}

async function down(args: ParsedArgs): Promise<void> {
    if (args.forgetState) {
        return forgetState(args);
    }
    const local = await enterTarget(args, ["cluster", "backend"], true);
    const ref = resolveBranch(args);
    const stackName = stackNameFor(refKey(ref));
    await guardedRun(local.mirrorsDir, stackName, "down", args.lockTimeoutMinutes, log, async (run) => {
        const started = Date.now();
        const again = `prod-mirror down ${refFlags(ref)}`;
        let result;
        try {
            result = await destroyMirror(refKey(ref), local, log, run, again);
        } catch (err) {
            if (err instanceof ClusterUnreachableError) {
                throw new Error(`the mirror of ${describeRef(ref)} was not destroyed: cannot reach its cluster at ${err.endpoint} (${err.reason}). ` +
                    `Stack ${stackName} is kept. If the cluster is only down, run '${again}' again once it answers; if it is gone for good, ` +
                    `'${again} --forget-state' removes the stack without touching the cluster and lists what may remain`, { cause: err });
            }
            throw err;
        }
        if (!result.existed) {
            log(`no mirror of ${describeRef(ref)} (no stack ${stackName} on ${process.env.PULUMI_BACKEND_URL}); nothing to destroy`);
            return;
        }
        if (result.survivors.length > 0) {
            throw new Error(`the mirror of ${describeRef(ref)} was destroyed but these objects survive:\n  ${result.survivors.join("\n  ")}\n` +
                `delete them by hand (kubectl delete ...) or run 'prod-mirror reap'`);
        }
        log(`mirror of ${describeRef(ref)} destroyed and stack ${stackName} removed in ${seconds(started)}; nothing labelled with it is left`);
    });
}

/** `down --forget-state`: no local environment started, no cluster asked; the stack goes, the report stays. */
async function forgetState(args: ParsedArgs): Promise<void> {
    const local = await enterTarget(args, ["backend"], false);
    const ref = resolveBranch(args);
    const stackName = stackNameFor(refKey(ref));
    await guardedRun(local.mirrorsDir, stackName, "down", args.lockTimeoutMinutes, log, async () => {
        const result = await forgetMirror(refKey(ref), local, log);
        if (!result.existed) {
            log(`no mirror of ${describeRef(ref)} (no stack ${stackName} on ${process.env.PULUMI_BACKEND_URL}); nothing to forget`);
            return;
        }
        process.stdout.write(`${result.report}\n`);
    });
}

/** The stack of the branch the command line names, in the local environment; a usage error when there is none. */
async function existingMirror(args: ParsedArgs): Promise<{ ref: BranchRef; stackName: string; stack: Stack }> {
    await enterTarget(args, ["backend"], false);
    const ref = resolveBranch(args);
    const stackName = stackNameFor(refKey(ref));
    const stack = await findStack(stackName);
    if (stack === undefined) {
        throw new UsageError(`no mirror of ${describeRef(ref)} (stack ${stackName}): run 'prod-mirror up ${refFlags(ref)}' first`);
    }
    return { ref, stackName, stack };
}

async function outputs(args: ParsedArgs): Promise<void> {
    const { stack } = await existingMirror(args);
    const all = await stack.outputs();
    process.stdout.write(args.format === "json" ? `${JSON.stringify(plainOutputs(all), null, 2)}\n` : toDotenv(runnerEnvOf(all)));
}

async function diff(args: ParsedArgs): Promise<void> {
    const { ref, stackName, stack } = await existingMirror(args);
    const report = (await stack.outputs()).fidelity?.value as FidelityReport | undefined;
    if (report === undefined) {
        throw new Error(`stack ${stackName} has no fidelity report: it was last updated by an older prod-mirror; run 'prod-mirror up ${refFlags(ref)}' again`);
    }
    process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : describeReport(report));
}

async function ls(args: ParsedArgs): Promise<void> {
    await enterTarget(args, ["backend"], false);
    const now = new Date();
    const rows = await listMirrors(now, log);
    process.stdout.write(args.json ? `${JSON.stringify(rows, null, 2)}\n` : formatMirrorTable(rows, now));
}

async function reap(args: ParsedArgs): Promise<void> {
    const local = await enterTarget(args, ["cluster", "backend"], true);
    const report = await reapMirrors({
        dryRun: args.dryRun,
        now: new Date(),
        installation: cliInstallation(process.env),
        // Mirrors made by this CLI use the default prefix; a stack that sets another keeps its orphans.
        namePrefix: DEFAULT_NAME_PREFIX,
        minAgeMs: args.minAgeMinutes * 60_000,
        maxDeletions: args.maxDeletions,
        awsEndpoint: args.awsEndpoint ?? process.env.AWS_ENDPOINT_URL,
        awsRegion: args.awsRegion ?? process.env.AWS_REGION ?? DEFAULT_AWS_REGION,
        lockTimeoutMs: Math.min(args.lockTimeoutMinutes, 1) * 60_000,
        log,
        env: process.env,
        lockDir: `${local.mirrorsDir}/locks`,
        runDir: `${local.mirrorsDir}/run`,
    });
    process.stdout.write(formatReapReport(report));
    if (report.failed > 0 || report.refusal !== undefined) {
        process.exitCode = 1;
    }
}

async function doctorCommand(args: ParsedArgs): Promise<void> {
    const target = targetOf(args);
    process.stdout.write(`${describeTarget(target).join("\n")}\n`);
    let report;
    if (target.kind === "local") {
        report = await doctor();
    } else {
        useExternalTarget(target);
        report = await runChecks(externalChecks(target, process.env));
    }
    process.stdout.write(formatDoctorReport(report));
    if (!report.ok) {
        process.exitCode = 1;
    }
}

async function main(argv: string[]): Promise<number> {
    if (helpRequested(argv)) {
        process.stdout.write(`${helpText(argv)}\n`);
        return 0;
    }
    try {
        const args = parseArgs(argv);
        await { up, down, outputs, diff, ls, reap, doctor: doctorCommand }[args.command](args);
        return typeof process.exitCode === "number" ? process.exitCode : 0;
    } catch (err) {
        process.stderr.write(`prod-mirror: ${err instanceof Error ? err.message : String(err)}\n`);
        return err instanceof UsageError ? 2 : 1;
    }
}

void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
});
