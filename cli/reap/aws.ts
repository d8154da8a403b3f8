// The AWS side of `reap`: every bucket, queue and table with its tags and creation time, and
// their removal. What to remove is decided in plan.ts; nothing here decides.
import { DeleteBucketCommand, DeleteObjectsCommand, GetBucketTaggingCommand, ListBucketsCommand, ListObjectVersionsCommand, S3Client } from "@aws-sdk/client-s3";
import { DeleteQueueCommand, GetQueueAttributesCommand, ListQueuesCommand, ListQueueTagsCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DeleteTableCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand, ListTagsOfResourceCommand } from "@aws-sdk/client-dynamodb";
import type { AwsKind, ReapAwsResource } from "./plan";

export interface AwsClients {
    s3: S3Client;
    sqs: SQSClient;
    dynamo: DynamoDBClient;
}

export function awsClients(endpoint: string, region: string, env: NodeJS.ProcessEnv): AwsClients {
    // Keys from the caller's environment when it has them; otherwise an emulator on this host takes
    // any, and anything else gets the SDK's own chain (profile, SSO, instance role), never made-up keys.
    const loopback = /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/.test(endpoint);
    const credentials = env.AWS_ACCESS_KEY_ID !== undefined && env.AWS_SECRET_ACCESS_KEY !== undefined
        ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }
        : loopback ? { accessKeyId: "test", secretAccessKey: "test" } : undefined;
    const common = { endpoint, region, credentials, maxAttempts: 2 };
    return { s3: new S3Client({ ...common, forcePathStyle: true }), sqs: new SQSClient(common), dynamo: new DynamoDBClient(common) };
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split("\n")[0];

const tagsOf = (list: Array<{ Key?: string; Value?: string }> | undefined): Record<string, string> =>
    Object.fromEntries((list ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));

const iso = (date: Date | undefined): string | undefined => date?.toISOString();

/** SQS gives CreatedTimestamp as seconds since the epoch, as text: whole on AWS, with a fraction on moto. */
function fromEpochSeconds(text: string | undefined): string | undefined {
    return text === undefined || !/^\d+(\.\d+)?$/.test(text) ? undefined : new Date(Math.floor(Number(text)) * 1000).toISOString();
}

/** Every bucket, queue and table with its tags and creation time; one that cannot be read is logged and left out. */
export async function listAwsResources(c: AwsClients, log: (line: string) => void): Promise<ReapAwsResource[]> {
    const found: ReapAwsResource[] = [];
    for (const b of (await c.s3.send(new ListBucketsCommand({}))).Buckets ?? []) {
        const name = b.Name ?? "";
        try {
            const tags = tagsOf((await c.s3.send(new GetBucketTaggingCommand({ Bucket: name }))).TagSet);
            found.push({ kind: "bucket", name, tags, createdAt: iso(b.CreationDate) });
        } catch (err) {
            if ((err as { name?: string }).name !== "NoSuchTagSet") {
                log(`bucket ${name}: could not read its tags: ${message(err)}`);
            }
        }
    }
    let next: string | undefined;
    do {
        const page = await c.sqs.send(new ListQueuesCommand({ NextToken: next, MaxResults: 1000 }));
        for (const url of page.QueueUrls ?? []) {
            const tags = (await c.sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags ?? {};
            const attributes = (await c.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["CreatedTimestamp"] }))).Attributes;
            found.push({ kind: "queue", name: url, tags, createdAt: fromEpochSeconds(attributes?.CreatedTimestamp) });
        }
        next = page.NextToken;
    } while (next !== undefined);
    let start: string | undefined;
    do {
        const page = await c.dynamo.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
        for (const table of page.TableNames ?? []) {
            const described = (await c.dynamo.send(new DescribeTableCommand({ TableName: table }))).Table;
            const tags = tagsOf((await c.dynamo.send(new ListTagsOfResourceCommand({ ResourceArn: described?.TableArn }))).Tags);
            found.push({ kind: "table", name: table, tags, createdAt: iso(described?.CreationDateTime) });
        }
        start = page.LastEvaluatedTableName;
    } while (start !== undefined);
    return found;
}

async function emptyAndDeleteBucket(s3: S3Client, bucket: string): Promise<void> {
    for (;;) {
        const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
        const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key, VersionId: v.VersionId }));
        if (objects.length === 0) {
            break;
        }
        await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}

/** Removes one resource (a bucket with everything in it). */
export async function deleteAwsResource(c: AwsClients, kind: AwsKind, name: string): Promise<void> {
    switch (kind) {
        case "bucket":
            return emptyAndDeleteBucket(c.s3, name);
        case "queue":
            await c.sqs.send(new DeleteQueueCommand({ QueueUrl: name }));
            return;
        case "table":
            await c.dynamo.send(new DeleteTableCommand({ TableName: name }));
            return;
    }
}
