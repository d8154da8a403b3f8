// What every state-changing command does around its Pulumi operation: take the stack's run lock
// (a queue for runs on the same branch), turn SIGINT/SIGTERM into a clean cancel of `pulumi`, and
// recover a stack a killed run left locked or with pending operations.
import type { Stack } from "@pulumi/pulumi/automation";
import { PROJECT } from "../components/config-error";
import { parseBackendUrl } from "./backend-url";
import { acquireStackLock, lockPlaceFor } from "./lock-for-backend";
import { exportedState } from "./stack";
import { breakDeadBackendLocks, type BackendLock, type LockHolder } from "./run-lock";

export type Log = (line: string) => void;

/** A backend lock older than this is broken even when nothing proves its holder dead (see backendLockIsDead). */
export const MAX_BACKEND_LOCK_AGE_MS = 6 * 3_600_000;

/** What recovering a stack needs from the run around it. */
export interface RunContext {
    /** Aborts the refresh (and, where a caller passes it on, the destroy). */
    signal?: AbortSignal;
    /** The run lock's previous holder, which died without releasing it: RunLock.previousHolderDied. */
    previousHolderDied?: LockHolder;
    /** Until when (ms since the epoch) to wait for another run's backend lock; by default, not at all. */
    deadline?: number;
    /** How often to look again at another run's backend lock (whileLocked's default: 5 s). */
    lockPollMs?: number;
}

export interface GuardedRun extends RunContext {
    /** Aborted on the first SIGINT/SIGTERM: pass it to the Automation API, which sends `pulumi` SIGINT. */
    signal: AbortSignal;
    /** True once a signal asked to cancel, whether or not pulumi was sent one. */
    cancelled: () => boolean;
    /** --lock-timeout from the start of the run: the same bound for our lock and the backend's. */
    deadline: number;
}

export class CancelledError extends Error {
    constructor(what: string) {
        super(`${what} was cancelled by a signal; the stack is unlocked and can be updated or destroyed again`);
        this.name = "CancelledError";
    }
}

export class LockLostError extends Error {
    constructor(what: string, where: string) {
        super(`${what} was stopped: it lost its run lock (${where}) to another run, which may be changing the stack now. ` +
            `Look at that run, then run the command again; a run that loses its lock often was paused or cut off from the bucket for longer than the lease`);
        this.name = "LockLostError";
    }
}

/**
 * Runs `body` holding the stack's run lock, with signals turned into a cancel. The lock lives where
 * `env.PULUMI_BACKEND_URL` keeps the state (lockPlaceFor); a lease lost while held aborts the run.
 */
export async function guardedRun<T>(
    mirrorsDir: string,
    stackName: string,
    command: string,
    lockTimeoutMinutes: number,
    log: Log,
    body: (run: GuardedRun) => Promise<T>,
    env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
    const deadline = Date.now() + lockTimeoutMinutes * 60_000;
    const place = lockPlaceFor(env.PULUMI_BACKEND_URL, mirrorsDir, env);
    const lock = await acquireStackLock(place, stackName, command, lockTimeoutMinutes * 60_000, log, env);
    const controller = new AbortController();
    let cancelled = false;
    let lost = false;
    const onLost = (): void => {
        lost = true;
        controller.abort();
    };
    lock.lost.addEventListener("abort", onLost);
    const onSignal = (signal: NodeJS.Signals): void => {
        if (cancelled) {
            log(`${signal} again: still waiting for pulumi to stop cleanly`);
            return;
        }
        cancelled = true;
        log(`${signal}: cancelling ${command} of ${stackName}; pulumi finishes the steps in flight and unlocks the stack`);
        // Ctrl-C at a terminal reaches the whole foreground group, pulumi included: a second SIGINT
        // from us would make it stop hard, without unlocking. Otherwise (SIGTERM from CI, a kill
        // aimed at this process) pulumi has not seen it, and the abort sends it SIGINT.
        if (!(signal === "SIGINT" && process.stdin.isTTY)) {
            controller.abort();
        }
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    try {
        const result = await body({ signal: controller.signal, cancelled: () => cancelled || lost, previousHolderDied: lock.previousHolderDied, deadline });
        if (!cancelled && !lost) {
            return result;
        }
    } catch (err) {
        if (!cancelled && !lost) {
            throw err;
        }
    } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        lock.lost.removeEventListener("abort", onLost);
        await lock.release();
    }
    if (lost) {
        throw new LockLostError(`${command} of ${stackName}`, lock.where);
    }
    // Cancelled, whether the body then failed (pulumi stopped) or finished: one error either way.
    throw new CancelledError(`${command} of ${stackName}`);
}

/** The backend's update locks on the stack that a dead run left (file or S3 backend; none for Pulumi Cloud), now removed. */
async function breakDeadUpdateLocks(env: NodeJS.ProcessEnv, stackName: string, deadHolder: LockHolder | undefined): Promise<BackendLock[]> {
    if (env.PULUMI_BACKEND_URL === undefined || env.PULUMI_BACKEND_URL === "") {
        return [];
    }
    const backend = parseBackendUrl(env.PULUMI_BACKEND_URL, "PULUMI_BACKEND_URL");
    // The backend's lock directory is named by the short stack name, not `org/project/stack`.
    if (backend.kind === "file") {
        return breakDeadBackendLocks(backend.dir, PROJECT, stackName, MAX_BACKEND_LOCK_AGE_MS, deadHolder);
    }
    if (backend.kind === "s3") {
        // Loaded for an S3 backend only: the AWS SDK costs every other command 0.1 s to load.
        const { breakDeadBucketLocks, bucketClient } = await import("./s3-lease-store");
        const client = bucketClient(backend, env);
        try {
            return await breakDeadBucketLocks(client, backend, PROJECT, stackName, MAX_BACKEND_LOCK_AGE_MS, deadHolder);
        } finally {
            client.destroy();
        }
    }
    return [];
}

/**
 * Makes a stack a killed run left behind usable again: breaks the backend's update lock when its
 * holder is provably dead (breakDeadBackendLocks, breakDeadBucketLocks), and clears pending
 * operations with a refresh, which waits for a live holder's backend lock as the update does.
 * Returns what it did.
 */
export async function recoverStack(
    stack: Stack,
    env: NodeJS.ProcessEnv,
    log: Log,
    run: RunContext = {},
    stackName = stack.name,
    readState: (stack: Stack) => Promise<{ deployment?: unknown }> = exportedState,
): Promise<string[]> {
    const done: string[] = [];
    for (const lock of await breakDeadUpdateLocks(env, stackName, run.previousHolderDied)) {
        const line = `broke the update lock of ${stackName} left by pid ${lock.pid} on ${lock.hostname} (since ${lock.timestamp}), which is gone`;
        log(line);
        done.push(line);
    }
    const state = (await readState(stack)).deployment as { pending_operations?: unknown[] } | undefined;
    const pending = state?.pending_operations?.length ?? 0;
    if (pending > 0) {
        log(`${stackName} has ${pending} pending operation(s) from an interrupted run: refreshing to clear them`);
        const signal = run.signal;
        await whileLocked(() => stack.refresh({ clearPendingCreates: true, signal, onOutput: (out) => process.stderr.write(out) }), run.deadline ?? Date.now(), log, run.lockPollMs);
        done.push(`cleared ${pending} pending operation(s) with a refresh`);
    }
    return done;
}

const LOCKED = /the stack is currently locked|currently locked by/i;

/** The longest pause between two looks at another run's backend lock. */
const MAX_LOCK_POLL_MS = 30_000;

/**
 * Retries `operation` while the backend reports the stack locked by someone outside this CLI
 * (a hand-run `pulumi up`, another host; on Pulumi Cloud, any other run: there it is the only
 * lock), until the deadline. The pause doubles from `pollMs` up to 30 s: many runners waiting on
 * one long update ask the backend less and less often.
 */
export async function whileLocked<T>(operation: () => Promise<T>, deadline: number, log: Log, pollMs = 5000): Promise<T> {
    let announced = false;
    let pause = pollMs;
    for (;;) {
        try {
            return await operation();
        } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            if (!LOCKED.test(message) || Date.now() + pause > deadline) {
                throw err;
            }
            if (!announced) {
                log("the backend holds an update lock on this stack for another run; waiting for it");
                announced = true;
            }
            await new Promise((resolve) => setTimeout(resolve, pause));
            pause = Math.min(pause * 2, Math.max(pollMs, MAX_LOCK_POLL_MS));
        }
    }
}
