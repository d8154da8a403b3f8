// Two runs on one branch must take turns, and a run killed half-way must not block the next one
// for ever. Two layers:
//  - our own run lock per stack, held for the whole `up`/`down`/reap (config, images, update),
//    which the second run waits for: a queue, up to --lock-timeout;
//  - the file backend's own update lock, left behind by a killed `pulumi`, which is broken only
//    when its holder is provably dead (see breakDeadBackendLocks) or older than a bound.
//
// The run lock is a kernel lock (flock(2)) on `<lockDir>/<stack>.lock`, not a file whose holder's
// pid we judge. Deciding "the holder is dead, take it over" from outside is a race that cannot be
// closed with files: two waiters both see the dead holder, both remove the file, and one removes
// the other's fresh lock, so both hold it. With flock the kernel decides: exactly one waiter gets
// the lock, and it is released when its holder's last descriptor closes, which includes the holder
// dying by any signal. Nothing is ever taken over and the file is never removed (removing it would
// let a waiter lock an unlinked inode while the next run locks a new one).
//
// Node has no flock(2) binding, so util-linux `flock` takes the lock on a descriptor it inherits
// from us (`flock -x 3`): a flock belongs to the open file description, which we share, so the lock
// stays ours after `flock` exits, until we close the descriptor or die. This is better than a
// `flock ... cat` helper that holds the lock for us: no second process whose lifetime could drift
// from ours, and release() is a synchronous close. Node opens files close-on-exec, so pulumi and
// the port-forwards we start never inherit (and never prolong) the lock.
//
// The same file carries the holder's record (JSON), written once the lock is held and emptied by
// release() before it closes: for the "busy with pid ..." message, and as proof. A record found by
// the next holder means its writer lost the lock without releasing it: it died. An empty or
// garbled file is only a missing message: it never blocks anyone.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { processStartOf, sameProcessSpace, thisProcessSpace, type ProcessSpace } from "./process-record";
import { stackPath } from "./stack-path";

export interface LockHolder {
    pid: number;
    hostname: string;
    /** The holder's kernel boot id and pid namespace: its pid means nothing outside them (see ProcessSpace). */
    bootId?: string;
    pidNamespace?: string;
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

/** The record in a run lock file, or undefined when it is empty, garbled or not there. */
function parseHolder(text: string): LockHolder | undefined {
    try {
        const h = JSON.parse(text) as Partial<LockHolder> | null;
        if (typeof h?.pid === "number" && typeof h.hostname === "string" && typeof h.command === "string" && typeof h.since === "string") {
            return h as LockHolder;
        }
    } catch {
        // Written half-way by a holder that is writing it right now, or that died while writing it.
    }
    return undefined;
}

/**
 * The holder record of a stack's run lock file. While the lock is held it names the holder; when
 * nobody holds the lock it names a holder that died without releasing it (or is undefined).
 */
export function runLockHolder(lockDir: string, stackName: string): LockHolder | undefined {
    try {
        return parseHolder(fs.readFileSync(stackPath(lockDir, stackName, ".lock"), "utf8"));
    } catch {
        return undefined;
    }
}

// The exit status we ask `flock` to use for "held by another": its default, 1, is also what it
// returns for some errors.
const BUSY = 75;

/** Takes an exclusive flock on `fd` within `timeoutMs` (0: try once); false when another holds it. */
function flockWithin(fd: number, timeoutMs: number): Promise<boolean> {
    const wait = timeoutMs > 0 ? ["-w", String(timeoutMs / 1000)] : ["-n"];
    return new Promise((resolve, reject) => {
        const child = spawn("flock", ["-x", "-E", String(BUSY), ...wait, "3"], { stdio: ["ignore", "ignore", "pipe", fd] });
        let stderr = "";
        child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", (err: NodeJS.ErrnoException) =>
            reject(
                err.code === "ENOENT"
                    ? new Error("the run lock needs the flock command (util-linux), which is not on PATH: install util-linux (e.g. apt-get install util-linux)")
                    : err,
            ),
        );
        child.on("close", (code, signal) => {
            if (code === 0 || code === BUSY) {
                resolve(code === 0);
            } else {
                reject(new Error(`flock on the run lock failed (exit ${code ?? signal}): ${stderr.trim()}`));
            }
        });
    });
}

export interface RunLock {
    file: string;
    /** Drops the lock; a second call does nothing (and never touches a lock taken since). */
    release(): void;
    /**
     * The previous holder, when it lost the lock without releasing it: it died (the kernel dropped
     * its lock). breakDeadBackendLocks takes it as the proof it needs.
     */
    previousHolderDied?: LockHolder;
}

const who = (holder: LockHolder | undefined): string =>
    holder === undefined ? "another run" : `pid ${holder.pid} on ${holder.hostname} (${holder.command}, since ${holder.since})`;

/**
 * Takes the stack's run lock, waiting while another run holds it. Throws LockTimeoutError naming
 * the holder after `timeoutMs`. `_pollMs` is accepted for callers written for the polling lock:
 * the kernel now wakes the waiter, nothing polls.
 */
export async function acquireRunLock(
    lockDir: string,
    stackName: string,
    command: string,
    timeoutMs: number,
    log: (line: string) => void,
    _pollMs?: number,
): Promise<RunLock> {
    fs.mkdirSync(lockDir, { recursive: true });
    const file = stackPath(lockDir, stackName, ".lock");
    const deadline = Date.now() + timeoutMs;
    let announced = false;
    for (;;) {
        // Read-write, created if missing, never truncated on open: the record may be the holder's.
        const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
        let previous: string;
        try {
            if (!(await flockWithin(fd, 0))) {
                if (!announced && timeoutMs > 0) {
                    const holder = runLockHolder(lockDir, stackName);
                    const busyWith = holder === undefined ? "another run" : `pid ${holder.pid} (${holder.command}, since ${holder.since})`;
                    log(`stack ${stackName} is busy with ${busyWith}; waiting up to ${Math.round(timeoutMs / 60000)} min`);
                    announced = true;
                }
                const left = deadline - Date.now();
                if (left <= 0 || !(await flockWithin(fd, left))) {
                    throw new LockTimeoutError(
                        `stack ${stackName} is busy: ${who(runLockHolder(lockDir, stackName))} holds ${file}. Wait for it, raise --lock-timeout ` +
                            `(e.g. --lock-timeout 60m), or stop that run: the lock is the kernel's and is released the moment its holder exits ` +
                            `(deleting the file does not release it and would let two runs in).`,
                    );
                }
            }
            if (!sameFile(fd, file)) {
                // Someone removed or replaced the file while we waited: our lock is on an inode nobody else will ever lock.
                fs.closeSync(fd);
                continue;
            }
            previous = fs.readFileSync(fd, "utf8");
            const me: LockHolder = { pid: process.pid, ...thisProcessSpace(), processStart: processStartOf(process.pid), command, since: new Date().toISOString() };
            fs.ftruncateSync(fd, 0);
            fs.writeSync(fd, JSON.stringify(me), 0);
        } catch (err) {
            fs.closeSync(fd);
            throw err;
        }
        return held(fd, file, stackName, previous, log);
    }
}

function sameFile(fd: number, file: string): boolean {
    try {
        const [ours, named] = [fs.fstatSync(fd), fs.statSync(file)];
        return ours.ino === named.ino && ours.dev === named.dev;
    } catch {
        return false;
    }
}

/** The lock we now hold on `fd`; `previous` is the record that was in the file when we got it. */
function held(fd: number, file: string, stackName: string, previous: string, log: (line: string) => void): RunLock {
    let released = false;
    const lock: RunLock = {
        file,
        release: () => {
            // Once only: the descriptor number may belong to another file (another run's lock) after the close.
            if (released) {
                return;
            }
            released = true;
            try {
                // Emptied while still held, so that no record outlives a clean release.
                fs.ftruncateSync(fd, 0);
            } finally {
                fs.closeSync(fd);
            }
        },
    };
    const dead = parseHolder(previous);
    if (dead !== undefined) {
        lock.previousHolderDied = dead;
        log(`run lock of ${stackName} was held by ${who(dead)}, which is gone without releasing it: taking it over`);
    } else if (previous.trim() !== "") {
        log(`run lock of ${stackName} had an unreadable holder record (a run died while writing it): ignored`);
    }
    return lock;
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
 * True when a backend lock is provably the one a dead run's `pulumi` left. Pulumi's record has
 * only pid, hostname and timestamp: no boot id, no pid namespace, no start time, so its pid alone
 * proves nothing (a container with our hostname sees other pids; a pid is reused). It is dead only
 * when all of these hold:
 *  - the run lock we hold had a previous holder that died without releasing it (the kernel
 *    dropped its lock: proof), and that holder's record names our hostname, boot id and pid
 *    namespace, so the pulumi it started had its pid in our namespace;
 *  - the backend lock names our hostname and was taken at or after that holder's `since`: it is
 *    that run's pulumi, not an older lock of someone else;
 *  - no process with that pid runs here (a live one, even with a reused pid, counts as alive).
 * Any mismatch, missing field or unreadable time counts as alive.
 */
export function backendLockIsDead(lock: BackendLock, deadHolder: LockHolder | undefined, here: ProcessSpace = thisProcessSpace()): boolean {
    if (deadHolder === undefined || !sameProcessSpace(deadHolder, here) || lock.hostname !== here.hostname) {
        return false;
    }
    const taken = Date.parse(lock.timestamp);
    const since = Date.parse(deadHolder.since);
    return taken >= since && Number.isInteger(lock.pid) && lock.pid > 0 && processStartOf(lock.pid) === undefined;
}

/**
 * Removes the backend's update locks that backendLockIsDead proves dead, or older than `maxAgeMs`
 * (the only bound for a holder we cannot check). Returns the ones removed.
 */
export function breakDeadBackendLocks(
    backendDir: string,
    project: string,
    stackName: string,
    maxAgeMs: number,
    deadHolder?: LockHolder,
    now = new Date(),
    here: ProcessSpace = thisProcessSpace(),
): BackendLock[] {
    const broken: BackendLock[] = [];
    for (const lock of backendLocks(backendDir, project, stackName)) {
        const age = now.getTime() - Date.parse(lock.timestamp);
        if (backendLockIsDead(lock, deadHolder, here) || age > maxAgeMs) {
            fs.rmSync(lock.file, { force: true });
            broken.push(lock);
        }
    }
    return broken;
}
