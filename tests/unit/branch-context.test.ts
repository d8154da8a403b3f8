import * as assert from "assert";
import { BranchFacts, cloudNames, ConfigError, ContextSources, detectCi, imageTag, mirrorKey, namespaceName, resolveBranchContext, stackName } from "../../components";
import { sampleApp } from "./fixtures";

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
        ["Jenkins git plugin (origin/ stripped)", { JENKINS_URL: "http://ci", GIT_BRANCH: "origin/feature/j", GIT_COMMIT: SHA }, { id: "jenkins", branch: "feature/j", commit: SHA }],
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

    describe("pull requests key the mirror, not the head branch", () => {
        const github = (number: string, sourceRepo: string | undefined): Record<string, string> => ({
            GITHUB_ACTIONS: "true",
            GITHUB_EVENT_NAME: "pull_request",
            GITHUB_REF: `refs/pull/${number}/merge`,
            GITHUB_REF_NAME: `${number}/merge`,
            GITHUB_HEAD_REF: "patch-1",
            GITHUB_SHA: SHA,
            GITHUB_ACTOR: "octo",
            ...(sourceRepo === undefined ? {} : { PROD_MIRROR_SOURCE_REPO: sourceRepo }),
        });

        it("reads the number from GITHUB_REF and the head repository from PROD_MIRROR_SOURCE_REPO", () => {
            assert.deepStrictEqual(detectCi(github("12", "alice/app")), { id: "github-actions", branch: "patch-1", commit: SHA, owner: "octo", pullRequest: "12", sourceRepo: "alice/app" });
            assert.deepStrictEqual(detectCi({ ...github("12", "alice/app"), GITHUB_EVENT_NAME: "pull_request_target" })?.pullRequest, "12");
            // A push or a schedule is no pull request, whatever else is set.
            assert.strictEqual(detectCi({ ...github("12", "alice/app"), GITHUB_EVENT_NAME: "push", GITHUB_REF: "refs/heads/patch-1" })?.pullRequest, undefined);
        });

        it("reads a GitLab merge request's IID and source project path", () => {
            const env = { GITLAB_CI: "true", CI_MERGE_REQUEST_IID: "7", CI_MERGE_REQUEST_SOURCE_PROJECT_PATH: "group/sub/app", CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: "patch-1", CI_COMMIT_SHA: SHA, GITLAB_USER_LOGIN: "gl" };
            assert.deepStrictEqual(detectCi(env), { id: "gitlab-ci", branch: "patch-1", commit: SHA, owner: "gl", pullRequest: "7", sourceRepo: "group/sub/app" });
            assert.deepStrictEqual(resolveBranchContext(sources({ env })).pullRequest, { number: 7, sourceRepo: "group/sub/app" });
        });

        it("gives two forks' patch-1 two mirrors: stack, namespace, cloud names and image tag all differ", () => {
            const a = resolveBranchContext(sources({ env: github("12", "alice/app") }));
            const b = resolveBranchContext(sources({ env: github("13", "bob/app") }));
            assert.deepStrictEqual([a.branch, b.branch], ["patch-1", "patch-1"]);
            assert.deepStrictEqual(a.pullRequest, { number: 12, sourceRepo: "alice/app" });
            const [ka, kb] = [mirrorKey(a.branch, a.pullRequest), mirrorKey(b.branch, b.pullRequest)];
            assert.deepStrictEqual([ka, kb], ["pr:12:alice/app", "pr:13:bob/app"]);
            assert.notStrictEqual(stackName(ka), stackName(kb));
            assert.notStrictEqual(stackName(ka), stackName("patch-1"));
            assert.notStrictEqual(namespaceName(ka, "pm"), namespaceName(kb, "pm"));
            assert.notStrictEqual(imageTag(ka, SHA), imageTag(kb, SHA));
            assert.notDeepStrictEqual(cloudNames(sampleApp().cloud, "pm", ka), cloudNames(sampleApp().cloud, "pm", kb));
            // The same number from another repository is another mirror too.
            assert.notStrictEqual(stackName(mirrorKey("patch-1", { number: 12, sourceRepo: "bob/app" })), stackName(ka));
        });

        it("refuses a branch containing ':', so that no branch can be named to land on a pull request's key", () => {
            assert.throws(
                () => resolveBranchContext(sources({ configured: { branch: "pr:12:alice/app", commit: SHA } })),
                (err: Error) =>
                    err instanceof ConfigError &&
                    err.message ===
                        'branch "pr:12:alice/app" contains ":", which git does not allow in branch names and prod-mirror keeps for ' +
                            'pull request mirrors (pr:<number>:<repo>); use the branch\'s real name, e.g. "pr-12-alice/app"',
            );
        });

        it("asks a GitHub workflow for the head repository when it passes none", () => {
            assert.throws(
                () => resolveBranchContext(sources({ env: github("12", undefined) })),
                {
                    message:
                        "CI (github-actions) gives pull request 12 but not the repository its branch comes from, without which two forks' " +
                        "branches of one name would share a mirror; set it with env: PROD_MIRROR_SOURCE_REPO: ${{ github.event.pull_request.head.repo.full_name }} in the job",
                },
            );
        });

        it("takes branch and pull request from one source: a configured branch ignores the CI's pull request", () => {
            const context = resolveBranchContext(sources({ configured: { branch: "feature/x", commit: SHA }, env: github("12", "alice/app") }));
            assert.strictEqual(context.pullRequest, undefined);
            const configured = resolveBranchContext(sources({ configured: { branch: "patch-1", commit: SHA, pullRequest: "12", sourceRepo: "alice/app" }, env: github("99", "x/y") }));
            assert.deepStrictEqual(configured.pullRequest, { number: 12, sourceRepo: "alice/app" });
        });

        it("refuses a configured pull request without a configured branch, and malformed values, naming the key to set", () => {
            assert.throws(() => resolveBranchContext(sources({ configured: { commit: SHA, pullRequest: "12", sourceRepo: "alice/app" }, env: github("12", "alice/app") })), {
                message:
                    "Pulumi.dev.yaml sets prod-mirror:pullRequest or prod-mirror:sourceRepo but not prod-mirror:branch, so the branch would come from " +
                    "github-actions and the pull request from the config; set the head branch too: pulumi config set prod-mirror:branch patch-1",
            });
            assert.throws(() => resolveBranchContext(sources({ configured: { branch: "b", commit: SHA, pullRequest: "012", sourceRepo: "a/b" } })), {
                message: 'Pulumi.dev.yaml gives pull request number "012", which is not a number like 42; set it with pulumi config set prod-mirror:pullRequest 42',
            });
            assert.throws(() => resolveBranchContext(sources({ configured: { branch: "b", commit: SHA, pullRequest: "12", sourceRepo: "a:b" } })), {
                message: 'Pulumi.dev.yaml gives source repository "a:b", which is not a path like owner/repo or group/project; set it with pulumi config set prod-mirror:sourceRepo owner/repo',
            });
            assert.throws(() => resolveBranchContext(sources({ configured: { branch: "b", commit: SHA, sourceRepo: "a/b" } })), {
                message: 'Pulumi.dev.yaml names source repository "a/b" but no pull request number; set it with pulumi config set prod-mirror:pullRequest 42',
            });
        });
    });
});
