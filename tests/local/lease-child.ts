// A runner for the lease-lock tests: a separate process that goes through guardedRun exactly as
// `up`/`down` do, so that only PULUMI_BACKEND_URL (an s3:// URL in its environment) picks the lease.
//   hold STACK MINUTES        holds the lock, prints "held", until a signal or a lost lease stops it
//   take STACK MINUTES FILE   waits for the lock; while holding it appends "enter"/"exit" lines
//                             (pid, ms since the epoch) to FILE; prints who died before it and how
//                             long it waited (ms of its own monotonic clock)
//   update STACK MINUTES DIR  holding the lock, runs `pulumi up` of the program in DIR (in this
//                             process group, so that killing the group kills both)
//   recover STACK MINUTES DIR takes the lock and recovers the stack as `up` does (recoverStack)
// Every log line goes to stdout as "log ..."; a failure ends with "error <name>: <message>" and exit 1.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { guardedRun, recoverStack } from "../../cli/guarded-run";

async function main(): Promise<void> {
    const [mode, stack, minutes, file] = process.argv.slice(2);
    const log = (line: string): void => {
        process.stdout.write(`log ${line}\n`);
    };
    const mirrorsDir = fs.mkdtempSync(`${os.tmpdir()}/pm-lease-child-`);
    const started = performance.now();
    await guardedRun(mirrorsDir, stack, mode, Number(minutes), log, async (run) => {
        if (mode === "hold") {
            process.stdout.write("held\n");
            // A timer of our own keeps the process alive: the lease's renewal timer never does.
            const alive = setInterval(() => undefined, 60_000);
            await new Promise((resolve) => run.signal.addEventListener("abort", resolve));
            clearInterval(alive);
            return;
        }
        if (mode === "update") {
            const pulumi = spawn("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", stack, "--cwd", file], { stdio: ["ignore", "ignore", "inherit"] });
            process.stdout.write(`updating ${pulumi.pid}\n`);
            await new Promise((resolve) => pulumi.on("close", resolve));
            return;
        }
        if (mode === "recover") {
            const envVars = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
            const found = await LocalWorkspace.selectStack({ stackName: stack, workDir: file }, { envVars });
            process.stdout.write(`recovered ${JSON.stringify(await recoverStack(found, process.env, log, run, stack))}\n`);
            return;
        }
        process.stdout.write(`waited ${Math.round(performance.now() - started)}\n`);
        fs.appendFileSync(file, `enter ${process.pid} ${Date.now()}\n`);
        await new Promise((resolve) => setTimeout(resolve, 1500));
        fs.appendFileSync(file, `exit ${process.pid} ${Date.now()}\n`);
        process.stdout.write(`previous ${run.previousHolderDied?.pid ?? "none"}\n`);
    });
}

main().catch((err: unknown) => {
    process.stdout.write(`error ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
    process.exit(1);
});
