import type * as Aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { IAM_ROLE_ARN, workloadPolicy, WORKLOAD_IDENTITY_ANNOTATION, type WorkloadResourceArns } from "./aws-workload-policy";
import type { CloudResources, CloudResourcesArgs } from "./shape";

/**
 * @pulumi/aws, loaded by the first mirror that makes real AWS resources: loading it costs every
 * program start 0.12 s on 2 cores, and the local default's mirrors use the emulator instead.
 */
function loadAws(): typeof Aws {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("@pulumi/aws") as typeof Aws;
}

/** What `aws` mode needs beyond the common args; index.ts builds it from config. */
export interface AwsCloudSettings {
    /** One endpoint for every service (an emulator, a proxy). Default: real AWS. */
    endpoint?: string;
    /** The endpoint as pods reach it, when it differs from where Pulumi reaches it. Default: `endpoint`. */
    workloadEndpoint?: string;
    /** The deployer's keys, for Pulumi's provider only; never given to pods. Default: the ambient AWS credential chain. */
    accessKeyId?: pulumi.Input<string>;
    secretAccessKey?: pulumi.Input<string>;
    /**
     * An IAM role the platform gives the pods (EKS IRSA: the workloads' ServiceAccount carries it as
     * `eks.amazonaws.com/role-arn`); then no IAM user or key is made. Default: a per-mirror IAM user
     * whose key, in a Secret, reaches only this branch's resources.
     */
    workloadIdentityRoleArn?: string;
}

export type AwsCloudResourcesArgs = CloudResourcesArgs & AwsCloudSettings;

/** Annotations for the workloads' ServiceAccount: the role under workload identity, none otherwise. */
export function workloadServiceAccountAnnotations(settings: AwsCloudSettings): Record<string, string> | undefined {
    return settings.workloadIdentityRoleArn === undefined ? undefined : { [WORKLOAD_IDENTITY_ANNOTATION]: settings.workloadIdentityRoleArn };
}

/** The services prod-mirror calls; with a custom endpoint all of them go to it. */
export const AWS_SERVICES = ["dynamodb", "iam", "s3", "sqs", "sts"] as const;

/** The explicit provider's args, a pure function of the settings (tests check it directly too). */
export function awsProviderArgs(region: string, settings: AwsCloudSettings): Aws.ProviderArgs {
    const args: Aws.ProviderArgs = { region };
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
 * aws.Provider, every resource tagged with branch, stack and expiry. The pods never get the
 * deployer's keys: either the platform's workload identity, or a key of this mirror's own IAM user
 * limited to these resources.
 */
export class AwsCloudResources extends pulumi.ComponentResource implements CloudResources {
    public readonly mode = "aws" as const;
    public readonly region: string;
    public readonly endpoint?: pulumi.Output<string>;
    public readonly queues: CloudResources["queues"] = {};
    public readonly buckets: CloudResources["buckets"] = {};
    public readonly tables: CloudResources["tables"] = {};
    public readonly credentialsSecretName?: pulumi.Output<string>;
    /** The workloads' key (both parts secret Outputs), when this mirror made an IAM user for them. */
    public readonly workloadKey?: { accessKeyId: pulumi.Output<string>; secretAccessKey: pulumi.Output<string> };
    public readonly provider: Aws.Provider;

    constructor(name: string, args: AwsCloudResourcesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("prod-mirror:cloud:AwsCloudResources", name, {}, opts);
        if (args.workloadIdentityRoleArn !== undefined && !IAM_ROLE_ARN.test(args.workloadIdentityRoleArn)) {
            throw new Error(
                `AwsCloudResources ${name}: workloadIdentityRoleArn must be an IAM role ARN such as ` +
                    `arn:aws:iam::123456789012:role/prod-mirror-workloads, got ${JSON.stringify(args.workloadIdentityRoleArn)}`,
            );
        }
        this.region = args.region;
        const workloadEndpoint = args.workloadEndpoint ?? args.endpoint;
        if (workloadEndpoint !== undefined) {
            this.endpoint = pulumi.output(workloadEndpoint);
        }

        const aws = loadAws();
        this.provider = new aws.Provider(`${name}-provider`, awsProviderArgs(args.region, args), { parent: this });
        const opt = { parent: this, provider: this.provider };
        const arns: Array<[keyof WorkloadResourceArns, pulumi.Output<string>]> = [];

        for (const q of args.spec.queues) {
            const queue = new aws.sqs.Queue(
                `${name}-queue-${q.name}`,
                { name: args.names.queues[q.name], visibilityTimeoutSeconds: q.visibilityTimeoutSeconds, tags: args.tags },
                opt,
            );
            this.queues[q.name] = { name: queue.name, url: queue.url };
            arns.push(["queues", queue.arn]);
        }
        for (const b of args.spec.buckets) {
            const bucket = new aws.s3.Bucket(
                `${name}-bucket-${b.name}`,
                // A mirror's bucket holds only test data: destroy empties it instead of failing.
                { bucket: args.names.buckets[b.name], forceDestroy: true, tags: args.tags },
                opt,
            );
            this.buckets[b.name] = { name: bucket.bucket };
            arns.push(["buckets", bucket.arn]);
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
            arns.push(["tables", table.arn]);
        }

        // Under workload identity the platform's role is the pods' only credential; with no resource
        // declared there is nothing for a key to reach.
        const declared = args.spec.queues.length + args.spec.buckets.length + args.spec.tables.length > 0;
        if (args.workloadIdentityRoleArn === undefined && declared) {
            this.workloadKey = this.workloadUser(name, args, arns, opt);
            const secret = new k8s.core.v1.Secret(
                `${name}-credentials`,
                {
                    metadata: { namespace: args.namespace, labels: args.labels },
                    stringData: { AWS_ACCESS_KEY_ID: this.workloadKey.accessKeyId, AWS_SECRET_ACCESS_KEY: this.workloadKey.secretAccessKey },
                },
                { parent: this },
            );
            this.credentialsSecretName = secret.metadata.name;
        }

        this.registerOutputs({ endpoint: this.endpoint, queues: this.queues, buckets: this.buckets, tables: this.tables });
    }

    /**
     * An IAM user of this mirror alone, its inline policy (workloadPolicy of exactly the ARNs above)
     * and an access key. The key is a secret from the provider's output on, whatever the provider
     * marks; it is ready only once the policy is attached, so pods never start with a powerless key.
     */
    private workloadUser(
        name: string,
        args: AwsCloudResourcesArgs,
        arns: Array<[keyof WorkloadResourceArns, pulumi.Output<string>]>,
        opt: pulumi.CustomResourceOptions,
    ): NonNullable<AwsCloudResources["workloadKey"]> {
        const aws = loadAws();
        // Autonamed under a path of our own: IAM user names are account-wide, and two mirrors (or two
        // instances in one program) must never share one.
        const user = new aws.iam.User(`${name}-workload`, { path: "/prod-mirror/", tags: args.tags, forceDestroy: true }, opt);
        const document = pulumi.all(arns.map(([, arn]) => arn)).apply((resolved) => {
            const byKind: WorkloadResourceArns = { queues: [], buckets: [], tables: [] };
            resolved.forEach((arn, i) => byKind[arns[i][0]].push(arn));
            return JSON.stringify(workloadPolicy(byKind));
        });
        const policy = new aws.iam.UserPolicy(`${name}-workload`, { user: user.name, policy: document }, opt);
        const key = new aws.iam.AccessKey(`${name}-workload`, { user: user.name }, { ...opt, dependsOn: [policy] });
        return { accessKeyId: pulumi.secret(key.id), secretAccessKey: pulumi.secret(key.secret) };
    }
}
