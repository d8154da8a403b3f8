// The S3 side of the lease lock and of recovering a stack on an S3 backend: the lease's conditional
// writes on a real bucket (AWS or S3-compatible), and the update locks Pulumi's own (DIY) backend
// leaves in that bucket, `<prefix>.pulumi/locks/<org>/<project>/<stack>/<id>.json`.
import {
    DeleteObjectCommand,
    GetObjectCommand,
    ListObjectsV2Command,
    PutObjectCommand,
    S3Client,
    S3ServiceException,
} from "@aws-sdk/client-s3";
import type { LeaseStore } from "./lease-lock";
import { processStartOf, sameProcessSpace, thisProcessSpace, type ProcessSpace } from "./process-record";
import type { BackendLock, LockHolder } from "./run-lock";

/** What reaching the backend's bucket needs, as backend-url's S3Backend spells it. */
export interface BucketPlace {
    bucket: string;
    prefix: string;
    endpoint?: string;
    region?: string;
    forcePathStyle: boolean;
}

/**
 * A client for the backend's bucket: endpoint, region and path style from the backend URL;
 * credentials from `env` when it names a key pair (the environment the run was given), else the
 * ambient AWS chain (profile, web identity, instance role).
 */
export function bucketClient(place: BucketPlace, env: NodeJS.ProcessEnv = process.env): S3Client {
    const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
    return new S3Client({
        endpoint: place.endpoint,
        ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey, sessionToken } } : {}),
        // Left to the ambient chain (AWS_REGION, the profile) when the URL names none.
        ...(place.region === undefined ? {} : { region: place.region }),
        forcePathStyle: place.forcePathStyle,
        maxAttempts: 3,
    });
}

/**
 * The store's "no": a precondition that did not hold, a concurrent conditional write, or no such
 * object. Not a missing bucket (also a 404): that is an error to report, not a lock to wait for.
 */
function refused(err: unknown): boolean {
    if (!(err instanceof S3ServiceException)) {
        return false;
    }
    const status = err.$metadata?.httpStatusCode;
    return status === 412 || status === 409 || err.name === "PreconditionFailed" || err.name === "ConditionalRequestConflict" || err.name === "NoSuchKey";
}

async function unlessRefused<T>(write: () => Promise<T>, no: T): Promise<T> {
    try {
        return await write();
    } catch (err) {
        if (refused(err)) {
            return no;
        }
        throw err;
    }
}

/** LeaseStore on a bucket with S3's conditional writes (If-None-Match on put, If-Match on put and delete). */
export function s3LeaseStore(client: S3Client, bucket: string): LeaseStore {
    const put = async (key: string, body: string, condition: { IfNoneMatch: string } | { IfMatch: string }): Promise<string | undefined> => {
        const out = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: "application/json", ...condition }));
        if (out.ETag === undefined) {
            throw new Error(`the bucket ${bucket} answered a conditional put of ${key} without an ETag: it cannot hold a lease`);
        }
        return out.ETag;
    };
    return {
        read: (key) =>
            unlessRefused(async () => {
                const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
                return { body: (await out.Body?.transformToString()) ?? "", etag: out.ETag ?? "" };
            }, undefined),
        create: (key, body) => unlessRefused(() => put(key, body, { IfNoneMatch: "*" }), undefined),
        replace: (key, body, etag) => unlessRefused(() => put(key, body, { IfMatch: etag }), undefined),
        remove: (key, etag) =>
            unlessRefused(async () => {
                await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, IfMatch: etag }));
                return true;
            }, false),
    };
}

/** Every update lock Pulumi's backend holds on the stack in the bucket, whatever the organisation. */
export async function bucketBackendLocks(client: S3Client, place: BucketPlace, project: string, stackName: string): Promise<BackendLock[]> {
    const root = `${place.prefix}.pulumi/locks/`;
    const locks: BackendLock[] = [];
    let token: string | undefined;
    do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: place.bucket, Prefix: root, ContinuationToken: token }));
        for (const { Key } of page.Contents ?? []) {
            const rest = Key?.slice(root.length).split("/");
            // <org>/<project>/<stack>/<id>.json
            if (Key === undefined || rest?.length !== 4 || rest[1] !== project || rest[2] !== stackName || !rest[3].endsWith(".json")) {
                continue;
            }
            try {
                const out = await client.send(new GetObjectCommand({ Bucket: place.bucket, Key }));
                const raw = JSON.parse((await out.Body?.transformToString()) ?? "") as Omit<BackendLock, "file">;
                locks.push({ file: `s3://${place.bucket}/${Key}`, pid: raw.pid, username: raw.username, hostname: raw.hostname, timestamp: raw.timestamp });
            } catch (err) {
                // Released between the listing and the read, or half-written: either way a live run's business.
                if (!(err instanceof SyntaxError) && !refused(err)) {
                    throw err;
                }
            }
        }
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return locks;
}

/**
 * True when an update lock in the bucket is provably the one a dead lease holder's `pulumi` left.
 * The lease expiring unrenewed is the proof its holder died; the lock is that holder's when it names
 * the holder's host and was taken at or after the holder's `since` (both times come from that one
 * host's clock). When the holder ran in our own host, boot and pid namespace, its pulumi's pid is
 * checked too: an orphaned pulumi still running keeps its lock.
 */
export function bucketLockIsDead(lock: BackendLock, deadHolder: LockHolder | undefined, here: ProcessSpace = thisProcessSpace()): boolean {
    if (deadHolder === undefined || lock.hostname !== deadHolder.hostname || !(Date.parse(lock.timestamp) >= Date.parse(deadHolder.since))) {
        return false;
    }
    return !sameProcessSpace(deadHolder, here) || (Number.isInteger(lock.pid) && lock.pid > 0 && processStartOf(lock.pid) === undefined);
}

/**
 * Removes the stack's update locks in the bucket that bucketLockIsDead proves dead, or older than
 * `maxAgeMs` (the only bound for a holder nothing proves dead). Returns the ones removed.
 */
export async function breakDeadBucketLocks(
    client: S3Client,
    place: BucketPlace,
    project: string,
    stackName: string,
    maxAgeMs: number,
    deadHolder?: LockHolder,
    now = new Date(),
    here: ProcessSpace = thisProcessSpace(),
): Promise<BackendLock[]> {
    const broken: BackendLock[] = [];
    for (const lock of await bucketBackendLocks(client, place, project, stackName)) {
        if (bucketLockIsDead(lock, deadHolder, here) || now.getTime() - Date.parse(lock.timestamp) > maxAgeMs) {
            await client.send(new DeleteObjectCommand({ Bucket: place.bucket, Key: lock.file.slice(`s3://${place.bucket}/`.length) }));
            broken.push(lock);
        }
    }
    return broken;
}
