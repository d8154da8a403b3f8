// What the pipelines tell a pull or merge request about its mirror, from `prod-mirror outputs
// --format json`: the entry URL (GitLab's environment url, through a dotenv report) and the comment
// that GitHub's jobs keep up to date in place (found again by COMMENT_MARKER). Pure functions plus a
// small main, run by the pipelines as
//   node -r ts-node/register/transpile-only .ci/mirror-report.ts env-url mirror.json   > deploy.env
//   node -r ts-node/register/transpile-only .ci/mirror-report.ts comment [mirror.json] > comment.md
// The comment reads the steps' outcomes from PROD_MIRROR_UP, PROD_MIRROR_E2E and PROD_MIRROR_DOWN,
// the commit from PROD_MIRROR_COMMIT and the run's address from PROD_MIRROR_RUN_URL.
import * as fs from "fs";

/** The first line of the comment: how the job finds its own comment among the pull request's. */
export const COMMENT_MARKER = "<!-- prod-mirror -->";

/** The dotenv variable GitLab's `environment:url` reads (`url: $DYNAMIC_ENVIRONMENT_URL`). */
export const ENV_URL_VARIABLE = "DYNAMIC_ENVIRONMENT_URL";

/**
 * The URL of the mirror's entry Service (its `entryService` output, looked up in `serviceUrls`),
 * or "" when it has none. Only a plain http(s) URL passes: the value goes into a dotenv file and a
 * Markdown comment, where a quote, a space or a bracket would change what they say.
 */
export function entryUrl(outputs: Record<string, unknown>): string {
    const entry = outputs.entryService;
    const urls = outputs.serviceUrls;
    if (typeof entry !== "string" || typeof urls !== "object" || urls === null) {
        return "";
    }
    const url = (urls as Record<string, unknown>)[entry];
    return typeof url === "string" && /^https?:\/\/[A-Za-z0-9.:-]+(\/[A-Za-z0-9._~/-]*)?$/.test(url) ? url : "";
}

/** `DYNAMIC_ENVIRONMENT_URL=<url>` for GitLab's dotenv report; an empty value leaves the environment without a URL. */
export function environmentDotenv(outputs: Record<string, unknown>): string {
    return `${ENV_URL_VARIABLE}=${entryUrl(outputs)}\n`;
}

/** A GitHub step outcome (`steps.<id>.outcome`): success, failure, cancelled, skipped, or "" when the step never ran. */
export type Outcome = string;

export interface CommentFacts {
    /** Outcome of `prod-mirror up`; "" in the down job. */
    up: Outcome;
    /** Outcome of the e2e suite; "" in the down job. */
    e2e: Outcome;
    /** Outcome of `prod-mirror down`; "" in the up job. */
    down: Outcome;
    /** The pull request's head commit. */
    commit: string;
    /** The workflow run, where the logs are. */
    runUrl: string;
    /** `prod-mirror outputs --format json` after up, or {} when there are none. */
    outputs: Record<string, unknown>;
}

const SYMBOL: Record<string, string> = { success: "passed", failure: "FAILED", cancelled: "cancelled", skipped: "not run", "": "not run" };

function said(outcome: Outcome): string {
    return SYMBOL[outcome] ?? `unknown outcome ${JSON.stringify(outcome)}`;
}

/** The comment's Markdown. Only values of known shapes go in (hex commit, http URL, namespace name): a branch name is anyone's text. */
export function commentBody(facts: CommentFacts): string {
    const commit = /^[0-9a-f]{7,40}$/.test(facts.commit) ? facts.commit.slice(0, 7) : "unknown commit";
    const run = /^https:\/\/[^\s()<>]+$/.test(facts.runUrl) ? facts.runUrl : "";
    const lines = [COMMENT_MARKER];
    if (facts.down !== "") {
        lines.push(facts.down === "success"
            ? "**prod-mirror**: the mirror of this pull request is destroyed and its stack removed."
            : `**prod-mirror**: destroying the mirror ${said(facts.down)}; the reaper removes it at its expiry, or run \`prod-mirror down\` again.`);
    } else {
        const namespace = typeof facts.outputs.namespace === "string" && /^[a-z0-9-]{1,63}$/.test(facts.outputs.namespace) ? facts.outputs.namespace : "";
        const url = entryUrl(facts.outputs);
        lines.push(
            `**prod-mirror** at ${commit}`,
            "",
            "| | |",
            "|---|---|",
            `| mirror (\`prod-mirror up\`) | ${said(facts.up)} |`,
            `| entry URL | ${url === "" ? "none" : `\`${url}\``} |`,
            `| namespace | ${namespace === "" ? "none" : `\`${namespace}\``} |`,
            `| end-to-end tests | ${said(facts.e2e)} |`,
        );
    }
    if (run !== "") {
        lines.push("", `[logs of this run](${run})`);
    }
    return `${lines.join("\n")}\n`;
}

/** The outputs file, or {} when it is absent or empty (up failed before any output). */
function readOutputs(file: string | undefined): Record<string, unknown> {
    if (file === undefined || !fs.existsSync(file) || fs.readFileSync(file, "utf8").trim() === "") {
        return {};
    }
    return JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
}

function main(argv: string[], env: NodeJS.ProcessEnv): string {
    const [mode, file] = argv;
    if (mode === "env-url" && file !== undefined) {
        return environmentDotenv(readOutputs(file));
    }
    if (mode === "comment") {
        return commentBody({
            up: env.PROD_MIRROR_UP ?? "",
            e2e: env.PROD_MIRROR_E2E ?? "",
            down: env.PROD_MIRROR_DOWN ?? "",
            commit: env.PROD_MIRROR_COMMIT ?? "",
            runUrl: env.PROD_MIRROR_RUN_URL ?? "",
            outputs: readOutputs(file),
        });
    }
    throw new Error(`usage: mirror-report.ts env-url OUTPUTS.json | comment [OUTPUTS.json] (got ${JSON.stringify(argv.join(" "))})`);
}

if (require.main === module) {
    try {
        process.stdout.write(main(process.argv.slice(2), process.env));
    } catch (err) {
        process.stderr.write(`mirror-report: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 2;
    }
}
