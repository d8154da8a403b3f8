#!/usr/bin/env node
// `prod-mirror`: the command line around the Pulumi program. Plain `pulumi up`/`destroy` keep
// working; this adds what a stack cannot do for itself: choosing the stack from the branch,
// bringing up the embedded local default, building the images, stamping the expiry, writing
// outputs for test runners and opening host access to the services.
import * as fs from "fs";
import * as path from "path";
import type { OutputMap, Stack } from "@pulumi/pulumi/automation";
import { detectCi, readGitCheckout } from "../components/branch-context";
import { parseSettings, PROJECT, SETTINGS_KEYS, type MirrorSettings } from "../components/config";
import { imageTag, stackName as stackNameFor } from "../components/naming";
import { buildAndPushImages, plannedImageBuilds } from "./app-images";
import { expiryFrom, parseArgs, UsageError, type ParsedArgs } from "./args";
import { ensureLocalEnvironment, repoRoot, type LocalEnvironment } from "./local-environment";
import { plainOutputs, runnerEnvOf, toDotenv } from "./outputs";
import { startForwards, stopForwards } from "./port-forward";
import { configureStack, findStack, openStack } from "./stack";

const log = (line: string): void => {
    process.stderr.write(`[prod-mirror] ${line}\n`);
};

/** Branch and commit: flags › CI variables › the git checkout. */
function resolveBranch(args: ParsedArgs): { branch: string; commit?: string } {
    const ci = detectCi(process.env);
    const git = readGitCheckout(repoRoot);
    const branch = args.branch ?? ci?.branch ?? git?.branch;
    if (branch === undefined) {
        throw new UsageError("no branch: pass --branch B, run inside a CI job, or check out a branch (HEAD is detached)");
    }
    return { branch, commit: args.commit ?? ci?.commit ?? git?.commit };
}

/** The local environment, with its variables applied to this process (the Automation API spawns `pulumi`). */
function useLocalEnvironment(): LocalEnvironment {
    const local = ensureLocalEnvironment();
    Object.assign(process.env, local.env);
    return local;
}

async function readSettings(stack: Stack): Promise<MirrorSettings> {
    const all = await stack.getAllConfig();
    const raw = Object.fromEntries(SETTINGS_KEYS.map((key) => [key, all[`${PROJECT}:${key}`]?.value]));
    return parseSettings(raw, { stack: stack.name, readFile: (relative) => fs.readFileSync(path.resolve(repoRoot, relative), "utf8") });
}

function writeOutputFiles(outDir: string, outputs: OutputMap): { json: string; dotenv: string } {
    fs.mkdirSync(outDir, { recursive: true });
    const json = path.join(outDir, "outputs.json");
    const dotenv = path.join(outDir, "outputs.env");
    fs.writeFileSync(json, `${JSON.stringify(plainOutputs(outputs), null, 2)}\n`);
    fs.writeFileSync(dotenv, toDotenv(runnerEnvOf(outputs)));
    return { json, dotenv };
}

async function up(args: ParsedArgs): Promise<void> {
    const local = useLocalEnvironment();
    const { branch, commit } = resolveBranch(args);
    if (commit === undefined) {
        throw new UsageError(`no commit for branch ${branch}: pass --commit SHA or run in a git checkout`);
    }
    const name = stackNameFor(branch);
    log(`mirror of branch ${branch} @ ${commit.slice(0, 7)} in stack ${name}`);
    const stack = await openStack(name);
    // The docker provider plugin cannot be built here, so the image step builds and pushes, and
    // the program deploys the exact references it pushed.
    await configureStack(stack, {
        branch,
        commit,
        expiresAt: expiryFrom(new Date(), args.ttlHours),
        registryUsername: local.registry.username,
        registryPassword: local.registry.password,
        imageBuilder: "external",
    });
    const settings = await readSettings(stack);
    const builds = plannedImageBuilds(settings.app, settings.registryServer, settings.imageRepository, imageTag(branch, commit), repoRoot);
    buildAndPushImages(builds, process.env, log);

    const started = Date.now();
    const result = await stack.up({ onOutput: (out) => process.stderr.write(out) });
    log(`pulumi up ${result.summary.result} in ${((Date.now() - started) / 1000).toFixed(1)}s`);

    const files = writeOutputFiles(args.outDir ?? path.join(repoRoot, ".prod-mirror-out", name), result.outputs);
    const namespace = String(result.outputs.namespace?.value ?? "");
    const lines = [`namespace: ${namespace}`, `outputs:   ${files.json}`, `dotenv:    ${files.dotenv}`];
    if (args.forward) {
        const forwards = await startForwards({
            runDir: path.join(local.stateDir, "run"),
            logDir: path.join(local.stateDir, "logs"),
            stackName: name,
            namespace,
            services: settings.app.services.map((s) => ({ name: s.name, port: s.port })),
            env: process.env,
        });
        lines.push(...forwards.map((f) => `${f.service.padEnd(10)} ${f.url}   (kubectl port-forward; 'npm stop' closes it)`));
    }
    process.stdout.write(`${lines.join("\n")}\n`);
}

async function down(args: ParsedArgs): Promise<void> {
    const local = useLocalEnvironment();
    const { branch } = resolveBranch(args);
    const name = stackNameFor(branch);
    const closed = stopForwards(path.join(local.stateDir, "run"), name);
    if (closed > 0) {
        log(`closed ${closed} port-forward(s) of ${name}`);
    }
    const stack = await findStack(name);
    if (stack === undefined) {
        log(`no mirror of branch ${branch} (no stack ${name} on ${process.env.PULUMI_BACKEND_URL}); nothing to destroy`);
        return;
    }
    const started = Date.now();
    await stack.destroy({ onOutput: (out) => process.stderr.write(out) });
    await stack.workspace.removeStack(name);
    fs.rmSync(path.join(repoRoot, ".prod-mirror-out", name), { recursive: true, force: true });
    log(`mirror of ${branch} destroyed and stack ${name} removed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

async function outputs(args: ParsedArgs): Promise<void> {
    useLocalEnvironment();
    const { branch } = resolveBranch(args);
    const name = stackNameFor(branch);
    const stack = await findStack(name);
    if (stack === undefined) {
        throw new UsageError(`no mirror of branch ${branch} (stack ${name}): run 'prod-mirror up --branch ${branch}' first`);
    }
    const all = await stack.outputs();
    process.stdout.write(args.format === "json" ? `${JSON.stringify(plainOutputs(all), null, 2)}\n` : toDotenv(runnerEnvOf(all)));
}

async function main(argv: string[]): Promise<number> {
    try {
        const args = parseArgs(argv);
        await { up, down, outputs }[args.command](args);
        return 0;
    } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        process.stderr.write(`prod-mirror: ${message}\n`);
        return err instanceof UsageError ? 2 : 1;
    }
}

main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
});
