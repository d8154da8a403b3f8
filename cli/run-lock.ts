// Two runs on one branch must take turns, and a run killed half-way must not block the next one
// for ever. Two layers:
//  - our own lock file per stack, held for the whole `up`/`down` (config, images, update), which
//    the second run waits for: a queue, up to --lock-timeout;
//  - the file backend's own update lock, left behind by a killed `pulumi`, which is broken only
//    when its holder is provably dead (same host and pid gone) or older than a bound.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stackPath } from "./stack-path";

export interface LockHolder {
    pid: number;
    hostname: string;
    /** Start time of the process (clock ticks since boot, /proc/<pid>/stat field 22): tells a reused pid apart. */
    processStart?: string;
    command: string;
    since: string;
}

export class LockTimeoutError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "LockTimeoutError";
    }
}

/**
 * The start time of a live process, or undefined when there is none with this pid. A zombie
 * counts as gone (as in local/lib.sh): it has exited, only its parent has not reaped it yet.
 */
export function processStartOf(pid: number): string | undefined {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        // The command name (field 2) may hold spaces and parentheses: count from the last ")".
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return fields[0] === "Z" ? undefined : fields[19];
    } catch {
        return undefined;
    }
}

/** True only when the holder is provably gone: on this host, and its pid is dead or reused. */
export function holderIsDead(holder: LockHolder, hostname = os.hostname()): boolean {
    if (holder.hostname !== hostname) {
        return false;
    }
    const start = processStartOf(holder.pid);
    return start === undefined || (holder.processStart !== undefined && start !== holder.processStart);
}

function readHolder(file: string): LockHolder | undefined {
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as LockHolder;
    } catch {
        // Gone since we looked, or written half-way by a holder that is creating it right now.
        return undefined;
    }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface RunLock {
    file: string;
    release(): void;
}

/**
 * Takes the stack's run lock, waiting while another live run holds it. A lock whose holder is
 * dead is taken over. Throws LockTimeoutError naming the holder after `timeoutMs`.
 */
export async function acquireRunLock(
    lockDir: string,
    stackName: string,
    command: string,
    timeoutMs: number,
    log: (line: string) => void,
    pollMs = 500,
): Promise<RunLock> {
    fs.mkdirSync(lockDir, { recursive: true });
    const file = stackPath(lockDir, stackName, ".lock");
    const me: LockHolder = { pid: process.pid, hostname: os.hostname(), processStart: processStartOf(process.pid), command, since: new Date().toISOString() };
    const deadline = Date.now() + timeoutMs;
    let announced = false;
    for (;;) {
        try {
            // O_EXCL: exactly one of the racing runs creates it.
            fs.writeFileSync(file, JSON.stringify(me), { flag: "wx", mode: 0o644 });
            return { file, release: () => releaseIfMine(file, me) };
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
                throw err;
            }
        }
        const holder = readHolder(file);
        if (holder !== undefined && holderIsDead(holder)) {
            log(`run lock of ${stackName} was held by pid ${holder.pid} (${holder.command}, since ${holder.since}), which is gone: taking it over`);
            fs.rmSync(file, { force: true });
            continue;
        }
        if (Date.now() >= deadline) {
            const who = holder === undefined ? "another run" : `pid ${holder.pid} on ${holder.hostname} (${holder.command}, since ${holder.since})`;
            throw new LockTimeoutError(
                `stack ${stackName} is busy: ${who} holds ${file}. Wait for it, raise --lock-timeout (e.g. --lock-timeout 60m), ` +
                    `or, if that run is gone on another host, delete the file.`,
            );
        }
        if (!announced && holder !== undefined) {
            log(`stack ${stackName} is busy with pid ${holder.pid} (${holder.command}, since ${holder.since}); waiting up to ${Math.round(timeoutMs / 60000)} min`);
            announced = true;
        }
        await sleep(pollMs);
    }
}

function releaseIfMine(file: string, me: LockHolder): void {
    const holder = readHolder(file);
    if (holder?.pid === me.pid && holder.hostname === me.hostname) {
        fs.rmSync(file, { force: true });
    }
}

/** The file backend's lock record (`.pulumi/locks/<org>/<project>/<stack>/<id>.json`). */
export interface BackendLock {
    file: string;
    pid: number;
    username: string;
    hostname: string;
    timestamp: string;
}

/** The directory of the file backend a `file://` URL names, or undefined for any other backend. */
export function fileBackendDir(backendUrl: string | undefined): string | undefined {
    if (backendUrl?.startsWith("file://") !== true) {
        return undefined;
    }
    const rest = backendUrl.slice("file://".length).replace(/\?.*$/, "");
    return rest === "~" || rest.startsWith("~/") ? path.join(os.homedir(), rest.slice(1)) : rest;
}

/** Every update lock the file backend holds on the stack, whatever the organisation directory. */
export function backendLocks(backendDir: string, project: string, stackName: string): BackendLock[] {
    const root = path.join(backendDir, ".pulumi", "locks");
    if (!fs.existsSync(root)) {
        return [];
    }
    const locks: BackendLock[] = [];
    for (const org of fs.readdirSync(root)) {
        const dir = stackPath(path.join(root, org, project), stackName);
        if (!fs.existsSync(dir)) {
            continue;
        }
        for (const name of fs.readdirSync(dir).filter((n) => n.endsWith(".json"))) {
            const file = path.join(dir, name);
            try {
                const raw = JSON.parse(fs.readFileSync(file, "utf8")) as Omit<BackendLock, "file">;
                locks.push({ file, pid: raw.pid, username: raw.username, hostname: raw.hostname, timestamp: raw.timestamp });
            } catch {
                // A lock being written right now belongs to a live run.
            }
        }
    }
    return locks;
}

/**
 * Removes the backend's update locks whose holder is provably dead, or older than `maxAgeMs`.
 * Returns the ones removed; a live holder's lock is never touched.
 */
export function breakDeadBackendLocks(backendDir: string, project: string, stackName: string, maxAgeMs: number, now = new Date()): BackendLock[] {
    const broken: BackendLock[] = [];
    for (const lock of backendLocks(backendDir, project, stackName)) {
        const age = now.getTime() - Date.parse(lock.timestamp);
        const dead = holderIsDead({ pid: lock.pid, hostname: lock.hostname, command: "pulumi", since: lock.timestamp });
        if (dead || age > maxAgeMs) {
            fs.rmSync(lock.file, { force: true });
            broken.push(lock);
        }
    }
    return broken;
}
