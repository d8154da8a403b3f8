// How long `up` waits for the mirror's workloads to become ready: the one range that
// `prod-mirror up --ready-timeout` and prod-mirror:readyTimeoutSeconds are checked against, and the
// words every error states it in. The kubernetes provider's own bound is 10 minutes per Deployment;
// a service that never becomes ready (a wrong image tag, a crash loop) would hold a branch's
// pipeline that long before anyone learns why.

/** Shortest bound, in seconds: an image pull and a first readiness probe take this long on a warm cluster. */
export const READY_TIMEOUT_MIN_SECONDS = 10;

/** Longest bound, in seconds (1 hour): past it, waiting is no longer a bound. */
export const READY_TIMEOUT_MAX_SECONDS = 3600;

/**
 * Bound when nothing says otherwise: 3 minutes. The sample mirror is ready in well under a minute on
 * the 2-core local environment; three times that leaves room for a cold image pull.
 */
export const DEFAULT_READY_TIMEOUT_SECONDS = 180;

/** The range, as every error says it. */
export const READY_TIMEOUT_RANGE = `the workloads' readiness bound is ${READY_TIMEOUT_MIN_SECONDS} to ${READY_TIMEOUT_MAX_SECONDS} seconds`;

/** Why `seconds` is no readiness bound, or undefined. */
export function readyTimeoutProblem(seconds: number): string | undefined {
    return Number.isInteger(seconds) && seconds >= READY_TIMEOUT_MIN_SECONDS && seconds <= READY_TIMEOUT_MAX_SECONDS ? undefined : READY_TIMEOUT_RANGE;
}

/**
 * The provider's await bound on creating and updating an object, as Pulumi's customTimeouts. Delete
 * is left alone: how long a namespace's objects take to go is not a question of readiness.
 */
export function readyTimeouts(seconds: number): { create: string; update: string } {
    return { create: `${seconds}s`, update: `${seconds}s` };
}
