// A stack's run lock for runners on different machines that share an S3 backend: a lease object in
// the backend's bucket, written only with conditional writes, that expires unless its holder renews it.
//
// - Acquire: create the object only if none exists (If-None-Match: *). Exactly one creator wins.
// - Renew every lease/3: replace it only if it still has the ETag we wrote (If-Match); each write
//   gives a new ETag, so a waiter sees the holder is alive by the ETag changing.
// - Release: delete it only if it still has our ETag, so we never delete a lock taken since.
// - Take over: a waiter that has itself watched the object keep one ETag for longer than the lease
//   (on its own monotonic clock: no two machines' clocks are ever compared) replaces it with
//   If-Match <that ETag>. Of several waiters, the store lets exactly one replace that ETag.
// - Lost: a holder whose renewal is refused (another took over) or that has not renewed for two
//   thirds of a lease (a third before anyone may take over) aborts `lost` and says so.
//
// What it cannot tell apart: a holder that stopped renewing but still acts (a CLI frozen for longer
// than a lease while its `pulumi` child runs on). Such a holder learns at its next renewal that it
// lost the lock and cancels its `pulumi`; until then two runs may overlap. Pulumi's own update lock
// is the second guard: it is broken only when it is provably that dead holder's (recoverStack).
import { LockTimeoutError, type LockHolder } from "./run-lock";
import type { StackLock } from "./stack-lock";

/** The conditional object operations a lease needs (S3's semantics; a fake implements the same in tests). */
export interface LeaseStore {
    /** The object and its ETag, or undefined when there is none. */
    read(key: string): Promise<{ body: string; etag: string } | undefined>;
    /** Writes only if no object exists; the new ETag, or undefined when one exists. */
    create(key: string, body: string): Promise<string | undefined>;
    /** Writes only if the object has `etag`; the new ETag, or undefined when it has another or is gone. */
    replace(key: string, body: string, etag: string): Promise<string | undefined>;
    /** Deletes only if the object has `etag`; false when it has another or is gone. */
    remove(key: string, etag: string): Promise<boolean>;
}

/** The lease object's content: the holder's record, its lease length and how often it renewed. */
export interface LeaseRecord extends LockHolder {
    leaseSeconds: number;
    renewals: number;
}

export interface LeaseOptions {
    store: LeaseStore;
    key: string;
    /** The object's URL, for messages (s3://bucket/key). */
    where: string;
    stackName: string;
    command: string;
    /** How long to wait for another holder; 0: try once. */
    timeoutMs: number;
    leaseMs: number;
    log: (line: string) => void;
    /** Who we are: pid, hostname (and process space) as run-lock's LockHolder; `since` is stamped when the lease is ours. */
    me: Omit<LockHolder, "since">;
    /** A monotonic clock in ms (performance.now by default); never the wall clock. */
    clock?: () => number;
}

/** The record in a lease object, or undefined when it is garbled. */
export function parseLeaseRecord(text: string): LeaseRecord | undefined {
    try {
        const r = JSON.parse(text) as Partial<LeaseRecord> | null;
        if (typeof r?.pid === "number" && typeof r.hostname === "string" && typeof r.command === "string" && typeof r.since === "string" && typeof r.leaseSeconds === "number") {
            return { ...r, renewals: typeof r.renewals === "number" ? r.renewals : 0 } as LeaseRecord;
        }
    } catch {
        // Only our own writers write it, whole; a garbled one still expires like any other.
    }
    return undefined;
}

const who = (r: LeaseRecord | undefined): string =>
    r === undefined ? "another run" : `pid ${r.pid} on host ${r.hostname} (${r.command}, since ${r.since})`;

/**
 * How long a waiter must see one ETag unchanged before it may take the object over: the longer of
 * the holder's lease (it renews at a third of it) and ours (a garbled record still gets a full lease).
 */
export function expiryMs(record: LeaseRecord | undefined, leaseMs: number): number {
    return Math.max(leaseMs, (record?.leaseSeconds ?? 0) * 1000);
}

/** What a waiter has seen of the object: the ETag and when (its monotonic clock) it first saw it. */
export interface Watch {
    etag: string;
    since: number;
}

/** The watch after seeing `etag` at `now`: kept while the ETag stays, restarted when it changes (the holder renewed). */
export function watchNext(watch: Watch | undefined, etag: string, now: number): Watch {
    return watch?.etag === etag ? watch : { etag, since: now };
}

/** True once the watched ETag has stayed the same for longer than `expiry` ms of the waiter's own clock. */
export function expired(watch: Watch, now: number, expiry: number): boolean {
    return now - watch.since > expiry;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Takes the stack's lease, waiting (up to timeoutMs) while a live holder renews it. */
export async function acquireLease(options: LeaseOptions): Promise<StackLock> {
    const { store, key, where, stackName, timeoutMs, leaseMs, log } = options;
    const clock = options.clock ?? (() => performance.now());
    const start = clock();
    // Often enough to see a renewal (every lease/3) well before the lease runs out.
    const pollMs = Math.max(20, Math.min(2000, leaseMs / 6));
    // `since` is the holder's own wall clock, only ever compared with times from that same host (Pulumi's lock).
    const recordFrom = (since: string) => (renewals: number): string => JSON.stringify({ ...options.me, since, leaseSeconds: leaseMs / 1000, renewals } satisfies LeaseRecord);
    let watch: Watch | undefined;
    let announced = false;
    for (;;) {
        const record = recordFrom(new Date().toISOString());
        const created = await store.create(key, record(0));
        if (created !== undefined) {
            return holdLease(options, created, undefined, record);
        }
        const current = await store.read(key);
        if (current === undefined) {
            continue; // Released between our create and our read: try again at once.
        }
        const holder = parseLeaseRecord(current.body);
        const now = clock();
        watch = watchNext(watch, current.etag, now);
        if (expired(watch, now, expiryMs(holder, leaseMs))) {
            const taken = await store.replace(key, record(0), current.etag);
            if (taken !== undefined) {
                log(`run lock of ${stackName} was held by ${who(holder)}, whose lease (${expiryMs(holder, leaseMs) / 1000}s) ran out unrenewed: it is gone; taking it over`);
                return holdLease(options, taken, holder, record);
            }
            // Another waiter took it over, or the holder renewed at the last moment: watch afresh.
            watch = undefined;
            continue;
        }
        const left = timeoutMs - (now - start);
        if (left <= 0) {
            throw new LockTimeoutError(
                `stack ${stackName} is busy: ${who(holder)} holds ${where}. Wait for it, raise --lock-timeout (e.g. --lock-timeout 60m), ` +
                    `or stop that run: a holder that died is taken over once its lease (${expiryMs(holder, leaseMs) / 1000}s) runs out unrenewed ` +
                    `(deleting the object while its holder lives would let two runs in).`,
            );
        }
        if (!announced) {
            log(`stack ${stackName} is busy with ${who(holder)}; waiting up to ${Math.round(timeoutMs / 60000)} min`);
            announced = true;
        }
        await sleep(Math.min(pollMs, left));
    }
}

/** The lease we now hold with `etag`: renewed every lease/3 until released or lost. */
function holdLease(options: LeaseOptions, firstEtag: string, previous: LeaseRecord | undefined, record: (renewals: number) => string): StackLock {
    const { store, key, where, stackName, leaseMs, log } = options;
    const lost = new AbortController();
    let etag = firstEtag;
    let renewals = 0;
    /** Set by release(): no renewal is scheduled any more. */
    let releasing = false;
    /** Set once release() is over: nothing that happens later is ours to report. */
    let finished = false;
    let inFlight: Promise<void> = Promise.resolve();
    let timer: NodeJS.Timeout | undefined;

    const lose = (why: string): void => {
        if (!lost.signal.aborted && !finished) {
            log(`lost the run lock of ${stackName} (${where}): ${why}; another run may be changing the stack, so this run stops`);
            lost.abort(new Error(`lost the run lock of ${stackName}: ${why}`));
        }
    };
    // A waiter may take over one lease after our last renewal was written. Two thirds of a lease
    // without a renewal that succeeded (the store refusing to answer, a renewal that hangs) is
    // the point to stop, a third of a lease before anyone could: it does not wait for a failed
    // call to come back.
    let lastError: string | undefined;
    let watchdog: NodeJS.Timeout | undefined;
    const arm = (): void => {
        clearTimeout(watchdog);
        watchdog = setTimeout(
            () => lose(`no renewal succeeded for ${(leaseMs * 2) / 3000}s of its ${leaseMs / 1000}s lease (${lastError ?? "the renewal did not answer"})`),
            (leaseMs * 2) / 3,
        );
        watchdog.unref();
    };
    arm();
    const renew = async (): Promise<void> => {
        try {
            const next = await store.replace(key, record(renewals + 1), etag);
            if (next === undefined) {
                lose("its renewal was refused: another run took the lease over, or the lock object was removed");
                return;
            }
            // Kept even while releasing: the delete needs the ETag the object has now.
            etag = next;
            renewals++;
            arm();
        } catch (err) {
            // A passing network error: the next tick retries, and the watchdog bounds how long.
            lastError = err instanceof Error ? err.message : String(err);
        }
    };
    const schedule = (): void => {
        timer = setTimeout(() => {
            inFlight = renew().then(() => {
                if (!releasing && !lost.signal.aborted) {
                    schedule();
                }
            });
        }, leaseMs / 3);
        // Never what keeps the process alive: a run that forgot to release still exits.
        timer.unref();
    };
    schedule();

    return {
        where,
        previousHolderDied: previous,
        lost: lost.signal,
        release: async () => {
            if (releasing) {
                return;
            }
            releasing = true;
            clearTimeout(timer);
            try {
                // A renewal in flight may change our ETag: wait for it, unless it hangs past the watchdog (the lock is lost then).
                const gone = new Promise<void>((resolve) => (lost.signal.aborted ? resolve() : lost.signal.addEventListener("abort", () => resolve())));
                await Promise.race([inFlight, gone]);
                if (!lost.signal.aborted) {
                    // False: someone took it over already; theirs is not ours to delete.
                    await store.remove(key, etag);
                }
            } finally {
                finished = true;
                clearTimeout(watchdog);
            }
        },
    };
}
