// Which run lock a stack gets: it lives where the state lives, so that every runner that shares a
// backend shares the lock. PULUMI_BACKEND_URL alone decides.
//  - file:// → a kernel flock in the backend directory (`<dir>/.prod-mirror/locks`); the local
//    default's own backend keeps its lock where it always was, `<mirrorsDir>/locks`;
//  - s3:// → a lease object in the backend's bucket (lease-lock.ts);
//  - Pulumi Cloud → no lock of ours: Pulumi's own update lock, waited on (whileLocked).
import * as path from "path";
import { PROJECT } from "../components/config-error";
import { checkedStackName } from "../components/naming";
import { parseBackendUrl } from "./backend-url";
import { acquireLease } from "./lease-lock";
import { processStartOf, thisProcessSpace } from "./process-record";
import { acquireRunLock, LockTimeoutError } from "./run-lock";
import type { LockPlace, StackLock } from "./stack-lock";

export const LEASE_SECONDS_VARIABLE = "PROD_MIRROR_LEASE_SECONDS";
/** A dead holder's branch waits up to this long; a live one renews every third of it. */
export const DEFAULT_LEASE_SECONDS = 60;

/** The lease length from the environment; throws naming the variable and the fix. */
export function leaseMsFrom(env: NodeJS.ProcessEnv): number {
    const raw = env[LEASE_SECONDS_VARIABLE];
    if (raw === undefined || raw === "") {
        return DEFAULT_LEASE_SECONDS * 1000;
    }
    const seconds = Number(raw);
    if (!Number.isFinite(seconds) || seconds <= 0 || !/^\d+(\.\d+)?$/.test(raw.trim())) {
        throw new Error(`${LEASE_SECONDS_VARIABLE} ${JSON.stringify(raw)} is not a lease length: give a number of seconds above 0, e.g. ${LEASE_SECONDS_VARIABLE}=${DEFAULT_LEASE_SECONDS}`);
    }
    return seconds * 1000;
}

/** Where the run locks of the stacks on `backendUrl` live. Pure. */
export function lockPlaceFor(backendUrl: string | undefined, mirrorsDir: string, env: NodeJS.ProcessEnv = {}): LockPlace {
    const localDefault: LockPlace = { kind: "flock", dir: path.join(mirrorsDir, "locks") };
    if (backendUrl === undefined || backendUrl === "") {
        return localDefault;
    }
    const backend = parseBackendUrl(backendUrl, "PULUMI_BACKEND_URL");
    switch (backend.kind) {
        case "file":
            // The local default keeps its backend in the mirrors directory (local-environment's cliEnvFrom).
            return backend.dir === path.join(mirrorsDir, "pulumi-backend") ? localDefault : { kind: "flock", dir: path.join(backend.dir, ".prod-mirror", "locks") };
        case "s3":
            return { kind: "lease", bucket: backend.bucket, prefix: backend.prefix, endpoint: backend.endpoint, region: backend.region, forcePathStyle: backend.forcePathStyle, leaseMs: leaseMsFrom(env) };
        case "cloud":
            return { kind: "none", why: "Pulumi Cloud serialises updates itself; its update lock is waited on" };
    }
}

/** The lease object's key: beside the state, under the backend's own prefix. */
export function leaseKey(prefix: string, stackName: string): string {
    return `${prefix}.prod-mirror/locks/${PROJECT}/${checkedStackName(stackName)}.json`;
}

/** Takes the stack's run lock where `place` says, waiting up to `timeoutMs` for another holder. */
export async function acquireStackLock(
    place: LockPlace,
    stackName: string,
    command: string,
    timeoutMs: number,
    log: (line: string) => void,
    env: NodeJS.ProcessEnv = process.env,
): Promise<StackLock> {
    switch (place.kind) {
        case "flock": {
            const lock = await acquireRunLock(place.dir, stackName, command, timeoutMs, log);
            return {
                where: lock.file,
                previousHolderDied: lock.previousHolderDied,
                lost: new AbortController().signal,
                release: () => Promise.resolve(lock.release()),
            };
        }
        case "lease": {
            const key = leaseKey(place.prefix, stackName);
            const where = `s3://${place.bucket}/${key}`;
            // Loaded for an S3 backend only: the AWS SDK costs every other command 0.1 s to load.
            const { bucketClient, s3LeaseStore } = await import("./s3-lease-store");
            const client = bucketClient(place, env);
            const lease = await acquireLease({
                store: s3LeaseStore(client, place.bucket),
                key,
                where,
                stackName,
                command,
                timeoutMs,
                leaseMs: place.leaseMs,
                log,
                me: { pid: process.pid, ...thisProcessSpace(), processStart: processStartOf(process.pid), command },
            }).catch((err: unknown) => {
                client.destroy();
                if (err instanceof LockTimeoutError) {
                    throw err;
                }
                throw new Error(
                    `the run lock of ${stackName} lives in the state backend's bucket (${where}), which could not be used: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}. ` +
                        "Check that PULUMI_BACKEND_URL names an existing bucket (and its endpoint/region) and that the AWS credentials may read, write and delete objects in it",
                    { cause: err },
                );
            });
            return {
                ...lease,
                release: async () => {
                    await lease.release();
                    client.destroy();
                },
            };
        }
        case "none":
            checkedStackName(stackName);
            return { where: "Pulumi Cloud's update lock", lost: new AbortController().signal, release: () => Promise.resolve() };
    }
}
