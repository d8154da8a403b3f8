#!/usr/bin/env node
// `prod-mirror`: the command line around the Pulumi program. Plain `pulumi up`/`destroy` keep
// working; this adds what a stack cannot do for itself: choosing the stack from the branch,
// bringing up the embedded local default, building the images, stamping the expiry, writing
// outputs for test runners and opening host access to the services.
import { stackName as stackNameFor } from "../components/naming";
import { parseArgs, UsageError, type ParsedArgs } from "./args";
import { defaultOutDir, destroyMirror, forwardServices, prepareMirror, resolveBranch, useLocalEnvironment, writeOutputFiles } from "./mirror";
import { plainOutputs, runnerEnvOf, toDotenv } from "./outputs";
import { findStack } from "./stack";

const log = (line: string): void => {
    process.stderr.write(`[prod-mirror] ${line}\n`);
};

const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)}s`;

async function up(args: ParsedArgs): Promise<void> {
    const local = useLocalEnvironment();
    const mirror = await prepareMirror(resolveBranch(args), args.ttlHours, local, log);
    const started = Date.now();
    const result = await mirror.stack.up({ onOutput: (out) => process.stderr.write(out) });
    log(`pulumi up ${result.summary.result} in ${seconds(started)}`);

    const files = writeOutputFiles(args.outDir ?? defaultOutDir(mirror.stackName), result.outputs);
    const namespace = String(result.outputs.namespace?.value ?? "");
    const lines = [`stack:     ${mirror.stackName}`, `namespace: ${namespace}`, `outputs:   ${files.json}`, `dotenv:    ${files.dotenv}`];
    if (args.forward) {
        const forwards = await forwardServices(mirror, namespace);
        lines.push("reachable from this host (kubectl port-forward, closed by 'npm stop'):");
        lines.push(...forwards.map((f) => `  ${f.service.padEnd(10)} ${f.url}`));
    }
    process.stdout.write(`${lines.join("\n")}\n`);
}

async function down(args: ParsedArgs): Promise<void> {
    const local = useLocalEnvironment();
    const { branch } = resolveBranch(args);
    const started = Date.now();
    if (await destroyMirror(branch, local, log)) {
        log(`mirror of ${branch} destroyed and stack ${stackNameFor(branch)} removed in ${seconds(started)}`);
    } else {
        log(`no mirror of branch ${branch} (no stack ${stackNameFor(branch)} on ${process.env.PULUMI_BACKEND_URL}); nothing to destroy`);
    }
}

async function outputs(args: ParsedArgs): Promise<void> {
    useLocalEnvironment();
    const { branch } = resolveBranch(args);
    const stack = await findStack(stackNameFor(branch));
    if (stack === undefined) {
        throw new UsageError(`no mirror of branch ${branch} (stack ${stackNameFor(branch)}): run 'prod-mirror up --branch ${branch}' first`);
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
        process.stderr.write(`prod-mirror: ${err instanceof Error ? err.message : String(err)}\n`);
        return err instanceof UsageError ? 2 : 1;
    }
}

void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
});
