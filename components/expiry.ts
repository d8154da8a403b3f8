// A mirror's lifetime: the one range that `prod-mirror up --ttl`, prod-mirror:ttlHours and
// prod-mirror:expiresAt are all checked against, and the words every error states it in.

/**
 * Shortest lifetime, in hours: a mirror must outlive the pipeline that made it (image builds, `up`,
 * the tests), or a reap removes it from under a running test.
 */
export const TTL_MIN_HOURS = 1;

/**
 * Longest lifetime, in hours (30 days): a mirror is one branch's test environment; one that lives
 * longer has been forgotten, and holds cluster quota and cloud resources until someone notices.
 * Every `up` renews it, so a branch in use never meets this limit.
 */
export const TTL_MAX_HOURS = 720;

/** Lifetime when nothing says otherwise: 72 hours, so a mirror made on Friday survives the weekend. */
export const DEFAULT_TTL_HOURS = 72;

/** The range, as every error says it. */
export const TTL_RANGE = `a mirror lives ${TTL_MIN_HOURS} to ${TTL_MAX_HOURS} hours (${TTL_MAX_HOURS / 24} days)`;

/** Why `hours` is no lifetime, or undefined. */
export function ttlProblem(hours: number): string | undefined {
    return Number.isFinite(hours) && hours >= TTL_MIN_HOURS && hours <= TTL_MAX_HOURS ? undefined : TTL_RANGE;
}

/**
 * Why `expiresAt` is no expiry at `now`, or undefined. An expiry is a lifetime already running: it
 * may be nearer than the minimum (time passed since it was stamped), but not past, and not further
 * away than the maximum.
 */
export function expiryProblem(expiresAt: Date, now: Date): string | undefined {
    const hours = (expiresAt.getTime() - now.getTime()) / 3_600_000;
    if (hours <= 0) {
        return `${TTL_RANGE}, and this expiry has passed`;
    }
    if (hours > TTL_MAX_HOURS) {
        return `${TTL_RANGE}, and this expiry is ${Math.floor(hours)} hours away`;
    }
    return undefined;
}
