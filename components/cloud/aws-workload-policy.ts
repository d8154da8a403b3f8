// What the workloads of one mirror may do on AWS, as a pure function of the branch's resource ARNs.
// The deployer's keys create and delete resources across the account; the pods get their own
// credential that reaches only this branch's queues, buckets and tables, and only their data:
// a pod cannot delete or reconfigure what Pulumi owns, nor touch another branch's mirror.

/** The ARNs of one branch's resources, by kind. */
export interface WorkloadResourceArns {
    queues: string[];
    buckets: string[];
    tables: string[];
}

/** One IAM policy statement as the policy language spells it. */
export interface PolicyStatement {
    Sid: string;
    Effect: "Allow";
    Action: string[];
    Resource: string[];
}

export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: PolicyStatement[];
}

/** Data-plane actions only: sending, reading and deleting messages. */
export const QUEUE_ACTIONS = [
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:PurgeQueue",
    "sqs:ReceiveMessage",
    "sqs:SendMessage",
];
/** On the bucket itself: listing its keys (and the region lookup SDKs do first). */
export const BUCKET_ACTIONS = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"];
/** On the bucket's objects (`<bucket arn>/*`). */
export const OBJECT_ACTIONS = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"];
/** Item reads and writes; DescribeTable because SDK document clients call it. */
export const TABLE_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
];

/**
 * The workloads' policy: one statement per kind the branch declares, each listing exactly that
 * kind's ARNs. Undefined when the branch declares no AWS resource at all, since IAM refuses a policy
 * without statements (and a pod with nothing to reach needs no credential).
 */
export function workloadPolicy(arns: WorkloadResourceArns): PolicyDocument | undefined {
    const statements: PolicyStatement[] = [];
    const allow = (Sid: string, Action: string[], Resource: string[]): void => {
        // An empty Resource list is invalid IAM; a kind the branch does not use gets no statement.
        if (Resource.length > 0) {
            statements.push({ Sid, Effect: "Allow", Action, Resource });
        }
    };
    allow("Queues", QUEUE_ACTIONS, arns.queues);
    allow("Buckets", BUCKET_ACTIONS, arns.buckets);
    allow("Objects", OBJECT_ACTIONS, arns.buckets.map((arn) => `${arn}/*`));
    allow("Tables", TABLE_ACTIONS, arns.tables);
    return statements.length === 0 ? undefined : { Version: "2012-10-17", Statement: statements };
}

/** The ServiceAccount annotation through which EKS (IRSA) gives a pod a role's credentials. */
export const WORKLOAD_IDENTITY_ANNOTATION = "eks.amazonaws.com/role-arn";

/** An IAM role ARN in any partition, with an optional path: `arn:aws:iam::123456789012:role/path/name`. */
export const IAM_ROLE_ARN = /^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
