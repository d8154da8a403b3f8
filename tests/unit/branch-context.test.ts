import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BranchContext, cloudNames, ConfigError, ContextSources, detectCi, imageTag, mirrorKey, namespaceName, PullRequest, readGitCheckout, resolveBranchContext, stackName } from "../../components";
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

    // The context every CI row below resolves to, but for branch, owner, source and pull request:
    // literal values, written out once.
    const want = (branch: string, owner: string, source: string, pullRequest?: PullRequest): BranchContext => ({
        branch,
        ...(pullRequest === undefined ? {} : { pullRequest }),
        commit: SHA,
        sha7: "3f2a9c1",
        owner,
        source,
        expiresAt: "2026-11-28T06:00:00.000Z",
        expiresAtLabel: "20261128T060000Z",
    });
    const GH = { GITHUB_ACTIONS: "true", GITHUB_SHA: SHA };
    const GL = { GITLAB_CI: "true", CI_COMMIT_SHA: SHA };
    const JK = { JENKINS_URL: "http://ci", GIT_COMMIT: SHA };
    // One row per variable each CI system is read from, and per fallback between them. Git, when
    // asked, knows only a branch and an owner, so that a row never silently takes them from git.
    const CI_CASES: Array<[string, Record<string, string>, BranchContext]> = [
        ["GitHub Actions on a pull request (head ref, not <n>/merge)", { ...GH, GITHUB_HEAD_REF: "feature/pr", GITHUB_REF_NAME: "12/merge", GITHUB_ACTOR: "octo" }, want("feature/pr", "octo", "github-actions")],
        ["GitHub Actions on a push (empty head ref)", { ...GH, GITHUB_HEAD_REF: "", GITHUB_REF_NAME: "main", GITHUB_ACTOR: "octo" }, want("main", "octo", "github-actions")],
        ["GitHub Actions, blank head ref and padded values trimmed", { ...GH, GITHUB_HEAD_REF: "  ", GITHUB_REF_NAME: " main ", GITHUB_ACTOR: " octo " }, want("main", "octo", "github-actions")],
        ["GitHub Actions, the triggering actor over the actor", { ...GH, GITHUB_REF_NAME: "main", GITHUB_TRIGGERING_ACTOR: "rerunner", GITHUB_ACTOR: "octo" }, want("main", "rerunner", "github-actions")],
        ["GitHub Actions, no actor: git's owner", { ...GH, GITHUB_REF_NAME: "main" }, want("main", "from-git", "github-actions")],
        ["GitHub Actions pull_request with a refs/pull/<n>/head ref", { ...GH, GITHUB_EVENT_NAME: "pull_request", GITHUB_REF: "refs/pull/12/head", GITHUB_HEAD_REF: "patch-1", PROD_MIRROR_SOURCE_REPO: "alice/app" }, want("patch-1", "from-git", "github-actions", { number: 12, sourceRepo: "alice/app" })],
        ["GitHub Actions pull_request_target", { ...GH, GITHUB_EVENT_NAME: "pull_request_target", GITHUB_REF: "refs/pull/7/merge", GITHUB_HEAD_REF: "patch-1", PROD_MIRROR_SOURCE_REPO: "alice/app" }, want("patch-1", "from-git", "github-actions", { number: 7, sourceRepo: "alice/app" })],
        ["GitHub Actions pull_request_review is no pull request event", { ...GH, GITHUB_EVENT_NAME: "pull_request_review", GITHUB_REF: "refs/pull/12/merge", GITHUB_HEAD_REF: "patch-1", PROD_MIRROR_SOURCE_REPO: "alice/app" }, want("patch-1", "from-git", "github-actions")],
        ["GitHub Actions x_pull_request is no pull request event", { ...GH, GITHUB_EVENT_NAME: "x_pull_request", GITHUB_REF: "refs/pull/12/merge", GITHUB_HEAD_REF: "patch-1", PROD_MIRROR_SOURCE_REPO: "alice/app" }, want("patch-1", "from-git", "github-actions")],
        ["GitHub Actions pull_request without GITHUB_REF or head repository", { ...GH, GITHUB_EVENT_NAME: "pull_request", GITHUB_HEAD_REF: "patch-1" }, want("patch-1", "from-git", "github-actions")],
        ["GITHUB_ACTIONS other than true is no GitHub Actions", { GITHUB_ACTIONS: "false", GITHUB_REF_NAME: "main", GITHUB_SHA: SHA, CIRCLECI: "true", CIRCLE_BRANCH: "cc", CIRCLE_SHA1: SHA }, want("cc", "from-git", "circleci")],
        ["GitLab CI merge request", { ...GL, CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: "feature/mr", CI_COMMIT_REF_NAME: "refs/merge-requests/3/head", GITLAB_USER_LOGIN: "gl" }, want("feature/mr", "gl", "gitlab-ci")],
        ["GitLab CI branch pipeline", { ...GL, CI_COMMIT_BRANCH: "feature/b", CI_COMMIT_REF_NAME: "other", GITLAB_USER_EMAIL: "gl@example.test" }, want("feature/b", "gl@example.test", "gitlab-ci")],
        ["GitLab CI tag pipeline (ref name only)", { ...GL, CI_COMMIT_REF_NAME: "v1.2", GITLAB_USER_LOGIN: "gl", GITLAB_USER_EMAIL: "gl@example.test" }, want("v1.2", "gl", "gitlab-ci")],
        ["GitLab CI merge request pipeline", { ...GL, CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: "patch-1", CI_MERGE_REQUEST_IID: "7", CI_MERGE_REQUEST_SOURCE_PROJECT_PATH: "group/sub/app" }, want("patch-1", "from-git", "gitlab-ci", { number: 7, sourceRepo: "group/sub/app" })],
        ["Jenkins git plugin (origin/ stripped)", { ...JK, GIT_BRANCH: "origin/feature/j" }, want("feature/j", "from-git", "jenkins")],
        ["Jenkins refs/heads/ stripped", { ...JK, GIT_BRANCH: "refs/heads/feature/j" }, want("feature/j", "from-git", "jenkins")],
        ["Jenkins origin/ kept inside a branch name", { ...JK, GIT_BRANCH: "feature/origin/j" }, want("feature/origin/j", "from-git", "jenkins")],
        ["Jenkins multibranch pull request", { ...JK, CHANGE_BRANCH: "feature/pr", BRANCH_NAME: "PR-4", CHANGE_AUTHOR: "jen", BUILD_USER_ID: "builder" }, want("feature/pr", "jen", "jenkins")],
        ["Jenkins multibranch branch, JENKINS_HOME alone", { JENKINS_HOME: "/var/jenkins", GIT_COMMIT: SHA, BRANCH_NAME: "feature/mb", GIT_BRANCH: "origin/other", BUILD_USER_ID: "builder" }, want("feature/mb", "builder", "jenkins")],
        ["Buildkite", { BUILDKITE: "true", BUILDKITE_BRANCH: "feature/bk", BUILDKITE_COMMIT: SHA, BUILDKITE_BUILD_CREATOR_EMAIL: "b@k", BUILDKITE_BUILD_CREATOR: "creator" }, want("feature/bk", "b@k", "buildkite")],
        ["Buildkite, creator name", { BUILDKITE: "true", BUILDKITE_BRANCH: "feature/bk", BUILDKITE_COMMIT: SHA, BUILDKITE_BUILD_CREATOR: "creator", BUILDKITE_BUILD_AUTHOR: "author" }, want("feature/bk", "creator", "buildkite")],
        ["Buildkite, author", { BUILDKITE: "true", BUILDKITE_BRANCH: "feature/bk", BUILDKITE_COMMIT: SHA, BUILDKITE_BUILD_AUTHOR: "author" }, want("feature/bk", "author", "buildkite")],
        ["CircleCI", { CIRCLECI: "true", CIRCLE_BRANCH: "feature/cc", CIRCLE_SHA1: SHA, CIRCLE_USERNAME: "cc" }, want("feature/cc", "cc", "circleci")],
    ];
    for (const [label, env, expected] of CI_CASES) {
        it(`reads ${label}`, () => {
            assert.deepStrictEqual(resolveBranchContext(sources({ env, git: () => ({ branch: "from-git", owner: "from-git" }) })), expected);
        });
    }

    it("detects no CI in an environment without CI variables", () => {
        assert.strictEqual(detectCi({}), undefined);
        assert.strictEqual(detectCi({ HOME: "/root", GITHUB_ACTIONS: "", GITLAB_CI: "1" }), undefined);
    });

    it("reports only the facts a CI system gives, and takes the rest from git, naming both sources", () => {
        assert.deepStrictEqual(detectCi({ JENKINS_URL: "http://ci" }), { id: "jenkins" });
        const mixed = resolveBranchContext(sources({ env: { JENKINS_URL: "http://ci" }, git: () => ({ branch: "local", commit: SHA }) }));
        assert.deepStrictEqual(mixed, want("local", "unknown", "git"));
        const split = resolveBranchContext(sources({ env: { CIRCLECI: "true", CIRCLE_BRANCH: "feature/cc" }, git: () => ({ branch: "local", commit: SHA }) }));
        assert.deepStrictEqual(split, want("feature/cc", "unknown", "circleci+git"));
    });

    it("reads the git checkout once, however many fields it supplies", () => {
        let reads = 0;
        const context = resolveBranchContext(sources({ git: () => (reads++, { branch: "local", commit: SHA, owner: "me" }) }));
        assert.deepStrictEqual([context.branch, context.owner, context.source, reads], ["local", "me", "git", 1]);
    });

    it("ignores a pull request the CI reports when the branch comes from git", () => {
        const env = { ...GH, GITHUB_EVENT_NAME: "pull_request", GITHUB_REF: "refs/pull/12/merge", PROD_MIRROR_SOURCE_REPO: "alice/app" };
        const context = resolveBranchContext(sources({ env, git: () => ({ branch: "local" }) }));
        assert.deepStrictEqual(context, want("local", "unknown", "git+github-actions"));
    });

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
            // pr:12:alice/app -> 00c6114c, pr:13:bob/app -> 12a1dc5c, pr:12:bob/app -> d049c634 (printf %s <key> | sha256sum)
            assert.deepStrictEqual([stackName(ka), stackName(kb), stackName("patch-1")], ["pr-12-alice-app-00c6114c", "pr-13-bob-app-12a1dc5c", "patch-1"]);
            assert.deepStrictEqual([namespaceName(ka, "pm"), namespaceName(kb, "pm")], ["pm-pr-12-alice-app-00c6114c", "pm-pr-13-bob-app-12a1dc5c"]);
            assert.deepStrictEqual([imageTag(ka, SHA), imageTag(kb, SHA)], ["pr-12-alice-app-00c6114c-3f2a9c1", "pr-13-bob-app-12a1dc5c-3f2a9c1"]);
            assert.notDeepStrictEqual(cloudNames(sampleApp().cloud, "pm", ka), cloudNames(sampleApp().cloud, "pm", kb));
            // The same number from another repository is another mirror too.
            assert.strictEqual(stackName(mirrorKey("patch-1", { number: 12, sourceRepo: "bob/app" })), "pr-12-bob-app-d049c634");
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

    const COMMIT_FIX = "(checked Pulumi.dev.yaml, CI variables and the git checkout). Set it with: pulumi config set prod-mirror:commit 3f2a9c1";
    const PR_CONFLICT = (from: string): string =>
        "Pulumi.dev.yaml sets prod-mirror:pullRequest or prod-mirror:sourceRepo but not prod-mirror:branch, so the branch would come from " +
        `${from} and the pull request from the config; set the head branch too: pulumi config set prod-mirror:branch patch-1`;
    const GH_PR = { ...GH, GITHUB_EVENT_NAME: "pull_request", GITHUB_HEAD_REF: "patch-1", PROD_MIRROR_SOURCE_REPO: "alice/app" };
    const GL_MR = { ...GL, CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: "patch-1" };
    const REFUSALS: Array<[string, Partial<ContextSources>, string]> = [
        ["a missing commit", { configured: { branch: "b" } }, `prod-mirror:commit is missing ${COMMIT_FIX}`],
        ["a commit with a non-hex prefix", { configured: { branch: "b", commit: "zz3f2a9c1d" } }, `prod-mirror:commit from config is not a commit SHA, got "zz3f2a9c1d" ${COMMIT_FIX}`],
        ["a commit with a non-hex suffix", { configured: { branch: "b", commit: "3f2a9c1d zz" } }, `prod-mirror:commit from config is not a commit SHA, got "3f2a9c1d zz" ${COMMIT_FIX}`],
        ["a commit of 6 digits", { configured: { branch: "b", commit: "3f2a9c" } }, `prod-mirror:commit from config is not a commit SHA, got "3f2a9c" ${COMMIT_FIX}`],
        ["a commit from git that is no SHA", { configured: { branch: "b" }, git: () => ({ commit: "main" }) }, `prod-mirror:commit from git is not a commit SHA, got "main" ${COMMIT_FIX}`],
        ["a configured pull request number with a suffix", { configured: { branch: "b", commit: SHA, pullRequest: "12a", sourceRepo: "a/b" } }, 'Pulumi.dev.yaml gives pull request number "12a", which is not a number like 42; set it with pulumi config set prod-mirror:pullRequest 42'],
        ["a configured source repository with a bad prefix", { configured: { branch: "b", commit: SHA, pullRequest: "12", sourceRepo: "a:b/c" } }, 'Pulumi.dev.yaml gives source repository "a:b/c", which is not a path like owner/repo or group/project; set it with pulumi config set prod-mirror:sourceRepo owner/repo'],
        ["a configured source repository with a bad suffix", { configured: { branch: "b", commit: SHA, pullRequest: "12", sourceRepo: "a/b:c" } }, 'Pulumi.dev.yaml gives source repository "a/b:c", which is not a path like owner/repo or group/project; set it with pulumi config set prod-mirror:sourceRepo owner/repo'],
        ["a configured pull request alone, the branch from git", { configured: { commit: SHA, pullRequest: "12" }, git: () => ({ branch: "local" }) }, PR_CONFLICT("git")],
        ["a configured source repository alone, the branch from CI", { configured: { sourceRepo: "alice/app" }, env: { CIRCLECI: "true", CIRCLE_BRANCH: "cc", CIRCLE_SHA1: SHA } }, PR_CONFLICT("circleci")],
        [
            "a configured pull request and no branch anywhere",
            { configured: { commit: SHA, pullRequest: "12", sourceRepo: "alice/app" } },
            "prod-mirror:branch is missing from Pulumi.dev.yaml and could not be found otherwise: no CI variables (GitHub Actions, GitLab CI, Jenkins, " +
                "Buildkite, CircleCI) and no git branch checked out. Set it with: pulumi config set prod-mirror:branch feature/login",
        ],
        ["a GitHub ref with a prefix", { env: { ...GH_PR, GITHUB_REF: "x/refs/pull/12/merge" } }, 'CI (github-actions) names source repository "alice/app" but no pull request number; set it with a pull_request event (GITHUB_REF refs/pull/<n>/merge)'],
        ["a GitHub ref with a suffix", { env: { ...GH_PR, GITHUB_REF: "refs/pull/12/merge/x" } }, 'CI (github-actions) names source repository "alice/app" but no pull request number; set it with a pull_request event (GITHUB_REF refs/pull/<n>/merge)'],
        [
            "a GitLab merge request without its source project",
            { env: { ...GL_MR, CI_MERGE_REQUEST_IID: "7" } },
            "CI (gitlab-ci) gives pull request 7 but not the repository its branch comes from, without which two forks' branches of one name would share a mirror; " +
                "set it with a merge request pipeline (CI_MERGE_REQUEST_SOURCE_PROJECT_PATH)",
        ],
        ["a GitLab merge request IID that is no number", { env: { ...GL_MR, CI_MERGE_REQUEST_IID: "x7", CI_MERGE_REQUEST_SOURCE_PROJECT_PATH: "g/p" } }, 'CI (gitlab-ci) gives pull request number "x7", which is not a number like 42; set it with a merge request pipeline (CI_MERGE_REQUEST_IID)'],
    ];
    for (const [label, overrides, message] of REFUSALS) {
        it(`refuses ${label}, saying how to fix it`, () => {
            assert.throws(() => resolveBranchContext(sources(overrides)), (err: Error) => err instanceof ConfigError && err.message === message);
        });
    }

    describe("readGitCheckout (a real git repository in a temporary directory)", () => {
        let dir = "";
        // Fixed author, committer and dates make the commit's SHA-1 a constant, derived by hand as
        // the SHA-1 of the commit object: the empty tree 4b825dc..., author and committer
        // `t <t@example.test> 1795586400 +0000` (2026-11-25T06:00:00Z), message "fixture":
        //   printf 'commit 144\0tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor t <t@example.test> 1795586400 +0000\n
        //   committer t <t@example.test> 1795586400 +0000\n\nfixture\n' | sha1sum   (one line)
        const FIXTURE_COMMIT = "a4e38e53c1b8f60c7bc17c25d22882470fa93a31";
        const git = (...args: string[]): void => {
            const env = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.test", GIT_AUTHOR_DATE: "2026-11-25T06:00:00Z" };
            execFileSync("git", args, { cwd: dir, stdio: "ignore", env: { ...env, GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.test", GIT_COMMITTER_DATE: "2026-11-25T06:00:00Z" } });
        };
        before(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "pm-git-"));
        });
        after(() => fs.rmSync(dir, { recursive: true, force: true }));

        it("reads branch, commit and owner, then no branch on a detached HEAD and no owner when it is empty", () => {
            assert.strictEqual(readGitCheckout(dir), undefined, "a directory that is no checkout");
            git("init", "-q", "-b", "feature/local");
            assert.strictEqual(readGitCheckout(dir), undefined, "a checkout without a commit");
            git("commit", "-q", "--allow-empty", "-m", "fixture");
            git("config", "user.email", "owner@example.test");
            assert.deepStrictEqual(readGitCheckout(dir), { branch: "feature/local", commit: FIXTURE_COMMIT, owner: "owner@example.test" });
            git("checkout", "-q", "--detach");
            git("config", "user.email", "");
            assert.deepStrictEqual(readGitCheckout(dir), { branch: undefined, commit: FIXTURE_COMMIT, owner: undefined });
        });
    });
});
