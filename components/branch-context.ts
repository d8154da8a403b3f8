// Who, what and when a mirror is for: branch, commit, owner and expiry. Resolution is a pure
// function of its inputs; `readGitCheckout` is the one impure helper, and only index.ts calls it.
import { execFileSync } from "child_process";
import { ConfigError, stackFile } from "./config";
import { timestampLabel } from "./naming";

/** The resolved context every component receives. */
export interface BranchContext {
    /** The branch as git knows it (may hold slashes, dots, unicode). */
    branch: string;
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

/** Branch, commit and owner as one source knows them; any field may be missing. */
export interface BranchFacts {
    branch?: string;
    commit?: string;
    owner?: string;
}

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
        // On pull requests GITHUB_REF_NAME is `<n>/merge`; GITHUB_HEAD_REF holds the source branch.
        id: "github-actions",
        detect: (env) => env.GITHUB_ACTIONS === "true",
        facts: (env) => ({
            branch: first(env, "GITHUB_HEAD_REF", "GITHUB_REF_NAME"),
            commit: first(env, "GITHUB_SHA"),
            owner: first(env, "GITHUB_TRIGGERING_ACTOR", "GITHUB_ACTOR"),
        }),
    },
    {
        id: "gitlab-ci",
        detect: (env) => env.GITLAB_CI === "true",
        facts: (env) => ({
            branch: first(env, "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_COMMIT_BRANCH", "CI_COMMIT_REF_NAME"),
            commit: first(env, "CI_COMMIT_SHA"),
            owner: first(env, "GITLAB_USER_LOGIN", "GITLAB_USER_EMAIL"),
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
    return system === undefined ? undefined : { id: system.id, ...system.facts(env) };
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
    if (branch.value === undefined) {
        throw new ConfigError(
            `prod-mirror:branch is missing from ${file} and could not be found otherwise: no CI variables ` +
                `(GitHub Actions, GitLab CI, Jenkins, Buildkite, CircleCI) and no git branch checked out. ` +
                `Set it with: pulumi config set prod-mirror:branch feature/login`,
        );
    }
    const commit = pick("commit");
    if (commit.value === undefined || !/^[0-9a-fA-F]{7,40}$/.test(commit.value)) {
        throw new ConfigError(
            `prod-mirror:commit ${commit.value === undefined ? "is missing" : `from ${commit.source} is not a commit SHA, got ${JSON.stringify(commit.value)}`} ` +
                `(checked ${file}, CI variables and the git checkout). Set it with: pulumi config set prod-mirror:commit 3f2a9c1`,
        );
    }
    const expiresAt = sources.expiresAt ?? new Date(sources.now.getTime() + sources.ttlHours * 3_600_000).toISOString();
    return {
        branch: branch.value,
        commit: commit.value.toLowerCase(),
        sha7: commit.value.slice(0, 7).toLowerCase(),
        owner: pick("owner").value ?? "unknown",
        source: branch.source === commit.source ? (branch.source as string) : `${branch.source}+${commit.source}`,
        expiresAt,
        expiresAtLabel: timestampLabel(expiresAt),
    };
}
