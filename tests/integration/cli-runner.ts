// How the integration suites run the `prod-mirror` command: as a user would, through bin/.
import * as assert from "assert";
import { spawn, type ChildProcess } from "child_process";
import * as path from "path";
import { repoRoot } from "../../cli/local-environment";

export interface Result {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
}

export interface Run {
    child: ChildProcess;
    done: Promise<Result>;
    stderr: () => string;
}

/** Starts `prod-mirror ARGS` in its own process group (so a test can kill all of it). */
export function start(env: NodeJS.ProcessEnv, ...args: string[]): Run {
    const child = spawn(process.execPath, [path.join(repoRoot, "bin", "prod-mirror.js"), ...args], { cwd: repoRoot, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<Result>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
    return { child, done, stderr: () => stderr };
}

/** Runs `prod-mirror ARGS` to its end. */
export function cli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Result> {
    return start(env, ...args).done;
}

export function expectOk(what: string, r: { code: number | null; stderr: string }): void {
    assert.strictEqual(r.code, 0, `${what} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
}

/** An `after` hook's `down` of a mirror a failed test may have left: a failure is reported, not thrown, so the other cleanups still run. */
export async function downForCleanup(env: NodeJS.ProcessEnv, branch: string): Promise<void> {
    const r = await cli(env, "down", "--branch", branch);
    if (r.code !== 0) {
        process.stderr.write(`      cleanup: down of ${branch} exited ${r.code}:\n${r.stderr.slice(-2000)}\n`);
    }
}
