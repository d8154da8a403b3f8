// The workloads' AWS credentials as pure rules: the policy a branch's pods get and the config that
// switches to the platform's workload identity (the components' use of them is in cloud-resources
// and production-mirror tests).
import * as assert from "assert";
import { ConfigError, parseSettings, RawSettings, workloadPolicy } from "../../components";
import { EMULATOR_IMAGE } from "./fixtures";

const BASE: RawSettings = {
    registryUsername: "ci-bot",
    emulatorImage: EMULATOR_IMAGE,
    app: JSON.stringify({ services: [{ name: "api", port: 8080, image: "r/api:{tag}" }] }),
};

function rejects(raw: RawSettings, message: string): void {
    assert.throws(
        () => parseSettings(raw, { stack: "dev", readFile: () => "" }),
        (err: Error) => err instanceof ConfigError && err.message === message,
    );
}

describe("workload credentials", () => {
    describe("workloadPolicy", () => {
        it("gives a kind the branch does not declare no statement (IAM refuses an empty Resource)", () => {
            assert.deepStrictEqual(workloadPolicy({ queues: [], buckets: ["arn:aws:s3:::a", "arn:aws:s3:::b"], tables: [] }), {
                Version: "2012-10-17",
                Statement: [
                    { Sid: "Buckets", Effect: "Allow", Action: ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"], Resource: ["arn:aws:s3:::a", "arn:aws:s3:::b"] },
                    {
                        Sid: "Objects",
                        Effect: "Allow",
                        Action: ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"],
                        Resource: ["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"],
                    },
                ],
            });
        });

        it("is undefined for a branch with no AWS resource at all", () => {
            assert.strictEqual(workloadPolicy({ queues: [], buckets: [], tables: [] }), undefined);
        });

        it("never grants a wildcard or a control-plane action", () => {
            const policy = workloadPolicy({ queues: ["arn:aws:sqs:eu-west-1:1:q"], buckets: ["arn:aws:s3:::b"], tables: ["arn:aws:dynamodb:eu-west-1:1:table/t"] });
            const actions = policy!.Statement.flatMap((s) => s.Action);
            assert.deepStrictEqual(actions.filter((a) => a.includes("*") || /:(Create|Delete(Queue|Bucket|Table)|Put(Bucket|Queue)|Set|Tag|Untag|Update(Table|TimeToLive))/.test(a)), []);
            assert.deepStrictEqual(policy!.Statement.flatMap((s) => s.Resource).filter((r) => r.includes("*") && r !== "arn:aws:s3:::b/*"), []);
        });
    });

    describe("prod-mirror:awsWorkloadIdentity", () => {
        it("is unset by default and takes an IAM role ARN, with a path, in any partition", () => {
            assert.strictEqual(parseSettings(BASE, { stack: "dev", readFile: () => "" }).awsWorkloadIdentity, undefined);
            for (const arn of ["arn:aws:iam::123456789012:role/prod-mirror-workloads", "arn:aws-us-gov:iam::123456789012:role/platform/ci/pm"]) {
                assert.strictEqual(parseSettings({ ...BASE, cloudMode: "aws", awsWorkloadIdentity: arn }, { stack: "dev", readFile: () => "" }).awsWorkloadIdentity, arn);
            }
        });

        it("refuses a user ARN, a role name alone or a wrong account, naming the key and an example", () => {
            for (const bad of ["arn:aws:iam::123456789012:user/ci", "prod-mirror-workloads", "arn:aws:iam::12345:role/x", "arn:aws:iam::123456789012:role/"]) {
                rejects(
                    { ...BASE, awsWorkloadIdentity: bad },
                    `prod-mirror:awsWorkloadIdentity in Pulumi.dev.yaml is invalid: expected an IAM role ARN (the role the platform gives the pods), got ${JSON.stringify(bad)}. ` +
                        "Example: prod-mirror:awsWorkloadIdentity: arn:aws:iam::123456789012:role/prod-mirror-workloads",
                );
            }
        });
    });
});
