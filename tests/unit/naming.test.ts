import * as assert from "assert";
import {
    awsTagValue,
    cloudResourceName,
    envStem,
    imageTag,
    labelValue,
    labelValueOrHash,
    namespaceName,
    NamingError,
    resourceNameProblem,
    shortHash,
    stackName,
    parseTimestampLabel,
    timestampLabel,
} from "../../components/naming";
import { generateBranches, pairsDifferingAfterTheCut } from "./fixtures";

const BRANCHES = generateBranches(600);
const PAIRS = pairsDifferingAfterTheCut(50);
const COMMIT = "3f2a9c1d4e5b6a7980112233445566778899aabb";

interface LayerCase {
    layer: string;
    derive: (branch: string) => string;
    valid: RegExp;
    max: number;
    min?: number;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const TOKEN = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const LAYERS: LayerCase[] = [
    { layer: "namespace", derive: (b) => namespaceName(b, "pm"), valid: DNS_LABEL, max: 63 },
    { layer: "S3 bucket", derive: (b) => cloudResourceName("bucket", "pm", b, "receipts"), valid: DNS_LABEL, max: 63, min: 3 },
    { layer: "SQS queue", derive: (b) => cloudResourceName("queue", "pm", b, "deal-events"), valid: /^[A-Za-z0-9_-]+$/, max: 80 },
    { layer: "DynamoDB table", derive: (b) => cloudResourceName("table", "pm", b, "deals"), valid: /^[A-Za-z0-9_.-]+$/, max: 255, min: 3 },
    { layer: "IAM role", derive: (b) => cloudResourceName("iam", "pm", b, "worker"), valid: /^[\w+=,.@-]+$/, max: 64 },
    { layer: "image tag", derive: (b) => imageTag(b, COMMIT), valid: /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, max: 128 },
    { layer: "Pulumi stack", derive: stackName, valid: TOKEN, max: 100 },
    { layer: "label value", derive: labelValue, valid: TOKEN, max: 63 },
];

describe("naming", () => {
    describe("properties over 600 generated branch names", () => {
        it("generates the awkward cases it claims to", () => {
            assert.ok(BRANCHES.some((b) => b.includes("/")), "slashes");
            assert.ok(BRANCHES.some((b) => /[^\p{ASCII}]/u.test(b)), "unicode");
            assert.ok(BRANCHES.some((b) => b.includes(".")), "dots");
            assert.ok(BRANCHES.some((b) => /[A-Z]/.test(b)), "uppercase");
            assert.ok(BRANCHES.some((b) => /^[0-9]/.test(b)), "leading digits");
            assert.ok(BRANCHES.some((b) => b.length === 300), "300 characters");
        });

        for (const c of LAYERS) {
            it(`${c.layer}: valid characters, within ${c.max}, no hyphen at either end, deterministic`, () => {
                for (const branch of BRANCHES) {
                    const name = c.derive(branch);
                    assert.match(name, c.valid, `${JSON.stringify(branch)} -> ${name}`);
                    assert.ok(name.length <= c.max && name.length >= (c.min ?? 1), `${name} has ${name.length} characters`);
                    assert.ok(!name.startsWith("-") && !name.endsWith("-"), name);
                    assert.strictEqual(c.derive(branch), name, "same input, same name");
                }
            });

            it(`${c.layer}: different branches never share a name, even when they differ only after the cut`, () => {
                const seen = new Map<string, string>();
                for (const branch of [...BRANCHES, ...PAIRS.flat()]) {
                    const name = c.derive(branch);
                    const other = seen.get(name);
                    assert.ok(other === undefined || other === branch, `${JSON.stringify(other)} and ${JSON.stringify(branch)} both give ${name}`);
                    seen.set(name, branch);
                }
            });
        }
    });

    describe("namespaceName", () => {
        it("uses a clean branch verbatim, with no hash", () => {
            assert.strictEqual(namespaceName("main", "pm"), "pm-main");
            assert.strictEqual(namespaceName("123-hotfix", "pm"), "pm-123-hotfix");
        });

        it("appends the hash of the original branch when sanitising changes it", () => {
            const branch = "feature/Login-Flow";
            assert.strictEqual(namespaceName(branch, "pm"), `pm-feature-login-flow-${shortHash(branch)}`);
            assert.notStrictEqual(namespaceName("feature/a", "pm"), namespaceName("feature-a", "pm"));
            assert.notStrictEqual(namespaceName("Main", "pm"), namespaceName("main", "pm"));
        });

        it("folds accents and cuts 300-character branches to exactly 63 characters", () => {
            assert.strictEqual(namespaceName("café", "pm"), `pm-cafe-${shortHash("café")}`);
            const long = namespaceName("x".repeat(300), "pm");
            assert.strictEqual(long.length, 63);
            assert.ok(long.endsWith(`-${shortHash("x".repeat(300))}`));
        });

        it("keeps a branch named like a system namespace out of it", () => {
            assert.strictEqual(namespaceName("kube-system", "pm"), "pm-kube-system");
        });

        it("fails with a clear message for a branch that leaves nothing usable", () => {
            assert.throws(
                () => namespaceName("日本語/🚀", "pm"),
                (err: Error) =>
                    err instanceof NamingError &&
                    err.message ===
                        'cannot derive a Kubernetes namespace name from branch "日本語/🚀": nothing is left after removing ' +
                            "characters outside [a-z0-9-]. Use a branch name with at least one ASCII letter or digit, or set " +
                            'prod-mirror:branch to one (example: "feature-login").',
            );
        });
    });

    describe("cloudResourceName", () => {
        it("always carries the branch hash, so branch/resource splits cannot meet", () => {
            assert.strictEqual(cloudResourceName("queue", "pm", "main", "deal-events"), `pm-main-${shortHash("main")}-deal-events`);
            assert.notStrictEqual(cloudResourceName("bucket", "pm", "a", "b-c"), cloudResourceName("bucket", "pm", "a-b", "c"));
        });

        it("gives S3 names of lowercase letters, digits and hyphens only: no dots, no uppercase", () => {
            const name = cloudResourceName("bucket", "pm", "Release/v1.2.3", "receipts");
            assert.match(name, /^[a-z0-9-]{3,63}$/);
        });

        it("rejects a resource name S3 would reject as a reserved suffix", () => {
            assert.throws(() => cloudResourceName("bucket", "pm", "main", "s3alias"), /S3 reserves; rename bucket s3alias/);
        });

        it("rejects resource names that are not short DNS labels", () => {
            assert.strictEqual(resourceNameProblem("deal-events"), undefined);
            assert.match(resourceNameProblem("Deals") ?? "", /lowercase letter/);
            assert.match(resourceNameProblem("a".repeat(25)) ?? "", /at most 24/);
            assert.throws(() => cloudResourceName("table", "pm", "main", "bad_name"), NamingError);
        });
    });

    describe("imageTag", () => {
        it("is <branch-slug>-<sha7>", () => {
            assert.strictEqual(imageTag("main", COMMIT), "main-3f2a9c1");
            assert.strictEqual(imageTag("feature/x", COMMIT), `feature-x-${shortHash("feature/x")}-3f2a9c1`);
        });

        it("refuses a commit that is not hex", () => {
            assert.throws(() => imageTag("main", "not-a-sha"), /is not a hex SHA/);
        });
    });

    describe("labels, timestamps, tags, env", () => {
        it("labelValueOrHash turns an unusable value into x-<hash> instead of failing", () => {
            assert.strictEqual(labelValueOrHash("张三"), `x-${shortHash("张三")}`);
            assert.strictEqual(labelValueOrHash("jane"), "jane");
        });

        it("timestampLabel is label-safe and sorts like time", () => {
            assert.strictEqual(timestampLabel("2026-11-28T06:00:00.000Z"), "20261128T060000Z");
            assert.ok(timestampLabel("2026-11-28T06:00:00Z") < timestampLabel("2026-12-01T00:00:00Z"));
            assert.throws(() => timestampLabel("tomorrow"), /is not an ISO timestamp/);
            assert.strictEqual(parseTimestampLabel(timestampLabel("2026-11-28T06:00:00.000Z")), "2026-11-28T06:00:00Z");
            assert.deepStrictEqual(["20261328T060000Z", "2026-11-28", "20261128T060000"].map(parseTimestampLabel), [undefined, undefined, undefined]);
        });

        it("awsTagValue keeps allowed characters and replaces the rest", () => {
            assert.strictEqual(awsTagValue("feature/login #42!"), "feature/login _42_");
            assert.strictEqual(awsTagValue("x".repeat(300)).length, 256);
        });

        it("envStem turns a declared name into an environment variable stem", () => {
            assert.strictEqual(envStem("deal-events"), "DEAL_EVENTS");
        });
    });
});
