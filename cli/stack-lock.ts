// The one shape of a stack's run lock, whichever kind holds it (a kernel flock beside a file
// backend, a lease object in an S3 bucket, nothing of ours for Pulumi Cloud). Types only: the
// factory that picks a kind lives in lock-for-backend.ts, so that the kinds never import it.
import type { LockHolder } from "./run-lock";

export interface StackLock {
    /** Where the lock lives, for messages: a file path or an s3:// URL. */
    where: string;
    /** Drops the lock; a second call does nothing (and never touches a lock taken since). */
    release(): Promise<void>;
    /**
     * The previous holder, when it lost the lock without releasing it (a flock the kernel dropped,
     * a lease that expired unrenewed): it died. Breaking the backend's update lock it left needs this.
     */
    previousHolderDied?: LockHolder;
    /**
     * Aborted when the lock is lost while held: a lease whose renewal was refused (another run took
     * it over) or that could not be renewed within its length. A run must stop at once, because
     * another may be changing the stack. A kernel lock is never lost while its holder lives.
     */
    lost: AbortSignal;
}

/** Where a stack's run lock lives, decided from the backend (lockPlaceFor). */
export type LockPlace =
    | { kind: "flock"; dir: string }
    | { kind: "lease"; bucket: string; prefix: string; endpoint?: string; region?: string; forcePathStyle: boolean; leaseMs: number }
    | { kind: "none"; why: string };
