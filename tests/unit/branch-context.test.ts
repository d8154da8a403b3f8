import * as assert from "assert";
import { BranchFacts, ConfigError, ContextSources, detectCi, resolveBranchContext } from "../../components";

const SHA = "3f2a9c1d4e5b6a7980112233445566778899aabb";
const NOW = new Date("2026-11-25T06:00:00.000Z");

function sources(overrides: Partial<ContextSources> = {}): ContextSources {
    return { stack: "dev", configured: {}, env: {}, git: () => undefined, now: NOW, ttlHours: 72, ...overrides };
}

describe("branch context", () => {
    it("takes config first and never reads git when config says everything", () => {
        const context = resolveBranchContext(
            sources({
                configured: { branch: "feature/x", commit: SHA.toUpperCase(), owner: "jane" },
                env: { GITHUB_ACTIONS: "true", GITHUB_REF_NAME: "main", GITHUB_SHA: "a".repeat(40) },
                git: () => assert.fail("git must not be read"),
            }),
        );
        assert.deepStrictEqual(context, {
            branch: "feature/x",
            commit: SHA,
            sha7: "3f2a9c1",
            owner: "jane",
            source: "config",
            expiresAt: "2026-11-28T06:00:00.000Z",
            expiresAtLabel: "20261128T060000Z",
        });
    });

    const CI_CASES: Array<[string, Record<string, string>, BranchFacts & { id: string }]> = [
        ["GitHub Actions on a pull request (head ref, not <n>/merge)", { GITHUB_ACTIONS: "true", GITHUB_HEAD_REF: "feature/pr", GITHUB_REF_NAME: "12/merge", GITHUB_SHA: SHA, GITHUB_ACTOR: "octo" }, { id: "github-actions", branch: "feature/pr", commit: SHA, owner: "octo" }],
        ["GitHub Actions on a push", { GITHUB_ACTIONS: "true", GITHUB_HEAD_REF: "", GITHUB_REF_NAME: "main", GITHUB_SHA: SHA, GITHUB_ACTOR: "octo" }, { id: "github-actions", branch: "main", commit: SHA, owner: "octo" }],
        ["GitLab CI merge request", { GITLAB_CI: "true", CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: "feature/mr", CI_COMMIT_REF_NAME: "refs/merge-requests/3/head", CI_COMMIT_SHA: SHA, GITLAB_USER_LOGIN: "gl" }, { id: "gitlab-ci", branch: "feature/mr", commit: SHA, owner: "gl" }],
        ["Jenkins git plugin (origin/ stripped)", { JENKINS_URL: "http://ci", GIT_BRANCH: "origin/feature/j", GIT_COMMIT: SHA }, { id: "jenkins", branch: "feature/j", commit: SHA, owner: undefined }],
        ["Buildkite", { BUILDKITE: "true", BUILDKITE_BRANCH: "feature/bk", BUILDKITE_COMMIT: SHA, BUILDKITE_BUILD_CREATOR_EMAIL: "b@k" }, { id: "buildkite", branch: "feature/bk", commit: SHA, owner: "b@k" }],
        ["CircleCI", { CIRCLECI: "true", CIRCLE_BRANCH: "feature/cc", CIRCLE_SHA1: SHA, CIRCLE_USERNAME: "cc" }, { id: "circleci", branch: "feature/cc", commit: SHA, owner: "cc" }],
    ];
    for (const [label, env, expected] of CI_CASES) {
        it(`reads ${label}`, () => {
            assert.deepStrictEqual(detectCi(env), expected);
            const context = resolveBranchContext(sources({ env, git: () => ({ owner: "from-git" }) }));
            assert.strictEqual(context.branch, expected.branch);
            assert.strictEqual(context.source, expected.id);
            assert.strictEqual(context.owner, expected.owner ?? "from-git");
        });
    }

    it("falls back to the git checkout outside CI, and to `unknown` for a missing owner", () => {
        const context = resolveBranchContext(sources({ git: () => ({ branch: "local/work", commit: SHA }) }));
        assert.strictEqual(context.branch, "local/work");
        assert.strictEqual(context.source, "git");
        assert.strictEqual(context.owner, "unknown");
    });

    it("says which key to set when no source knows the branch", () => {
        assert.throws(
            () => resolveBranchContext(sources({ git: () => ({ commit: SHA }) })),
            (err: Error) =>
                err instanceof ConfigError &&
                err.message ===
                    "prod-mirror:branch is missing from Pulumi.dev.yaml and could not be found otherwise: no CI variables " +
                        "(GitHub Actions, GitLab CI, Jenkins, Buildkite, CircleCI) and no git branch checked out. " +
                        "Set it with: pulumi config set prod-mirror:branch feature/login",
        );
    });

    it("rejects a commit that is not a SHA, naming where it came from", () => {
        assert.throws(
            () => resolveBranchContext(sources({ env: { CIRCLECI: "true", CIRCLE_BRANCH: "b", CIRCLE_SHA1: "HEAD" } })),
            (err: Error) =>
                err.message ===
                    'prod-mirror:commit from circleci is not a commit SHA, got "HEAD" (checked Pulumi.dev.yaml, CI variables ' +
                        "and the git checkout). Set it with: pulumi config set prod-mirror:commit 3f2a9c1",
        );
    });

    it("stamps the expiry from the TTL, unless an explicit expiresAt is given", () => {
        const ttl = resolveBranchContext(sources({ configured: { branch: "b", commit: SHA }, ttlHours: 1 }));
        assert.strictEqual(ttl.expiresAt, "2026-11-25T07:00:00.000Z");
        const fixed = resolveBranchContext(sources({ configured: { branch: "b", commit: SHA }, expiresAt: "2027-01-01T00:00:00.000Z" }));
        assert.strictEqual(fixed.expiresAt, "2027-01-01T00:00:00.000Z");
        assert.strictEqual(fixed.expiresAtLabel, "20270101T000000Z");
    });
});
