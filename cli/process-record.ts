// The one reading of "is that process still running": a pid paired with its start time, and the
// place (host, boot, pid namespace) in which that pid means anything. Used by the run lock, the
// backend-lock rule and the port-forward records; local/lib.sh (pm__starttime) applies the same
// rule in shell: the same field, and a zombie counts as gone.
import * as fs from "fs";
import * as os from "os";

/**
 * The start time of a running process (field 22 of /proc/<pid>/stat, clock ticks since boot), or
 * undefined when no process runs with this pid. A zombie counts as gone: it has exited, only its
 * parent has not collected its status yet, and it will never again hold a lock or a port.
 */
export function processStartOf(pid: number): string | undefined {
    // No guard on the pid: 0, a negative, a fraction or NaN names no /proc entry, and so reads as gone.
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        // The command name (field 2) may hold spaces and parentheses: count from the last ")".
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return fields[0] === "Z" ? undefined : fields[19];
    } catch {
        return undefined;
    }
}

/**
 * True while that very process runs: the pid is live and was started at `start` (a reused pid was
 * not). An empty `start` never matches: a live process's start time is never empty.
 */
export function isRunning(pid: number, start: string): boolean {
    return processStartOf(pid) === start;
}

/** The `pid starttime` line local/lib.sh writes into its pid files; port-forward uses the same. */
export function pidRecordOf(pid: number): string {
    return `${pid} ${processStartOf(pid) ?? ""}\n`;
}

/** Reads a `pid starttime` line; undefined when it is empty or garbled. */
export function parsePidRecord(text: string): { pid: number; start: string } | undefined {
    const [pidText, start] = text.trim().split(/\s+/);
    const pid = Number(pidText);
    return Number.isInteger(pid) && pid > 0 && /^\d+$/.test(start ?? "") ? { pid, start } : undefined;
}

/**
 * Where a pid means something. Two containers can share a hostname (or a pid namespace can be
 * private behind a shared one); the kernel's boot id tells machines and boots apart, the pid
 * namespace tells containers on one kernel apart. A pid is only comparable between records whose
 * three fields are all equal.
 */
export interface ProcessSpace {
    hostname: string;
    /** /proc/sys/kernel/random/boot_id: new at every boot, different on every machine. */
    bootId: string;
    /** readlink /proc/self/ns/pid, e.g. `pid:[4026531836]`. */
    pidNamespace: string;
}

function readOr(read: () => string): string {
    try {
        return read().trim();
    } catch {
        // Unreadable (no /proc, another OS): an empty field never equals another record's, so no pid is compared.
        return "";
    }
}

/**
 * This process's host, boot and pid namespace. Read at every call, not cached: two small /proc
 * reads, a few times per run, and a cache would be one more state to get wrong.
 */
export function thisProcessSpace(): ProcessSpace {
    return {
        hostname: os.hostname(),
        bootId: readOr(() => fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8")),
        pidNamespace: readOr(() => fs.readlinkSync("/proc/self/ns/pid")),
    };
}

/**
 * True only when both records name the same host, boot and pid namespace, each field known (a
 * missing field of `a` never equals `b`'s string; an empty one, unreadable on both sides, must not match).
 */
export function sameProcessSpace(a: Partial<ProcessSpace>, b: ProcessSpace): boolean {
    return a.hostname === b.hostname && a.bootId !== "" && a.bootId === b.bootId && a.pidNamespace !== "" && a.pidNamespace === b.pidNamespace;
}
