// The one way cli/ runs kubectl (and the other tools `doctor` probes): synchronously, with the
// caller's environment (KUBECONFIG, PATH) and a timeout, so a hung API server cannot hang a command.
import { execFile, spawnSync } from "child_process";

export interface ToolResult {
    ok: boolean;
    stdout: string;
    stderr: string;
    /** Why it failed: the spawn error (not installed, timed out) or the exit status; undefined when ok. */
    failure?: string;
    /** True when the tool never ran to an exit (not installed, killed by the timeout). */
    spawnFailed: boolean;
}

/** Runs `command args` and never throws; a missing tool or a timeout is a failed result. */
export function runTool(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): ToolResult {
    const r = spawnSync(command, args, { env, encoding: "utf8", timeout: timeoutMs });
    const stdout = r.stdout ?? "";
    const stderr = r.stderr ?? "";
    if (r.error !== undefined) {
        return { ok: false, stdout, stderr, failure: r.error.message, spawnFailed: true };
    }
    return r.status === 0 ? { ok: true, stdout, stderr, spawnFailed: false } : { ok: false, stdout, stderr, failure: `exited ${r.status ?? r.signal}`, spawnFailed: false };
}

/** Default time a kubectl call may take: a namespace delete waits for its finalizers. */
export const KUBECTL_TIMEOUT_MS = 180_000;

export function kubectl(args: string[], env: NodeJS.ProcessEnv, timeoutMs = KUBECTL_TIMEOUT_MS): ToolResult {
    return runTool("kubectl", args, env, timeoutMs);
}

/** kubectl without blocking: for a call that may run alongside other work. Never rejects. */
export function kubectlAsync(args: string[], env: NodeJS.ProcessEnv, timeoutMs = KUBECTL_TIMEOUT_MS): Promise<ToolResult> {
    return new Promise((resolve) => {
        execFile("kubectl", args, { env, encoding: "utf8", timeout: timeoutMs }, (error, stdout, stderr) => {
            if (error === null) {
                resolve({ ok: true, stdout, stderr, spawnFailed: false });
            } else {
                const code = (error as NodeJS.ErrnoException & { code?: unknown }).code;
                const exited = typeof code === "number";
                resolve({ ok: false, stdout, stderr, failure: exited ? `exited ${code}` : error.message, spawnFailed: !exited });
            }
        });
    });
}

/** kubectl's standard output; throws with the command, the failure and kubectl's own message. */
export function kubectlOutput(args: string[], env: NodeJS.ProcessEnv, timeoutMs = KUBECTL_TIMEOUT_MS): string {
    const r = kubectl(args, env, timeoutMs);
    if (!r.ok) {
        throw new Error(`kubectl ${args.join(" ")} ${r.failure}: ${r.stderr.trim()}`);
    }
    return r.stdout;
}

/**
 * kubectlAsync for each argument list, `atOnce` at a time (two cores here: more would only queue),
 * the results in the order of `calls`.
 */
export async function kubectlEach(calls: string[][], env: NodeJS.ProcessEnv, atOnce = 2): Promise<ToolResult[]> {
    const results: ToolResult[] = new Array<ToolResult>(calls.length);
    let next = 0;
    const worker = async (): Promise<void> => {
        while (next < calls.length) {
            const i = next++;
            results[i] = await kubectlAsync(calls[i], env);
        }
    };
    await Promise.all(Array.from({ length: Math.min(atOnce, calls.length) }, worker));
    return results;
}
