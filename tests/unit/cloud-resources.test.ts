import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
    AwsCloudResources,
    AWS_SERVICES,
    awsProviderArgs,
    awsTags,
    cloudAccessEnv,
    cloudNames,
    CloudResources,
    CloudResourcesArgs,
    CloudSettings,
    createCloudResources,
    EMULATOR_ACCOUNT,
    IAM_ROLE_ARN,
    RUN_AS,
    workloadServiceAccountAnnotations,
} from "../../components";
import { CONTEXT, sampleApp } from "./fixtures";
import { inBothModes, isKnown, isSecret, isSecretValue, isUnknownValue, RecordingMocks, registeredUrns, repoRoot, settle, UNKNOWN_ID, useMocks, valueOf } from "./mocks";

const APP = sampleApp();
const NAMES = cloudNames(APP.cloud, "pm", CONTEXT.branch);
const TAGS = {
    "prod-mirror:branch": "feature/Login-Flow",
    "prod-mirror:commit": "3f2a9c1d4e5b6a7980112233445566778899aabb",
    "prod-mirror:stack": "dev",
    "prod-mirror:expires-at": "2026-11-28T06:00:00.000Z",
    "prod-mirror:managed-by": "prod-mirror",
    "prod-mirror:installation": "team-a",
};
const ARGS: CloudResourcesArgs = { spec: APP.cloud, names: NAMES, tags: TAGS, region: "eu-west-1", namespace: "pm-feature", labels: { "app.kubernetes.io/managed-by": "prod-mirror" } };
const AWS_TYPES = ["aws:sqs/queue:Queue", "aws:s3/bucket:Bucket", "aws:dynamodb/table:Table"];

const EMULATED: CloudSettings = { mode: "emulated", image: "127.0.0.1:5000/prod-mirror/moto:5.2.5", serviceAccountName: "workloads", imagePullSecretName: "pull" };
const AWS_ENDPOINT: CloudSettings = { mode: "aws", endpoint: "http://127.0.0.1:4566", workloadEndpoint: "http://10.0.0.1:4566", accessKeyId: pulumi.secret("AKIAEXAMPLE"), secretAccessKey: pulumi.secret("aws-secret-key") };
const ROLE = "arn:aws:iam::123456789012:role/platform/prod-mirror-workloads";
const WORKLOAD_IDENTITY: CloudSettings = { ...AWS_ENDPOINT, workloadIdentityRoleArn: ROLE };

/**
 * One construction per test, not shared: a mutation run credits a construction to the one test that
 * ran it, so a construction shared by several tests would be checked by the first of them only.
 */
async function create(preview: boolean, settings: CloudSettings): Promise<{ mocks: RecordingMocks; cloud: CloudResources }> {
    const mocks = await useMocks(preview);
    const cloud = createCloudResources("cloud", ARGS, settings);
    await settle(mocks);
    return { mocks, cloud };
}

/** The access env var names (and how each is sourced) a container using a cloud name gets. */
async function wiring(cloud: CloudResources) {
    return cloudAccessEnv(cloud).map((e) => `${e.name}=${e.valueFrom === undefined ? "value" : "secretKeyRef:" + e.valueFrom.secretKeyRef.key}`);
}

/** The names of the access env vars. */
async function accessNames(cloud: CloudResources): Promise<string[]> {
    return cloudAccessEnv(cloud).map((e) => e.name);
}

describe("cloud resources", () => {
    describe("physical names", () => {
        it("are the same in both modes and fit each service's limits", () => {
            assert.match(NAMES.buckets.receipts, /^pm-feature-login-flow-[0-9a-f]{8}-receipts$/);
            assert.ok(NAMES.buckets.receipts.length <= 63 && NAMES.queues["deal-events"].length <= 80);
            assert.ok(NAMES.tables.deals.endsWith("-deals"));
        });
    });

    describe("aws tags", () => {
        it("carry the branch, commit, stack, expiry, owner tool and installation", () => {
            assert.deepStrictEqual(awsTags(CONTEXT, "dev", "team-a"), TAGS);
        });
    });

    describe("aws provider args", () => {
        it("puts every service's endpoint in ONE element and sets the skip flags and path-style S3", () => {
            const args = awsProviderArgs("eu-west-1", { endpoint: "http://127.0.0.1:4566" });
            assert.deepStrictEqual(args.endpoints, [Object.fromEntries(AWS_SERVICES.map((s) => [s, "http://127.0.0.1:4566"]))]);
            assert.deepStrictEqual(
                [args.skipCredentialsValidation, args.skipRequestingAccountId, args.skipMetadataApiCheck, args.skipRegionValidation, args.s3UsePathStyle],
                [true, true, true, true, true],
            );
        });

        it("leaves real AWS alone: no endpoints, no skipped checks, ambient credentials", () => {
            assert.deepStrictEqual(awsProviderArgs("eu-west-1", {}), { region: "eu-west-1" });
        });

        it("passes the deployer's keys only as a pair: half a key falls back to the ambient chain", () => {
            assert.deepStrictEqual(awsProviderArgs("eu-west-1", { accessKeyId: "AKIAEXAMPLE" }), { region: "eu-west-1" });
            assert.deepStrictEqual(awsProviderArgs("eu-west-1", { secretAccessKey: "aws-secret-key" }), { region: "eu-west-1" });
            assert.deepStrictEqual(Object.keys(awsProviderArgs("eu-west-1", { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "aws-secret-key" })), ["region", "accessKey", "secretKey"]);
        });

        it("annotates the workloads' ServiceAccount with the role only under workload identity", () => {
            assert.strictEqual(workloadServiceAccountAnnotations({}), undefined);
            assert.deepStrictEqual(workloadServiceAccountAnnotations({ workloadIdentityRoleArn: ROLE }), { "eks.amazonaws.com/role-arn": ROLE });
            // The whole value must be a role ARN: text before or after it is refused.
            assert.deepStrictEqual(
                [ROLE, "arn:aws-us-gov:iam::123456789012:role/r", `x${ROLE}`, `${ROLE} extra`, "arn:aws:iam::123456789012:user/ci"].map((arn) => IAM_ROLE_ARN.test(arn)),
                [true, true, false, false, false],
            );
        });
    });

    describe("resource options, seen by a transformation", () => {
        /** Builds in update mode and records each child's options by `<type> <name>`. */
        async function optionsOf(settings: CloudSettings, extra: Partial<CloudResourcesArgs & { clusterDomain: string }> = {}) {
            const mocks = await useMocks(false);
            const opts: Record<string, pulumi.CustomResourceOptions> = {};
            const record: pulumi.ResourceTransformation = ({ type, name, opts: o }) => {
                opts[`${type} ${name}`] = o;
                return undefined;
            };
            const cloud = createCloudResources("opt", { ...ARGS, ...extra }, settings, { transformations: [record] });
            await settle(mocks);
            return { mocks, cloud, opts };
        }

        it("emulated: a bounded wait for the emulator (ready only with the resources), and no creation Job", async () => {
            const { opts } = await optionsOf(EMULATED);
            assert.deepStrictEqual(opts["kubernetes:apps/v1:Deployment opt-emulator"].customTimeouts, { create: "5m", update: "5m", delete: "2m" });
            assert.deepStrictEqual(opts["kubernetes:core/v1:Service opt-emulator"].customTimeouts, undefined);
            assert.deepStrictEqual(Object.keys(opts).sort(), [
                "kubernetes:apps/v1:Deployment opt-emulator",
                "kubernetes:core/v1:ConfigMap opt-create-script",
                "kubernetes:core/v1:Secret opt-credentials",
                "kubernetes:core/v1:Service opt-emulator",
                "prod-mirror:cloud:EmulatedCloudResources opt",
            ]);
        });

        it("aws: the access key is made only once its policy is attached", async () => {
            const { opts } = await optionsOf(AWS_ENDPOINT);
            const dependsOn = opts["aws:iam/accessKey:AccessKey opt-workload"].dependsOn as pulumi.Resource[];
            assert.strictEqual(dependsOn.length, 1);
            assert.strictEqual(await valueOf(dependsOn[0].urn), "urn:pulumi:unit::prod-mirror::prod-mirror:cloud:AwsCloudResources$aws:iam/userPolicy:UserPolicy::opt-workload");
        });
    });

    describe("emulated mode, on a fresh construction", () => {
        it("serves the endpoint under the cluster domain it is given, and the emulator creates exactly the declared resources on each start", async () => {
            const mocks = await useMocks(false);
            const cloud = createCloudResources("fresh", ARGS, { ...EMULATED, clusterDomain: "corp.internal" });
            await settle(mocks);
            const endpoint = "http://aws-emulator.pm-feature.svc.corp.internal:4566";
            assert.strictEqual(await valueOf(cloud.endpoint!), endpoint);
            assert.strictEqual(await valueOf(cloud.queues["deal-events"].url), `${endpoint}/123456789012/${NAMES.queues["deal-events"]}`);
            const credentials = mocks.kubernetesName("kubernetes:core/v1:Secret", "fresh-credentials");
            const scriptMap = mocks.one("kubernetes:core/v1:ConfigMap", "fresh-create-script");
            assert.deepStrictEqual([scriptMap.inputs.metadata, Object.keys(scriptMap.inputs.data)], [
                { namespace: "pm-feature", labels: { "app.kubernetes.io/managed-by": "prod-mirror" } },
                ["create_resources.py"],
            ]);
            assert.strictEqual(scriptMap.inputs.data["create_resources.py"], fs.readFileSync(path.join(repoRoot, "components", "cloud", "emulator", "create_resources.py"), "utf8"));
            const pod = mocks.one("kubernetes:apps/v1:Deployment", "fresh-emulator").inputs.spec.template.spec;
            assert.deepStrictEqual(pod.volumes, [
                { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
                { name: "create-script", configMap: { name: mocks.kubernetesName("kubernetes:core/v1:ConfigMap", "fresh-create-script") } },
            ]);
            assert.deepStrictEqual([pod.serviceAccountName, pod.imagePullSecrets, pod.automountServiceAccountToken], ["workloads", [{ name: "pull" }], false]);
            // Every start of the container creates the resources against itself, before it can turn ready.
            assert.deepStrictEqual(pod.containers[0].lifecycle, { postStart: { exec: { command: ["python3", "/etc/prod-mirror/create_resources.py", "http://127.0.0.1:4566"] } } });
            assert.deepStrictEqual(pod.containers[0].env, [
                { name: "HOME", value: "/tmp" },
                { name: "AWS_REGION", value: "eu-west-1" },
                { name: "AWS_DEFAULT_REGION", value: "eu-west-1" },
                { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: credentials, key: "AWS_ACCESS_KEY_ID" } } },
                { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: credentials, key: "AWS_SECRET_ACCESS_KEY" } } },
                {
                    name: "PROD_MIRROR_RESOURCES",
                    value: JSON.stringify({
                        tags: Object.fromEntries(Object.entries(TAGS).filter(([key]) => key !== "prod-mirror:expires-at")),
                        queues: [{ name: NAMES.queues["deal-events"], visibilityTimeoutSeconds: 30 }],
                        buckets: [NAMES.buckets.receipts],
                        tables: [{ name: NAMES.tables.deals, hashKey: "id", hashKeyType: "S", rangeKeyType: "S" }],
                    }),
                },
            ]);
            assert.deepStrictEqual(mocks.ofType("kubernetes:batch/v1:Job"), []);
            // moto accepts any key; the Secret exists so the wiring is the same as with real keys.
            assert.deepStrictEqual(mocks.one("kubernetes:core/v1:Secret", "fresh-credentials").inputs.stringData, { AWS_ACCESS_KEY_ID: "prod-mirror", AWS_SECRET_ACCESS_KEY: "prod-mirror" });
            const deployment = mocks.one("kubernetes:apps/v1:Deployment", "fresh-emulator").inputs;
            const [moto] = deployment.spec.template.spec.containers;
            assert.deepStrictEqual(
                [moto.name, moto.command, moto.ports, moto.resources, moto.volumeMounts, moto.env.map((e: { name: string }) => e.name)],
                [
                    "moto",
                    ["moto_server", "-H", "0.0.0.0", "-p", "4566"],
                    [{ name: "http", containerPort: 4566 }],
                    { requests: { cpu: "100m", memory: "192Mi" }, limits: { cpu: "1", memory: "512Mi" } },
                    [{ name: "tmp", mountPath: "/tmp" }, { name: "create-script", mountPath: "/etc/prod-mirror", readOnly: true }],
                    ["HOME", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PROD_MIRROR_RESOURCES"],
                ],
            );
            const selector = { "app.kubernetes.io/name": "aws-emulator", "app.kubernetes.io/component": "aws-emulator" };
            assert.deepStrictEqual([deployment.spec.replicas, deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels], [1, selector, { "app.kubernetes.io/managed-by": "prod-mirror", ...selector }]);
            const service = mocks.one("kubernetes:core/v1:Service", "fresh-emulator").inputs;
            assert.deepStrictEqual([service.metadata.name, service.spec], ["aws-emulator", { selector, ports: [{ name: "http", port: 4566, targetPort: 4566 }] }]);
            assert.ok(registeredUrns().some((u) => u.endsWith("prod-mirror:cloud:EmulatedCloudResources$kubernetes:core/v1:Secret::fresh-credentials")));
        });
    });

    describe("aws mode, per declared resources", () => {
        // What the user's policy grants, as [Sid, Resource] per statement (the mocks' ARN forms).
        const cases: Array<{ what: string; spec: CloudResourcesArgs["spec"]; user: boolean; grants?: Array<[string, string[]]> }> = [
            { what: "nothing declared: no user, key or Secret", spec: { queues: [], buckets: [], tables: [] }, user: false },
            {
                what: "a queue alone",
                spec: { queues: [{ name: "jobs", visibilityTimeoutSeconds: 30 }], buckets: [], tables: [] },
                user: true,
                grants: [["Queues", ["arn:aws:sqs:us-east-1:000000000000:pm-feature-login-flow-c03c5fae-jobs"]]],
            },
            {
                what: "a bucket alone",
                spec: { queues: [], buckets: [{ name: "files" }], tables: [] },
                user: true,
                grants: [
                    ["Buckets", ["arn:aws:s3:::pm-feature-login-flow-c03c5fae-files"]],
                    ["Objects", ["arn:aws:s3:::pm-feature-login-flow-c03c5fae-files/*"]],
                ],
            },
            {
                what: "a table alone, with a range key",
                spec: { queues: [], buckets: [], tables: [{ name: "events", hashKey: "pk", hashKeyType: "S", rangeKey: "at", rangeKeyType: "N" }] },
                user: true,
                grants: [["Tables", ["arn:aws:dynamodb:us-east-1:000000000000:table/pm-feature-login-flow-c03c5fae-events"]]],
            },
            {
                what: "a table alone, without a range key",
                spec: { queues: [], buckets: [], tables: [{ name: "events", hashKey: "pk", hashKeyType: "S", rangeKeyType: "S" }] },
                user: true,
                grants: [["Tables", ["arn:aws:dynamodb:us-east-1:000000000000:table/pm-feature-login-flow-c03c5fae-events"]]],
            },
        ];
        for (const { what, spec, user, grants } of cases) {
            it(`${what}: ${user ? "a key of the mirror's own user" : "no key"}`, async () => {
                const mocks = await useMocks(false);
                const names = cloudNames(spec, "pm", CONTEXT.branch);
                const cloud = createCloudResources("solo", { ...ARGS, spec, names }, AWS_ENDPOINT);
                await settle(mocks);
                assert.deepStrictEqual(mocks.registrations.filter((r) => r.type.startsWith("aws:iam/")).map((r) => r.type), user ? ["aws:iam/user:User", "aws:iam/userPolicy:UserPolicy", "aws:iam/accessKey:AccessKey"] : []);
                assert.deepStrictEqual(mocks.ofType("kubernetes:core/v1:Secret").map((r) => r.name), user ? ["solo-credentials"] : []);
                assert.strictEqual(cloud.credentialsSecretName === undefined, !user);
                // The provider belongs to the component: every AWS resource goes through it.
                assert.ok(registeredUrns().some((u) => u.endsWith("prod-mirror:cloud:AwsCloudResources$pulumi:providers:aws::solo-provider")));
                if (user) {
                    const account = mocks.one("aws:iam/user:User", "solo-workload");
                    // Autonamed under prod-mirror's path, and deletable with the keys it holds.
                    assert.deepStrictEqual([account.inputs.name, account.inputs.path, account.inputs.forceDestroy], [undefined, "/prod-mirror/", true]);
                    const policy = JSON.parse(mocks.one("aws:iam/userPolicy:UserPolicy", "solo-workload").inputs.policy);
                    assert.deepStrictEqual(policy.Statement.map((s: { Sid: string; Resource: string[] }) => [s.Sid, s.Resource]), grants);
                    assert.strictEqual(await valueOf(cloud.credentialsSecretName!), mocks.kubernetesName("kubernetes:core/v1:Secret", "solo-credentials"));
                    // The Secret belongs to the component, so it goes (and is named) with it.
                    assert.ok(registeredUrns().some((u) => u.endsWith("prod-mirror:cloud:AwsCloudResources$kubernetes:core/v1:Secret::solo-credentials")));
                }
                for (const t of mocks.ofType("aws:dynamodb/table:Table")) {
                    const [table] = spec.tables;
                    const attributes = table.rangeKey === undefined ? [{ name: "pk", type: "S" }] : [{ name: "pk", type: "S" }, { name: "at", type: "N" }];
                    assert.deepStrictEqual([t.inputs.billingMode, t.inputs.hashKey, t.inputs.rangeKey, t.inputs.attributes], ["PAY_PER_REQUEST", "pk", table.rangeKey, attributes]);
                }
                for (const b of mocks.ofType("aws:s3/bucket:Bucket")) {
                    assert.strictEqual(b.inputs.forceDestroy, true, "a mirror's bucket holds only test data: destroy empties it");
                    assert.strictEqual(await valueOf(cloud.buckets.files.name), names.buckets.files);
                }
            });
        }
    });

    inBothModes((preview) => {
        // A provider created in this run has no id until the update; its reference carries the unknown id in preview.
        const providerRef = `::cloud-provider::${preview ? UNKNOWN_ID : "cloud-provider-id"}`;

        describe("aws mode", () => {
            it("creates every queue, bucket and table through the explicit provider, all tagged", async () => {
                const { mocks } = await create(preview, AWS_ENDPOINT);
                const provider = mocks.one("pulumi:providers:aws", "cloud-provider");
                assert.strictEqual(provider.inputs.region, "eu-west-1");
                const resources = mocks.registrations.filter((r) => AWS_TYPES.includes(r.type));
                assert.strictEqual(resources.length, 3);
                for (const r of resources) {
                    assert.ok((r.provider ?? "").endsWith(`$pulumi:providers:aws${providerRef}`), `${r.type} ${r.name} uses ${r.provider}`);
                    assert.deepStrictEqual(r.inputs.tags, TAGS, `${r.type} ${r.name} tags`);
                }
                assert.deepStrictEqual(Object.keys(TAGS).sort(), ["prod-mirror:branch", "prod-mirror:commit", "prod-mirror:expires-at", "prod-mirror:installation", "prod-mirror:managed-by", "prod-mirror:stack"]);
                assert.deepStrictEqual([TAGS["prod-mirror:installation"], TAGS["prod-mirror:managed-by"], TAGS["prod-mirror:stack"]], ["team-a", "prod-mirror", "dev"]);
            });

            it("names resources from naming, empties buckets on destroy, and declares the table's keys", async () => {
                const { mocks } = await create(preview, AWS_ENDPOINT);
                assert.strictEqual(mocks.one("aws:sqs/queue:Queue", "cloud-queue-deal-events").inputs.name, NAMES.queues["deal-events"]);
                const bucket = mocks.one("aws:s3/bucket:Bucket", "cloud-bucket-receipts").inputs;
                assert.deepStrictEqual([bucket.bucket, bucket.forceDestroy], [NAMES.buckets.receipts, true]);
                const table = mocks.one("aws:dynamodb/table:Table", "cloud-table-deals").inputs;
                assert.deepStrictEqual([table.name, table.hashKey, table.billingMode, table.attributes], [NAMES.tables.deals, "id", "PAY_PER_REQUEST", [{ name: "id", type: "S" }]]);
            });

            it("keeps the deployer's keys secret in the provider and out of every Kubernetes object", async () => {
                const { mocks, cloud } = await create(preview, AWS_ENDPOINT);
                const provider = mocks.one("pulumi:providers:aws", "cloud-provider");
                assert.ok(isSecretValue(provider.rawInputs.accessKey) && isSecretValue(provider.rawInputs.secretKey));
                assert.deepStrictEqual([provider.inputs.accessKey, provider.inputs.secretKey], ["AKIAEXAMPLE", "aws-secret-key"]);
                const leaks = mocks.registrations
                    .filter((r) => r.type.startsWith("kubernetes:"))
                    .filter((r) => /AKIAEXAMPLE|aws-secret-key/.test(JSON.stringify(r.inputs)))
                    .map((r) => `${r.type} ${r.name}`);
                assert.deepStrictEqual(leaks, []);
                assert.strictEqual(await valueOf(cloud.endpoint as pulumi.Output<string>), "http://10.0.0.1:4566");
            });

            it("gives the pods the key of an IAM user of this mirror alone, secret from the provider to the Secret", async () => {
                const { mocks, cloud } = await create(preview, AWS_ENDPOINT);
                const user = mocks.one("aws:iam/user:User", "cloud-workload");
                assert.deepStrictEqual([user.inputs.name, user.inputs.path, user.inputs.tags, user.inputs.forceDestroy], [undefined, "/prod-mirror/", TAGS, true]);
                assert.ok((user.provider ?? "").endsWith(providerRef), user.provider);
                const key = mocks.one("aws:iam/accessKey:AccessKey", "cloud-workload");
                assert.strictEqual(key.inputs.user, user.state.name);
                assert.match(key.inputs.user, /^cloud-workload-[0-9a-f]{7}$/);
                assert.strictEqual(mocks.one("aws:iam/userPolicy:UserPolicy", "cloud-workload").inputs.user, user.state.name);
                const secret = mocks.one("kubernetes:core/v1:Secret", "cloud-credentials");
                assert.ok(isSecretValue(secret.rawInputs.stringData));
                const { workloadKey } = cloud as AwsCloudResources;
                assert.deepStrictEqual([await isSecret(workloadKey!.accessKeyId), await isSecret(workloadKey!.secretAccessKey)], [true, true]);
                if (preview) {
                    // The key exists only once AWS made it: the Secret's content is unknown until the update.
                    assert.ok(isUnknownValue(secret.inputs.stringData), JSON.stringify(secret.inputs.stringData));
                    assert.deepStrictEqual([await isKnown(workloadKey!.accessKeyId), await isKnown(workloadKey!.secretAccessKey)], [false, false]);
                } else {
                    assert.deepStrictEqual(secret.inputs.stringData, { AWS_ACCESS_KEY_ID: "cloud-workload-id", AWS_SECRET_ACCESS_KEY: "secret-of-cloud-workload" });
                    assert.deepStrictEqual(
                        [await valueOf(workloadKey!.accessKeyId), await valueOf(workloadKey!.secretAccessKey)],
                        ["cloud-workload-id", "secret-of-cloud-workload"],
                    );
                }
            });

            it("lets that user reach exactly the branch's queue, bucket (and its objects) and table, data only", async () => {
                const { mocks } = await create(preview, AWS_ENDPOINT);
                const document = mocks.one("aws:iam/userPolicy:UserPolicy", "cloud-workload").inputs.policy;
                if (preview) {
                    // Built from the resources' ARNs, which AWS assigns at creation.
                    assert.ok(isUnknownValue(document), String(document));
                    return;
                }
                const policy = JSON.parse(document);
                const queue = NAMES.queues["deal-events"];
                const bucket = NAMES.buckets.receipts;
                const table = NAMES.tables.deals;
                assert.deepStrictEqual(policy, {
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "Queues",
                            Effect: "Allow",
                            Action: ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:PurgeQueue", "sqs:ReceiveMessage", "sqs:SendMessage"],
                            Resource: [`arn:aws:sqs:us-east-1:000000000000:${queue}`],
                        },
                        { Sid: "Buckets", Effect: "Allow", Action: ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"], Resource: [`arn:aws:s3:::${bucket}`] },
                        {
                            Sid: "Objects",
                            Effect: "Allow",
                            Action: ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"],
                            Resource: [`arn:aws:s3:::${bucket}/*`],
                        },
                        {
                            Sid: "Tables",
                            Effect: "Allow",
                            Action: [
                                "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable",
                                "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem",
                            ],
                            Resource: [`arn:aws:dynamodb:us-east-1:000000000000:table/${table}`],
                        },
                    ],
                });
            });
        });

        describe("aws mode under the platform's workload identity", () => {
            it("makes no IAM user, key or Secret, and gives the pods no key variables", async () => {
                const { mocks, cloud } = await create(preview, WORKLOAD_IDENTITY);
                assert.deepStrictEqual(mocks.registrations.filter((r) => r.type.startsWith("aws:iam/")).map((r) => r.type), []);
                assert.deepStrictEqual(mocks.ofType("kubernetes:core/v1:Secret"), []);
                assert.strictEqual(cloud.credentialsSecretName, undefined);
                assert.deepStrictEqual(await accessNames(cloud), ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"]);
                assert.strictEqual(mocks.ofType("aws:sqs/queue:Queue").length, 1);
            });
        });

        describe("emulated mode", () => {
            it("runs moto's server in the namespace as a restricted Deployment behind the aws-emulator Service", async () => {
                const { mocks, cloud } = await create(preview, EMULATED);
                const deployment = mocks.one("kubernetes:apps/v1:Deployment", "cloud-emulator").inputs;
                assert.strictEqual(deployment.metadata.namespace, "pm-feature");
                const pod = deployment.spec.template.spec;
                const [moto] = pod.containers;
                assert.strictEqual(moto.image, "127.0.0.1:5000/prod-mirror/moto:5.2.5");
                assert.strictEqual(moto.imagePullPolicy, "Always");
                assert.deepStrictEqual(moto.command, ["moto_server", "-H", "0.0.0.0", "-p", "4566"]);
                assert.deepStrictEqual(moto.readinessProbe.httpGet, { path: "/moto-api/", port: 4566 });
                assert.deepStrictEqual([pod.securityContext.runAsUser, pod.securityContext.runAsNonRoot, moto.securityContext.allowPrivilegeEscalation], [RUN_AS, true, false]);
                assert.deepStrictEqual(moto.securityContext.capabilities, { drop: ["ALL"] });
                assert.ok(moto.env.some((e: any) => e.name === "HOME" && e.value === "/tmp"));
                assert.deepStrictEqual([pod.serviceAccountName, pod.imagePullSecrets], ["workloads", [{ name: "pull" }]]);
                const service = mocks.one("kubernetes:core/v1:Service", "cloud-emulator").inputs;
                assert.deepStrictEqual(service.spec.selector, deployment.spec.selector.matchLabels);
                // Its Deployment's await covers the emulator's readiness; the Service's would add 10 s of settling.
                assert.strictEqual(service.metadata.annotations["pulumi.com/skipAwait"], "true");
                assert.strictEqual(await valueOf(cloud.endpoint as pulumi.Output<string>), "http://aws-emulator.pm-feature.svc.cluster.local:4566");
            });

            it("creates the declared resources from its own start hook, with the same names and tags as aws mode but the expiry", async () => {
                const { mocks } = await create(preview, EMULATED);
                const script = mocks.one("kubernetes:core/v1:ConfigMap", "cloud-create-script").inputs.data["create_resources.py"];
                // The ConfigMap carries the project's file verbatim (create-script.test.ts byte-compiles that file), and
                // its exact text is pinned, so any edit is deliberate (update the hash).
                assert.strictEqual(script, fs.readFileSync(path.join(repoRoot, "components", "cloud", "emulator", "create_resources.py"), "utf8"));
                assert.strictEqual(crypto.createHash("sha256").update(script).digest("hex"), "3db2dd1dd0583a4af8fcfbf2ef48ed3fc77ad9c62887e65ca1fb4fac61d2b8fd");
                const [moto] = mocks.one("kubernetes:apps/v1:Deployment", "cloud-emulator").inputs.spec.template.spec.containers;
                assert.deepStrictEqual(moto.lifecycle.postStart.exec.command, ["python3", "/etc/prod-mirror/create_resources.py", "http://127.0.0.1:4566"]);
                assert.ok(moto.volumeMounts.some((m: any) => m.mountPath === "/etc/prod-mirror" && m.readOnly === true));
                // No readiness of its own: the kubelet starts probing only after the hook succeeded.
                assert.deepStrictEqual(moto.startupProbe, { httpGet: { path: "/moto-api/", port: 4566 }, periodSeconds: 1, failureThreshold: 60 });
                assert.deepStrictEqual(moto.readinessProbe, { httpGet: { path: "/moto-api/", port: 4566 }, periodSeconds: 10 });
                const env = Object.fromEntries(moto.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
                // moto itself must not be pointed at an endpoint; the hook gets its own as an argument.
                assert.strictEqual(env.AWS_ENDPOINT_URL, undefined);
                // No expiry: a renewing up moves it, and a pod template that changed restarts the emulator (its data gone).
                const { "prod-mirror:expires-at": expiry, ...stable } = TAGS;
                assert.ok(expiry !== undefined);
                assert.deepStrictEqual(JSON.parse(env.PROD_MIRROR_RESOURCES), {
                    tags: stable,
                    queues: [{ name: NAMES.queues["deal-events"], visibilityTimeoutSeconds: 30 }],
                    buckets: [NAMES.buckets.receipts],
                    tables: [{ name: NAMES.tables.deals, hashKey: "id", hashKeyType: "S", rangeKeyType: "S" }],
                });
                for (const call of ["create_queue(", "create_bucket(", "put_bucket_tagging(", "create_table("]) {
                    assert.ok(script.includes(call), call);
                }
            });

            it("exports moto's queue URL form and keeps the dummy credentials in a secret", async () => {
                const { mocks, cloud } = await create(preview, EMULATED);
                assert.strictEqual(
                    await valueOf(cloud.queues["deal-events"].url),
                    `http://aws-emulator.pm-feature.svc.cluster.local:4566/${EMULATOR_ACCOUNT}/${NAMES.queues["deal-events"]}`,
                );
                assert.strictEqual(await valueOf(cloud.buckets.receipts.name), NAMES.buckets.receipts);
                assert.ok(isSecretValue(mocks.one("kubernetes:core/v1:Secret", "cloud-credentials").rawInputs.stringData));
                assert.deepStrictEqual(mocks.registrations.filter((r) => r.type.startsWith("aws:") || r.type.startsWith("pulumi:providers:aws")), []);
            });
        });

        it("wires services identically in both modes", async () => {
            const emulated = await create(preview, EMULATED);
            const emulatedEnv = await wiring(emulated.cloud);
            const aws = await create(preview, AWS_ENDPOINT);
            const awsEnv = await wiring(aws.cloud);
            assert.deepStrictEqual(emulatedEnv, awsEnv);
            assert.deepStrictEqual(emulatedEnv, [
                "AWS_REGION=value",
                "AWS_DEFAULT_REGION=value",
                "AWS_ENDPOINT_URL=value",
                "AWS_ACCESS_KEY_ID=secretKeyRef:AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY=secretKeyRef:AWS_SECRET_ACCESS_KEY",
            ]);
        });

        it("gives real AWS no endpoint, and the pods the mirror's own key even when Pulumi uses ambient credentials", async () => {
            const { mocks, cloud } = await create(preview, { mode: "aws" });
            assert.strictEqual(cloud.endpoint, undefined);
            assert.deepStrictEqual(mocks.ofType("kubernetes:core/v1:Secret").map((r) => r.name), ["cloud-credentials"]);
            assert.deepStrictEqual(await accessNames(cloud), ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
            assert.strictEqual(await isSecret(cloud.queues["deal-events"].url), false);
        });
    });
});
