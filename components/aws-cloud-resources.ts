import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { CloudResources, CloudResourcesArgs } from "./cloud-resources";

/** What `aws` mode needs beyond the common args; index.ts builds it from config. */
export interface AwsCloudSettings {
    /** One endpoint for every service (an emulator, a proxy). Default: real AWS. */
    endpoint?: string;
    /** The endpoint as pods reach it, when it differs from where Pulumi reaches it. Default: `endpoint`. */
    workloadEndpoint?: string;
    /** Keys for Pulumi and, through a Secret, the workloads. Default: the ambient AWS credential chain for Pulumi, none for pods. */
    accessKeyId?: pulumi.Input<string>;
    secretAccessKey?: pulumi.Input<string>;
}

export type AwsCloudResourcesArgs = CloudResourcesArgs & AwsCloudSettings;

/** The services prod-mirror calls; with a custom endpoint all of them go to it. */
export const AWS_SERVICES = ["dynamodb", "iam", "s3", "sqs", "sts"] as const;

/** The explicit provider's args, a pure function of the settings (tests check it directly too). */
export function awsProviderArgs(region: string, settings: AwsCloudSettings): aws.ProviderArgs {
    const args: aws.ProviderArgs = { region };
    if (settings.accessKeyId !== undefined && settings.secretAccessKey !== undefined) {
        args.accessKey = pulumi.secret(settings.accessKeyId);
        args.secretKey = pulumi.secret(settings.secretAccessKey);
    }
    if (settings.endpoint !== undefined) {
        const endpoint = settings.endpoint;
        // All services in ONE element: several elements make the provider fail with "Duplicate Set Element".
        args.endpoints = [Object.fromEntries(AWS_SERVICES.map((s) => [s, endpoint]))];
        // An endpoint is not AWS: no STS/metadata/region checks, and path-style S3 so bucket requests
        // do not go to `<bucket>.<host>` (pulumi-aws#6388).
        args.skipCredentialsValidation = true;
        args.skipRequestingAccountId = true;
        args.skipMetadataApiCheck = true;
        args.skipRegionValidation = true;
        args.s3UsePathStyle = true;
    }
    return args;
}

/**
 * `aws` mode: SQS queues, S3 buckets (emptied on destroy) and DynamoDB tables through an explicit
 * aws.Provider, every resource tagged with branch, stack and expiry.
 */
export class AwsCloudResources extends pulumi.ComponentResource implements CloudResources {
    public readonly mode = "aws" as const;
    public readonly region: string;
    public readonly endpoint?: pulumi.Output<string>;
    public readonly queues: CloudResources["queues"] = {};
    public readonly buckets: CloudResources["buckets"] = {};
    public readonly tables: CloudResources["tables"] = {};
    public readonly credentialsSecretName?: pulumi.Output<string>;
    public readonly provider: aws.Provider;

    constructor(name: string, args: AwsCloudResourcesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("prod-mirror:cloud:AwsCloudResources", name, {}, opts);
        this.region = args.region;
        const workloadEndpoint = args.workloadEndpoint ?? args.endpoint;
        if (workloadEndpoint !== undefined) {
            this.endpoint = pulumi.output(workloadEndpoint);
        }

        this.provider = new aws.Provider(`${name}-provider`, awsProviderArgs(args.region, args), { parent: this });
        const opt = { parent: this, provider: this.provider };

        for (const q of args.spec.queues) {
            const queue = new aws.sqs.Queue(
                `${name}-queue-${q.name}`,
                { name: args.names.queues[q.name], visibilityTimeoutSeconds: q.visibilityTimeoutSeconds, tags: args.tags },
                opt,
            );
            this.queues[q.name] = { name: queue.name, url: queue.url };
        }
        for (const b of args.spec.buckets) {
            const bucket = new aws.s3.Bucket(
                `${name}-bucket-${b.name}`,
                // A mirror's bucket holds only test data: destroy empties it instead of failing.
                { bucket: args.names.buckets[b.name], forceDestroy: true, tags: args.tags },
                opt,
            );
            this.buckets[b.name] = { name: bucket.bucket };
        }
        for (const t of args.spec.tables) {
            const attributes = [{ name: t.hashKey, type: t.hashKeyType }];
            if (t.rangeKey !== undefined) {
                attributes.push({ name: t.rangeKey, type: t.rangeKeyType });
            }
            const table = new aws.dynamodb.Table(
                `${name}-table-${t.name}`,
                {
                    name: args.names.tables[t.name],
                    billingMode: "PAY_PER_REQUEST",
                    hashKey: t.hashKey,
                    rangeKey: t.rangeKey,
                    attributes,
                    tags: args.tags,
                },
                opt,
            );
            this.tables[t.name] = { name: table.name };
        }

        if (args.accessKeyId !== undefined && args.secretAccessKey !== undefined) {
            const secret = new k8s.core.v1.Secret(
                `${name}-credentials`,
                {
                    metadata: { namespace: args.namespace, labels: args.labels },
                    stringData: {
                        AWS_ACCESS_KEY_ID: pulumi.secret(args.accessKeyId),
                        AWS_SECRET_ACCESS_KEY: pulumi.secret(args.secretAccessKey),
                    },
                },
                { parent: this },
            );
            this.credentialsSecretName = secret.metadata.name;
        }

        this.registerOutputs({ endpoint: this.endpoint, queues: this.queues, buckets: this.buckets, tables: this.tables });
    }
}
