import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    awsTagValue,
    cloudResourceName,
    type CloudKind,
    envStem,
    imageTag,
    labelValue,
    labelValueOrHash,
    namespaceName,
    NamingError,
    prefixProblem,
    RESERVED_STACKS,
    resourceNameProblem,
    shortHash,
    stackName,
    parseTimestampLabel,
    timestampLabel,
} from "../../components/naming";
import { generateBranches, pairsDifferingAfterTheCut } from "./fixtures";
import { repoRoot } from "./mocks";

const BRANCHES = generateBranches(600);
const PAIRS = pairsDifferingAfterTheCut(50);
const COMMIT = "3f2a9c1d4e5b6a7980112233445566778899aabb";

interface LayerCase {
    layer: string;
    derive: (branch: string) => string;
    /** The branch that would produce `name` if branches were used verbatim: what a forger would pick. */
    forge: (name: string) => string;
    valid: RegExp;
    max: number;
    min?: number;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const TOKEN = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const between = (head: string, tail: string) => (name: string): string => name.slice(head.length, name.length - tail.length);
const LAYERS: LayerCase[] = [
    { layer: "namespace", derive: (b) => namespaceName(b, "pm"), forge: between("pm-", ""), valid: DNS_LABEL, max: 63 },
    { layer: "S3 bucket", derive: (b) => cloudResourceName("bucket", "pm", b, "receipts"), forge: between("pm-", "-receipts"), valid: DNS_LABEL, max: 63, min: 3 },
    { layer: "SQS queue", derive: (b) => cloudResourceName("queue", "pm", b, "deal-events"), forge: between("pm-", "-deal-events"), valid: /^[A-Za-z0-9_-]+$/, max: 80 },
    { layer: "DynamoDB table", derive: (b) => cloudResourceName("table", "pm", b, "deals"), forge: between("pm-", "-deals"), valid: /^[A-Za-z0-9_.-]+$/, max: 255, min: 3 },
    { layer: "IAM role", derive: (b) => cloudResourceName("iam", "pm", b, "worker"), forge: between("pm-", "-worker"), valid: /^[\w+=,.@-]+$/, max: 64 },
    { layer: "image tag", derive: (b) => imageTag(b, COMMIT), forge: between("", "-3f2a9c1"), valid: /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, max: 128 },
    { layer: "Pulumi stack", derive: stackName, forge: (n) => n, valid: /^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/, max: 100 },
    { layer: "label value", derive: labelValue, forge: (n) => n, valid: TOKEN, max: 63 },
    // What `down` selects survivors by: a forged stack label would make one branch's objects count as another's.
    { layer: "stack label", derive: (b) => labelValue(stackName(b)), forge: (n) => n, valid: TOKEN, max: 63 },
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

            it(`${c.layer}: no branch named after another's derived name lands on it`, () => {
                const seen = new Map<string, string>();
                const victims = [...BRANCHES, ...PAIRS.flat()];
                const known = new Set(victims);
                const forged = victims.map((b) => c.forge(c.derive(b))).filter((f) => !known.has(f));
                assert.ok(forged.length > 500, `only ${forged.length} forgeries to try`);
                for (const branch of [...victims, ...forged]) {
                    const name = c.derive(branch);
                    const other = seen.get(name);
                    assert.ok(other === undefined || other === branch, `${JSON.stringify(other)} and ${JSON.stringify(branch)} both give ${name}`);
                    seen.set(name, branch);
                }
            });
        }
    });

    // Expected values are written out by hand; each hash is the first 8 hex digits of
    // `printf '%s' <branch> | sha256sum`.
    it("shortHash is the first 8 hex digits of the SHA-256, the hashes written out below", () => {
        assert.strictEqual(shortHash("Feature/Login"), "1ce27709");
    });

    describe("forged branch names (issue 8)", () => {
        // Feature/Login -> 1ce27709, feature-login-1ce27709 -> 57260eb3,
        // feature-login-1ce27709-57260eb3 -> 456623bd.
        const VICTIM = "Feature/Login";
        const FORGED = "feature-login-1ce27709";

        it("a branch named like Feature/Login's hashed form gets a name of its own on every layer", () => {
            const cases: Array<[string, (b: string) => string, string, string]> = [
                ["namespace", (b) => namespaceName(b, "pm"), "pm-feature-login-1ce27709", "pm-feature-login-1ce27709-57260eb3"],
                ["stack", stackName, "feature-login-1ce27709", "feature-login-1ce27709-57260eb3"],
                ["stack label", (b) => labelValue(stackName(b)), "feature-login-1ce27709-57260eb3", "feature-login-1ce27709-57260eb3-456623bd"],
                ["branch label", labelValue, "Feature-Login-1ce27709", "feature-login-1ce27709-57260eb3"],
                ["image tag", (b) => imageTag(b, COMMIT), "feature-login-1ce27709-3f2a9c1", "feature-login-1ce27709-57260eb3-3f2a9c1"],
                ["bucket", (b) => cloudResourceName("bucket", "pm", b, "receipts"), "pm-feature-login-1ce27709-receipts", "pm-feature-login-1ce27709-57260eb3-receipts"],
                ["queue", (b) => cloudResourceName("queue", "pm", b, "deal-events"), "pm-feature-login-1ce27709-deal-events", "pm-feature-login-1ce27709-57260eb3-deal-events"],
                ["table", (b) => cloudResourceName("table", "pm", b, "deals"), "pm-feature-login-1ce27709-deals", "pm-feature-login-1ce27709-57260eb3-deals"],
            ];
            for (const [layer, derive, victim, forged] of cases) {
                assert.strictEqual(derive(VICTIM), victim, `${layer} of ${VICTIM}`);
                assert.strictEqual(derive(FORGED), forged, `${layer} of ${FORGED}`);
            }
        });

        it("a branch named like a long branch's cut-and-hashed namespace, stack or stack label gets its own", () => {
            // "feature/" + 120 a's -> be74b36d. Namespace: 51 characters of it, then the hash.
            const long = `feature/${"a".repeat(120)}`;
            const a43 = "a".repeat(43);
            assert.strictEqual(namespaceName(long, "pm"), `pm-feature-${a43}-be74b36d`);
            // The forged branch feature-<43 a's>-be74b36d -> 06ab2c35.
            assert.strictEqual(namespaceName(`feature-${a43}-be74b36d`, "pm"), `pm-feature-${a43}-06ab2c35`);

            // Stack: 91 characters, then the hash; the forged branch (that 100-character stack name) -> aeef8ec8.
            const stack = `feature-${"a".repeat(83)}-be74b36d`;
            assert.strictEqual(stackName(long), stack);
            assert.strictEqual(stackName(stack), `feature-${"a".repeat(83)}-aeef8ec8`);

            // Stack label: 54 characters of the stack name, then the stack name's hash (aeef8ec8). The
            // forged branch named like that label -> b51a23af; its stack keeps all 63 characters plus
            // that hash, and its label is cut again (feature-<46 a's>-aeef8ec8-b51a23af -> 578c300f).
            const label = `feature-${"a".repeat(46)}-aeef8ec8`;
            assert.strictEqual(labelValue(stack), label);
            assert.strictEqual(stackName(label), `${label}-b51a23af`);
            assert.strictEqual(labelValue(stackName(label)), `feature-${"a".repeat(46)}-578c300f`);
        });

        it("any value ending in - and 8 hex digits, of either case, or that is only 8 hex digits, is hashed", () => {
            // x-1ce27709 -> 0dbd0f58, x-1CE27709 -> 67137bac, deadbeef -> 2baf1f40; x-1ce2770 (7 digits) stays.
            assert.strictEqual(labelValue("x-1ce27709"), "x-1ce27709-0dbd0f58");
            assert.strictEqual(labelValue("x-1CE27709"), "x-1CE27709-67137bac");
            assert.strictEqual(stackName("deadbeef"), "deadbeef-2baf1f40");
            assert.strictEqual(stackName("x-1ce2770"), "x-1ce2770");
            assert.strictEqual(stackName("fix-1ce27709x"), "fix-1ce27709x");
        });

        it("labelValueOrHash's x-<hash> for an unusable owner cannot be claimed by an owner named x-<hex8>", () => {
            // 张三 -> 1d841bc0, x-1d841bc0 -> eaca3dfb
            assert.strictEqual(labelValueOrHash("张三"), "x-1d841bc0");
            assert.strictEqual(labelValueOrHash("x-1d841bc0"), "x-1d841bc0-eaca3dfb");
        });
    });

    describe("reserved names", () => {
        it("maps a branch named like a shipped stack template to its hashed stack (ci -> 1b158839)", () => {
            assert.strictEqual(stackName("ci"), "ci-1b158839");
            // Uppercase is hashed anyway (stacks are lowercase): CI -> fe8ee15b.
            assert.strictEqual(stackName("CI"), "ci-fe8ee15b");
            // Only the whole name is reserved.
            assert.strictEqual(stackName("ci-fix"), "ci-fix");
        });

        it("RESERVED_STACKS lists exactly the Pulumi.<stack>.yaml templates the repository keeps", () => {
            // .gitignore ignores every branch's Pulumi.<stack>.yaml and re-includes the templates, so its
            // re-include lines are the list (read from the file, not from git: the mutation run's copy
            // of the tree is no git checkout).
            const kept = fs.readFileSync(path.join(repoRoot, ".gitignore"), "utf8")
                .split("\n")
                .map((line) => /^!\/Pulumi\.(.+)\.yaml$/.exec(line.trim())?.[1])
                .filter((stack): stack is string => stack !== undefined);
            for (const stack of kept) {
                assert.ok(fs.existsSync(path.join(repoRoot, `Pulumi.${stack}.yaml`)), `Pulumi.${stack}.yaml is kept by .gitignore but missing`);
            }
            assert.deepStrictEqual([...RESERVED_STACKS].sort(), kept.sort());
            assert.ok(kept.includes("ci"));
        });

        it("gives stacks lowercase names, so their files stay apart on case-insensitive file systems", () => {
            // Main -> eb814be3
            assert.strictEqual(stackName("main"), "main");
            assert.strictEqual(stackName("Main"), "main-eb814be3");
        });

        it("refuses prefixes that would land on names others own, saying why", () => {
            assert.strictEqual(prefixProblem("pm"), undefined);
            assert.strictEqual(prefixProblem("kubex"), undefined);
            assert.strictEqual(
                prefixProblem("kube"),
                "prefix kube would name namespaces kube-<branch>, and Kubernetes reserves kube-* for its own " +
                    "(kube-system, kube-public, kube-node-lease); choose another prefix",
            );
            assert.strictEqual(
                prefixProblem("sthree"),
                "prefix sthree would name every S3 bucket sthree-..., a prefix S3 reserves, so no bucket could be created; choose another prefix",
            );
            assert.strictEqual(
                prefixProblem("amzn"),
                "prefix amzn would name S3 buckets amzn-..., and S3 reserves amzn-s3-demo-* (branch s3-demo would hit it); choose another prefix",
            );
            for (const bad of ["xn--", "xn-", "", "Pm", "1pm", "prefixtoolong", "pm-"]) {
                assert.strictEqual(prefixProblem(bad), "expected 1 to 10 lowercase letters and digits, starting with a letter", bad);
            }
        });

        it("namespaceName and cloudResourceName refuse such a prefix themselves, for callers that skip the config", () => {
            assert.throws(
                () => namespaceName("system", "kube"),
                (err: Error) =>
                    err instanceof NamingError &&
                    err.message ===
                        'cannot derive a Kubernetes namespace name from name prefix "kube": prefix kube would name namespaces ' +
                            "kube-<branch>, and Kubernetes reserves kube-* for its own (kube-system, kube-public, kube-node-lease); " +
                            "choose another prefix",
            );
            assert.throws(() => namespaceName("default", ""), /from name prefix "": expected 1 to 10 lowercase letters/);
            assert.throws(() => cloudResourceName("bucket", "sthree", "main", "receipts"), /S3 bucket name from name prefix "sthree": prefix sthree would/);
            assert.throws(() => cloudResourceName("bucket", "amzn", "s3-demo", "receipts"), /S3 bucket name from name prefix "amzn": prefix amzn would/);
        });
    });

    describe("namespaceName", () => {
        it("uses a clean branch verbatim, with no hash", () => {
            assert.strictEqual(namespaceName("main", "pm"), "pm-main");
            assert.strictEqual(namespaceName("123-hotfix", "pm"), "pm-123-hotfix");
        });

        it("appends the hash of the original branch when sanitising changes it", () => {
            // feature/Login-Flow -> c03c5fae, feature/a -> 951d42dc, Main -> eb814be3
            assert.strictEqual(namespaceName("feature/Login-Flow", "pm"), "pm-feature-login-flow-c03c5fae");
            assert.strictEqual(namespaceName("feature/a", "pm"), "pm-feature-a-951d42dc");
            assert.strictEqual(namespaceName("feature-a", "pm"), "pm-feature-a");
            assert.strictEqual(namespaceName("Main", "pm"), "pm-main-eb814be3");
        });

        it("uses a clean branch that exactly fills the 60 characters after pm- verbatim, and hashes one more", () => {
            // 61 a's -> 35d5fc17 (printf %s <61 a's> | sha256sum)
            assert.strictEqual(namespaceName("a".repeat(60), "pm"), `pm-${"a".repeat(60)}`);
            assert.strictEqual(namespaceName("a".repeat(61), "pm"), `pm-${"a".repeat(51)}-35d5fc17`);
        });

        it("folds accents and cuts 300-character branches to exactly 63 characters", () => {
            // café -> 850f7dc4, 300 x's -> 0d4e2ca9
            assert.strictEqual(namespaceName("café", "pm"), "pm-cafe-850f7dc4");
            assert.strictEqual(namespaceName("x".repeat(300), "pm"), `pm-${"x".repeat(51)}-0d4e2ca9`);
        });

        it("keeps a branch named like a system namespace out of it", () => {
            assert.strictEqual(namespaceName("kube-system", "pm"), "pm-kube-system");
            assert.strictEqual(namespaceName("default", "pm"), "pm-default");
        });

        it("collapses a separator next to a replaced character into one, and hashes the original", () => {
            // a/--b -> eee382f3, a._-b -> aa0d6a6d
            assert.strictEqual(namespaceName("a/--b", "pm"), "pm-a-b-eee382f3");
            assert.strictEqual(labelValue("a._-b"), "a.b-aa0d6a6d");
        });

        it("fails with a clear message for a branch that leaves nothing usable", () => {
            assert.throws(
                () => namespaceName("日本語/🚀", "pm"),
                (err: Error) =>
                    err instanceof NamingError &&
                    // What a caller prints: `${err}` starts with the name.
                    String(err).startsWith("NamingError: cannot derive") &&
                    err.message ===
                        'cannot derive a Kubernetes namespace name from branch "日本語/🚀": nothing is left after removing ' +
                            "characters outside [a-z0-9-]. Use a branch name with at least one ASCII letter or digit, or set " +
                            'prod-mirror:branch to one (example: "feature-login").',
            );
        });
    });

    describe("cloudResourceName", () => {
        it("always carries the branch hash, so branch/resource splits cannot meet", () => {
            // main -> 0d6e4079
            assert.strictEqual(cloudResourceName("queue", "pm", "main", "deal-events"), "pm-main-0d6e4079-deal-events");
            assert.notStrictEqual(cloudResourceName("bucket", "pm", "a", "b-c"), cloudResourceName("bucket", "pm", "a-b", "c"));
        });

        it("gives S3 names of lowercase letters, digits and hyphens only: no dots, no uppercase", () => {
            const name = cloudResourceName("bucket", "pm", "Release/v1.2.3", "receipts");
            assert.match(name, /^[a-z0-9-]{3,63}$/);
        });

        it("rejects a resource name S3 would reject as a reserved suffix, and only for buckets", () => {
            assert.throws(() => cloudResourceName("bucket", "pm", "main", "s3alias"), {
                name: "NamingError",
                message: "the S3 bucket name pm-main-0d6e4079-s3alias uses a prefix or suffix S3 reserves; rename bucket s3alias",
            });
            assert.strictEqual(cloudResourceName("queue", "pm", "main", "s3alias"), "pm-main-0d6e4079-s3alias");
        });

        it("takes a branch holding S3's reserved words inside the name: S3 reserves them only at its ends", () => {
            // amzn-s3-demo-x -> 0dad33ae, x-s3alias -> f736ec3c
            assert.strictEqual(cloudResourceName("bucket", "pm", "amzn-s3-demo-x", "receipts"), "pm-amzn-s3-demo-x-0dad33ae-receipts");
            assert.strictEqual(cloudResourceName("bucket", "pm", "x-s3alias", "receipts"), "pm-x-s3alias-f736ec3c-receipts");
        });

        it("leaves room for the branch and its hash with the longest prefix and resource name, on every kind", () => {
            // 300 x's -> 0d4e2ca9. Budget = limit - 10 (prefix) - 24 (resource) - 2 hyphens; the branch gets budget - 9.
            const [prefix, resource, branch] = ["abcdefghij", "r".repeat(24), "x".repeat(300)];
            const cases: Array<[CloudKind, number]> = [["bucket", 18], ["queue", 35], ["table", 210], ["iam", 19]];
            for (const [kind, kept] of cases) {
                assert.strictEqual(cloudResourceName(kind, prefix, branch, resource), `abcdefghij-${"x".repeat(kept)}-0d4e2ca9-${"r".repeat(24)}`, kind);
            }
        });

        it("rejects resource names that are not short DNS labels, naming the resource and the rule", () => {
            const SHAPE = "it must start with a lowercase letter, contain only [a-z0-9-] and not end with a hyphen";
            assert.strictEqual(resourceNameProblem("deal-events"), undefined);
            assert.strictEqual(resourceNameProblem("a".repeat(24)), undefined);
            assert.strictEqual(resourceNameProblem("Deals"), SHAPE);
            assert.strictEqual(resourceNameProblem("a".repeat(25)), "it must be at most 24 characters long");
            assert.throws(() => cloudResourceName("table", "pm", "main", "bad_name"), {
                name: "NamingError",
                message: `cannot derive a DynamoDB table name from resource name "bad_name": ${SHAPE}`,
            });
        });

        it("names the layer and its alphabet when a branch leaves nothing usable, on every layer", () => {
            const refusal = (what: string, allowed: string): string =>
                `cannot derive a ${what} from branch "日本語": nothing is left after removing characters outside ${allowed}. ` +
                'Use a branch name with at least one ASCII letter or digit, or set prod-mirror:branch to one (example: "feature-login").';
            const cases: Array<[() => string, string]> = [
                [() => cloudResourceName("bucket", "pm", "日本語", "r"), refusal("S3 bucket name", "[a-z0-9-]")],
                [() => cloudResourceName("queue", "pm", "日本語", "r"), refusal("SQS queue name", "[a-z0-9-]")],
                [() => cloudResourceName("table", "pm", "日本語", "r"), refusal("DynamoDB table name", "[a-z0-9-]")],
                [() => cloudResourceName("iam", "pm", "日本語", "r"), refusal("IAM role name", "[a-z0-9-]")],
                [() => imageTag("日本語", COMMIT), refusal("image tag", "[a-z0-9-]")],
                [() => stackName("日本語"), refusal("Pulumi stack name", "[a-z0-9._-]")],
                [() => labelValue("日本語"), refusal("Kubernetes label value", "[A-Za-z0-9._-]")],
            ];
            for (const [derive, message] of cases) {
                assert.throws(derive, { name: "NamingError", message });
            }
        });
    });

    describe("imageTag", () => {
        it("is <branch-slug>-<sha7>", () => {
            // feature/x -> 217d2bf5
            assert.strictEqual(imageTag("main", COMMIT), "main-3f2a9c1");
            assert.strictEqual(imageTag("feature/x", COMMIT), "feature-x-217d2bf5-3f2a9c1");
        });

        it("refuses a commit that is not hex", () => {
            assert.throws(() => imageTag("main", "not-a-sha"), { name: "NamingError", message: 'cannot derive an image tag: commit "not-a-sha" is not a hex SHA' });
        });
    });

    describe("labels, timestamps, tags, env", () => {
        it("labelValueOrHash turns an unusable value into x-<hash> instead of failing", () => {
            assert.strictEqual(labelValueOrHash("张三"), "x-1d841bc0");
            assert.strictEqual(labelValueOrHash("jane"), "jane");
        });

        it("timestampLabel is label-safe and sorts like time", () => {
            assert.strictEqual(timestampLabel("2026-11-28T06:00:00.000Z"), "20261128T060000Z");
            assert.ok(timestampLabel("2026-11-28T06:00:00Z") < timestampLabel("2026-12-01T00:00:00Z"));
            assert.throws(() => timestampLabel("tomorrow"), { name: "NamingError", message: '"tomorrow" is not an ISO timestamp' });
            assert.strictEqual(parseTimestampLabel("20261128T060000Z"), "2026-11-28T06:00:00Z");
            const notLabels = ["20261328T060000Z", "2026-11-28", "20261128T060000", "x20261128T060000Z", "20261128T060000Zx"];
            assert.deepStrictEqual(notLabels.map(parseTimestampLabel), [undefined, undefined, undefined, undefined, undefined]);
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
