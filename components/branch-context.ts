// Who, what and when a mirror is for: branch, commit, owner and expiry. Resolution is a pure
// function of its inputs; `readGitCheckout` is the one impure helper, and only index.ts calls it.
import { execFileSync } from "child_process";
import { ConfigError, stackFile } from "./config-error";
import { timestampLabel } from "./naming";

/** A pull or merge request: its number and the repository its head branch lives in. */
export interface PullRequest {
    number: number;
    /** `owner/repo` (GitHub) or `group/subgroup/project` (GitLab); for a fork, the fork. */
    sourceRepo: string;
}

/** The resolved context every component receives. */
export interface BranchContext {
    /** The branch as git knows it (may hold slashes, dots, unicode). Shown and labelled, not a key. */
    branch: string;
    /** Set when the mirror is a pull request's: then the request, not the branch, keys the mirror. */
    pullRequest?: PullRequest;
    /** Full commit SHA, lowercase hex. */
    commit: string;
    /** First 7 hex digits of the commit. */
    sha7: string;
    /** Who the mirror belongs to (CI actor, git user), or `unknown`. */
    owner: string;
    /** Where branch and commit came from: `config`, a CI system's id, or `git`. */
    source: string;
    /** When a reaper may delete the mirror, ISO 8601 in UTC. */
    expiresAt: string;
    /** `expiresAt` in a label-safe, text-sortable form, e.g. `20261128T060000Z`. */
    expiresAtLabel: string;
}

/** Branch, commit, owner and pull request as one source knows them; any field may be missing. */
export interface BranchFacts {
    branch?: string;
    commit?: string;
    owner?: string;
    /** The pull/merge request number, as text. */
    pullRequest?: string;
    sourceRepo?: string;
}

/**
 * The GitHub Actions variable a workflow sets to the pull request's head repository: GitHub
 * exports no variable with it, so the workflow passes `github.event.pull_request.head.repo.full_name`.
 */
export const GITHUB_SOURCE_REPO_VARIABLE = "PROD_MIRROR_SOURCE_REPO";

type Env = Record<string, string | undefined>;

function first(env: Env, ...names: string[]): string | undefined {
    for (const name of names) {
        const value = env[name]?.trim();
        if (value) {
            return value;
        }
    }
    return undefined;
}

/** The CI systems recognised, in the order they are tried. Each reads only its own variables. */
const CI_SYSTEMS: ReadonlyArray<{ id: string; detect: (env: Env) => boolean; facts: (env: Env) => BranchFacts }> = [
    {
        // On pull requests GITHUB_REF is `refs/pull/<n>/merge` and GITHUB_HEAD_REF holds the source branch.
        id: "github-actions",
        detect: (env) => env.GITHUB_ACTIONS === "true",
        facts: (env) => ({
            branch: first(env, "GITHUB_HEAD_REF", "GITHUB_REF_NAME"),
            commit: first(env, "GITHUB_SHA"),
            owner: first(env, "GITHUB_TRIGGERING_ACTOR", "GITHUB_ACTOR"),
            ...(/^pull_request(_target)?$/.test(env.GITHUB_EVENT_NAME ?? "")
                ? { pullRequest: /^refs\/pull\/(\d+)\/(merge|head)$/.exec(env.GITHUB_REF ?? "")?.[1], sourceRepo: first(env, GITHUB_SOURCE_REPO_VARIABLE) }
                : {}),
        }),
    },
    {
        id: "gitlab-ci",
        detect: (env) => env.GITLAB_CI === "true",
        facts: (env) => ({
            branch: first(env, "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_COMMIT_BRANCH", "CI_COMMIT_REF_NAME"),
            commit: first(env, "CI_COMMIT_SHA"),
            owner: first(env, "GITLAB_USER_LOGIN", "GITLAB_USER_EMAIL"),
            pullRequest: first(env, "CI_MERGE_REQUEST_IID"),
            sourceRepo: first(env, "CI_MERGE_REQUEST_SOURCE_PROJECT_PATH"),
        }),
    },
    {
        id: "buildkite",
        detect: (env) => env.BUILDKITE === "true",
        facts: (env) => ({
            branch: first(env, "BUILDKITE_BRANCH"),
            commit: first(env, "BUILDKITE_COMMIT"),
            owner: first(env, "BUILDKITE_BUILD_CREATOR_EMAIL", "BUILDKITE_BUILD_CREATOR", "BUILDKITE_BUILD_AUTHOR"),
        }),
    },
    {
        id: "circleci",
        detect: (env) => env.CIRCLECI === "true",
        facts: (env) => ({
            branch: first(env, "CIRCLE_BRANCH"),
            commit: first(env, "CIRCLE_SHA1"),
            owner: first(env, "CIRCLE_USERNAME"),
        }),
    },
    {
        // Multibranch pipelines set CHANGE_BRANCH (pull requests) or BRANCH_NAME; the git plugin
        // sets GIT_BRANCH as `origin/<branch>`.
        id: "jenkins",
        detect: (env) => env.JENKINS_URL !== undefined || env.JENKINS_HOME !== undefined,
        facts: (env) => ({
            branch: first(env, "CHANGE_BRANCH", "BRANCH_NAME", "GIT_BRANCH")?.replace(/^(refs\/heads\/|origin\/)/, ""),
            commit: first(env, "GIT_COMMIT"),
            owner: first(env, "CHANGE_AUTHOR", "BUILD_USER_ID"),
        }),
    },
];

/** The CI system the environment belongs to and what it says, or undefined outside CI. */
export function detectCi(env: Env): (BranchFacts & { id: string }) | undefined {
    const system = CI_SYSTEMS.find((s) => s.detect(env));
    if (system === undefined) {
        return undefined;
    }
    const facts = Object.entries(system.facts(env)).filter(([, value]) => value !== undefined);
    return { id: system.id, ...Object.fromEntries(facts) };
}

/** A pull request number as text: 1 to 10 digits, no leading zero. */
export const PULL_REQUEST_NUMBER = /^[1-9][0-9]{0,9}$/;
/** `owner/repo` or `group/subgroup/project`: the characters GitHub and GitLab allow in paths. */
export const SOURCE_REPO = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/;

/**
 * The pull request `number` and `sourceRepo` describe, undefined when neither is set. `from` says
 * where they were read, and `fix` how to set them there, for the error messages.
 */
export function parsePullRequest(facts: Pick<BranchFacts, "pullRequest" | "sourceRepo">, from: string, fix: { number: string; sourceRepo: string }): PullRequest | undefined {
    const { pullRequest, sourceRepo } = facts;
    if (pullRequest === undefined && sourceRepo === undefined) {
        return undefined;
    }
    if (pullRequest === undefined) {
        throw new ConfigError(`${from} names source repository ${JSON.stringify(sourceRepo)} but no pull request number; set it with ${fix.number}`);
    }
    if (!PULL_REQUEST_NUMBER.test(pullRequest)) {
        throw new ConfigError(`${from} gives pull request number ${JSON.stringify(pullRequest)}, which is not a number like 42; set it with ${fix.number}`);
    }
    if (sourceRepo === undefined) {
        throw new ConfigError(
            `${from} gives pull request ${pullRequest} but not the repository its branch comes from, without which two forks' ` +
                `branches of one name would share a mirror; set it with ${fix.sourceRepo}`,
        );
    }
    if (!SOURCE_REPO.test(sourceRepo)) {
        throw new ConfigError(`${from} gives source repository ${JSON.stringify(sourceRepo)}, which is not a path like owner/repo or group/project; set it with ${fix.sourceRepo}`);
    }
    return { number: Number(pullRequest), sourceRepo };
}

/**
 * What keys a mirror: its stack and every physical name (namespace, cloud names, image tag) are
 * derived from this string, while the branch is only shown. A pull request's mirror is keyed by
 * the request, `pr:<number>:<source repo>`: keyed by head branch, two forks' `patch-1` would share
 * one mirror, and closing one pull request would destroy the other's mirror mid-run. A branch
 * keys its own mirror; git refuses `:` in branch names, and so does this function, so that no
 * branch can be named to land on a pull request's key.
 */
export function mirrorKey(branch: string, pullRequest?: PullRequest): string {
    if (pullRequest !== undefined) {
        return `pr:${pullRequest.number}:${pullRequest.sourceRepo}`;
    }
    if (branch.includes(":")) {
        throw new ConfigError(
            `branch ${JSON.stringify(branch)} contains ":", which git does not allow in branch names and prod-mirror keeps for ` +
                `pull request mirrors (pr:<number>:<repo>); use the branch's real name, e.g. ${JSON.stringify(branch.replace(/:/g, "-"))}`,
        );
    }
    return branch;
}

/** Branch, commit and author email of a git checkout, or undefined when `cwd` is not one. */
export function readGitCheckout(cwd: string): BranchFacts | undefined {
    const git = (...args: string[]): string | undefined => {
        try {
            const out = execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
            return out === "" ? undefined : out;
        } catch {
            return undefined;
        }
    };
    const commit = git("rev-parse", "HEAD");
    if (commit === undefined) {
        return undefined;
    }
    const branch = git("rev-parse", "--abbrev-ref", "HEAD");
    // A detached HEAD reports "HEAD", which is no branch at all.
    return { branch: branch === "HEAD" ? undefined : branch, commit, owner: git("config", "user.email") };
}

/** How to give a pull request's number and source repository in the stack's config. */
const CONFIG_FIX = { number: "pulumi config set prod-mirror:pullRequest 42", sourceRepo: "pulumi config set prod-mirror:sourceRepo owner/repo" };

/**
 * How to give them in each CI system's job definition. A system without an entry reads no pull
 * request variables; should it ever gain some, the config is the way to give them.
 */
const CI_FIXES: Record<string, { number: string; sourceRepo: string }> = {
    "github-actions": {
        number: "a pull_request event (GITHUB_REF refs/pull/<n>/merge)",
        sourceRepo: `env: ${GITHUB_SOURCE_REPO_VARIABLE}: \${{ github.event.pull_request.head.repo.full_name }} in the job`,
    },
    "gitlab-ci": { number: "a merge request pipeline (CI_MERGE_REQUEST_IID)", sourceRepo: "a merge request pipeline (CI_MERGE_REQUEST_SOURCE_PROJECT_PATH)" },
};

/** What resolveBranchContext reads; every source is passed in so the function stays pure. */
export interface ContextSources {
    stack: string;
    /** prod-mirror:branch, :commit, :owner. They win over everything else. */
    configured: BranchFacts;
    /** The process environment, for CI variables. */
    env: Env;
    /** The local checkout, read lazily: only when config and CI leave a gap. */
    git: () => BranchFacts | undefined;
    now: Date;
    ttlHours: number;
    /** An explicit expiry (prod-mirror:expiresAt) wins over now + ttlHours. */
    expiresAt?: string;
}

/** Resolves branch, commit and owner (config › CI variables › git) and stamps the expiry. */
export function resolveBranchContext(sources: ContextSources): BranchContext {
    const ci = detectCi(sources.env);
    let git: BranchFacts | undefined;
    let gitRead = false;
    const fromGit = (): BranchFacts | undefined => {
        if (!gitRead) {
            git = sources.git();
            gitRead = true;
        }
        return git;
    };
    const pick = (field: keyof BranchFacts): { value?: string; source?: string } => {
        const configured = sources.configured[field];
        if (configured !== undefined) {
            return { value: configured, source: "config" };
        }
        if (ci?.[field] !== undefined) {
            return { value: ci[field], source: ci.id };
        }
        const local = fromGit()?.[field];
        return local === undefined ? {} : { value: local, source: "git" };
    };

    const file = stackFile(sources.stack);
    const branch = pick("branch");
    // Checked first, so that the messages below can name the source the branch came from.
    if (branch.value === undefined) {
        throw new ConfigError(
            `prod-mirror:branch is missing from ${file} and could not be found otherwise: no CI variables ` +
                `(GitHub Actions, GitLab CI, Jenkins, Buildkite, CircleCI) and no git branch checked out. ` +
                `Set it with: pulumi config set prod-mirror:branch feature/login`,
        );
    }
    // Branch and pull request are one identity and come from one source: a branch configured in
    // the stack never combines with the pull request of whatever CI job runs it.
    const pullRequest =
        branch.source === "config"
            ? parsePullRequest(sources.configured, file, CONFIG_FIX)
            : ci !== undefined && branch.source === ci.id
              ? parsePullRequest(ci, `CI (${ci.id})`, CI_FIXES[ci.id] ?? CONFIG_FIX)
              : undefined;
    if (branch.source !== "config" && (sources.configured.pullRequest !== undefined || sources.configured.sourceRepo !== undefined)) {
        throw new ConfigError(
            `${file} sets prod-mirror:pullRequest or prod-mirror:sourceRepo but not prod-mirror:branch, so the branch would come ` +
                `from ${branch.source} and the pull request from the config; set the head branch too: pulumi config set prod-mirror:branch patch-1`,
        );
    }
    const commit = pick("commit");
    if (commit.value === undefined || !/^[0-9a-fA-F]{7,40}$/.test(commit.value)) {
        throw new ConfigError(
            `prod-mirror:commit ${commit.value === undefined ? "is missing" : `from ${commit.source} is not a commit SHA, got ${JSON.stringify(commit.value)}`} ` +
                `(checked ${file}, CI variables and the git checkout). Set it with: pulumi config set prod-mirror:commit 3f2a9c1`,
        );
    }
    // Refuses a branch that could pose as a pull request's key, before anything is named after it.
    mirrorKey(branch.value, pullRequest);
    const expiresAt = sources.expiresAt ?? new Date(sources.now.getTime() + sources.ttlHours * 3_600_000).toISOString();
    return {
        branch: branch.value,
        ...(pullRequest === undefined ? {} : { pullRequest }),
        commit: commit.value.toLowerCase(),
        sha7: commit.value.slice(0, 7).toLowerCase(),
        owner: pick("owner").value ?? "unknown",
        source: branch.source === commit.source ? (branch.source as string) : `${branch.source}+${commit.source}`,
        expiresAt,
        expiresAtLabel: timestampLabel(expiresAt),
    };
}
