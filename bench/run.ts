// How the benchmark runs what it times: each command as a child process, as a person would type it,
// timed from spawn to exit; and a small pool for making many mirrors or stacks at once.
import { spawn } from "child_process";
import * as path from "path";
import { repoRoot } from "../cli/local-environment";
import { IMAGES_PUSHED } from "../cli/app-images";
import { secondsSince } from "./stats";

export interface Ran {
    code: number | null;
    stdout: string;
    stderr: string;
    seconds: number;
}

let refusal: string | undefined;

/** From now on every run() fails at once with `reason` (a signal arrived: the measuring stops). */
export function refuseCommands(reason: string): void {
    refusal = reason;
}

/** run() starts commands again (the cleanup's). */
export function acceptCommands(): void {
    refusal = undefined;
}

/** Runs `command args` to its end; throws, with the tail of its standard error, unless it exits 0. */
export function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, input?: string): Promise<Ran> {
    return new Promise((resolve, reject) => {
        if (refusal !== undefined) {
            reject(new Error(`${command} ${args.join(" ")} not started: ${refusal}`));
            return;
        }
        const start = process.hrtime.bigint();
        const child = spawn(command, args, { cwd: repoRoot, env, stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => {
            const ran = { code, stdout, stderr, seconds: secondsSince(start) };
            if (code === 0) {
                resolve(ran);
            } else {
                reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${stderr.slice(-2000)}`));
            }
        });
        // A child that exits without reading its input closes the pipe first: that EPIPE is not a failure
        // of the step (its exit code says whether it failed), and unhandled it would end the whole run.
        child.stdin.on("error", () => undefined);
        child.stdin.end(input ?? "");
    });
}

/** `prod-mirror ARGS` through bin/, exactly as `npx prod-mirror` runs it. */
export function cli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Ran> {
    return run(process.execPath, [path.join(repoRoot, "bin", "prod-mirror.js"), ...args], env);
}

/** The figure of a CLI log line such as `pulumi up succeeded in 27.2s`; throws when the line is missing. */
export function loggedSeconds(log: string, pattern: RegExp): number {
    const m = pattern.exec(log);
    if (m === null) {
        throw new Error(`no line matching ${pattern} in the command's log:\n${log.slice(-1500)}`);
    }
    return Number(m[1]);
}

export const PULUMI_UP_LINE = /pulumi up succeeded in ([0-9.]+)s/;

/** The image step inside an `up`: its `images pushed in Xs` line, else the sum of its `image … pushed in Xs` lines. */
export function imageSeconds(log: string): number {
    // The step's own wall-clock line when the CLI prints one (its images go at once); before, the images' sum.
    const step = new RegExp(`\\b${IMAGES_PUSHED} ([0-9.]+)s`).exec(log);
    if (step !== null) {
        return Number(step[1]);
    }
    return [...log.matchAll(/\bimage \S+ pushed in ([0-9.]+)s/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** Calls `fn` on every item, at most `width` at a time; every call runs even when some fail, then the first failure is thrown. */
export async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
    const queue = [...items];
    const failures: unknown[] = [];
    const worker = async (): Promise<void> => {
        for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
            try {
                await fn(item);
            } catch (err) {
                failures.push(err);
            }
        }
    };
    await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
    if (failures.length > 0) {
        throw failures[0];
    }
}
