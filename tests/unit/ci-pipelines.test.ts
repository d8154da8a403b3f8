// The CI pipelines (.github/workflows/mirror.yml and mirror-self-hosted.yml, .gitlab-ci.yml) parsed with js-yaml and checked
// structurally. No npm package carries the official schemas as files: @schemastore/github-workflow
// and @schemastore/gitlab-ci hold TypeScript types only, @action-validator/core a compiled wasm
// validator, and @actions/workflow-parser (GitHub's own parser) is ESM-only and imports its schema
// with a JSON import that Node 20 refuses without an import attribute. So each checker below returns
// the problems it finds, the real files must have none, and a broken copy must show the problem.
// actionlint, which knows GitHub's schema and every popular action's inputs, checks the GitHub files
// as well, in tests/local/workflows.test.ts.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { COMMANDS, parseArgs } from "../../cli/args";
import { COMMENT_MARKER, ENV_URL_VARIABLE } from "../../.ci/mirror-report";
import { evaluate, pathLookup } from "./ci-expressions";

const root = path.resolve(__dirname, "..", "..");
const githubFile = path.join(root, ".github", "workflows", "mirror.yml");
const githubSelfHostedFile = path.join(root, ".github", "workflows", "mirror-self-hosted.yml");
const githubActionFile = path.join(root, ".github", "actions", "external-target", "action.yml");
const githubMutationFile = path.join(root, ".github", "workflows", "mutation.yml");
const gitlabFile = path.join(root, ".gitlab-ci.yml");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string>; bin?: Record<string, string> };

/** Scripts the pipelines run that the project has not written yet; each must still be missing (see the test). */
const PENDING_SCRIPTS: string[] = [];

/** Sample values for the variables the pipelines pass to the CLI, so that parseArgs sees real shapes. */
const SAMPLES: Record<string, string> = {
    BRANCH: "feature/login",
    COMMIT: "3f2a9c1d0e4b5a6978877665544332211f0e0d0c",
    PR: "12",
    SOURCE_REPO: "alice/app",
    CI_COMMIT_REF_NAME: "feature/login",
    CI_COMMIT_SHA: "3f2a9c1d0e4b5a6978877665544332211f0e0d0c",
    CI_MERGE_REQUEST_IID: "12",
    CI_MERGE_REQUEST_SOURCE_PROJECT_PATH: "alice/app",
};

/** One queue per pull request, by its number (unique in the repository, unlike head branch names). */
const GITHUB_CONCURRENCY = "prod-mirror-${{ github.event.pull_request.number && format('pr-{0}', github.event.pull_request.number) || 'reap' }}";
/** Per merge request, by its IID: resource group (queue) and review environment. */
const GITLAB_RESOURCE_GROUP = "mirror/mr-$CI_MERGE_REQUEST_IID";
const GITLAB_ENVIRONMENT = "review/mr-$CI_MERGE_REQUEST_IID";
/** The label a maintainer applies to approve one head commit of a fork's pull request. */
const APPROVAL_LABEL = "prod-mirror:run";

/** The repository variable that chooses the self-hosted local default over the hosted runners (both CIs). */
const SELF_HOSTED = { PROD_MIRROR_RUNNER: "self-hosted" };

/** A pull_request event as GitHub sends it, from this repository or a fork; `vars` are the repository's variables. */
function githubEvent(action: string, opts: { fork?: boolean; label?: string; deletedFork?: boolean; vars?: Record<string, string> } = {}): Record<string, unknown> {
    const head = opts.deletedFork ? null : { full_name: opts.fork ? "mallory/app" : "acme/app" };
    return {
        github: {
            event_name: "pull_request",
            repository: "acme/app",
            event: { action, pull_request: { number: 12, head: { repo: head } }, ...(opts.label === undefined ? {} : { label: { name: opts.label } }) },
        },
        vars: opts.vars ?? {},
    };
}

/** The schedule's event, with the repository's variables. */
function githubSchedule(vars: Record<string, string> = {}): Record<string, unknown> {
    return { github: { event_name: "schedule", repository: "acme/app", event: {} }, vars };
}

/** Whether a GitHub job runs for `context`. */
function githubRuns(job: Obj | undefined, context: Record<string, unknown>): boolean {
    return job !== undefined && evaluate(String(job.if), pathLookup(context));
}

/** Whether a GitLab job is created for `variables`: some rule's `if` holds. */
function gitlabRuns(job: Obj | undefined, variables: Record<string, string>): boolean {
    return ((job?.rules ?? []) as Obj[]).some((r) => r.if === undefined || evaluate(String(r.if), (name) => variables[name.replace(/^\$/, "")]));
}

const GITLAB_SAME_PROJECT_MR = { CI_PIPELINE_SOURCE: "merge_request_event", CI_MERGE_REQUEST_IID: "12", CI_MERGE_REQUEST_PROJECT_ID: "100", CI_MERGE_REQUEST_SOURCE_PROJECT_ID: "100" };
const GITLAB_FORK_MR = { ...GITLAB_SAME_PROJECT_MR, CI_MERGE_REQUEST_SOURCE_PROJECT_ID: "200" };

/**
 * What a fork's pull request can make a runner do, and what a same-repository one cannot: the
 * self-hosted workflow (with PROD_MIRROR_RUNNER=self-hosted) runs a fork's only on the approval
 * label; the hosted one (variable unset) never, since GitHub gives a fork's run none of the secrets.
 */
function forkProblems(github: Obj, gitlab: Obj, hosted: Obj): string[] {
    const problems: string[] = [];
    const up = github.jobs?.up as Obj | undefined;
    const hostedUp = hosted.jobs?.up as Obj | undefined;
    const vars = SELF_HOSTED;
    const cases: Array<[string, (vars: Record<string, string>) => Record<string, unknown>, boolean, boolean]> = [
        ["a pull request from this repository, opened", (v) => githubEvent("opened", { vars: v }), true, true],
        ["a pull request from this repository, pushed to", (v) => githubEvent("synchronize", { vars: v }), true, true],
        ["a fork's pull request, opened", (v) => githubEvent("opened", { fork: true, vars: v }), false, false],
        ["a fork's pull request, pushed to", (v) => githubEvent("synchronize", { fork: true, vars: v }), false, false],
        ["a fork's pull request, reopened", (v) => githubEvent("reopened", { fork: true, vars: v }), false, false],
        ["a fork's pull request, labelled with another label", (v) => githubEvent("labeled", { fork: true, label: "bug", vars: v }), false, false],
        [`a fork's pull request, labelled ${APPROVAL_LABEL} by a maintainer`, (v) => githubEvent("labeled", { fork: true, label: APPROVAL_LABEL, vars: v }), true, false],
        ["a pull request whose fork was deleted", (v) => githubEvent("synchronize", { deletedFork: true, vars: v }), false, false],
        ["a closed pull request", (v) => githubEvent("closed", { vars: v }), false, false],
        ["the schedule", (v) => githubSchedule(v), false, false],
    ];
    for (const [what, context, selfHosted, onHosted] of cases) {
        if (githubRuns(up, context(vars)) !== selfHosted) {
            problems.push(`GitHub jobs.up ${selfHosted ? "does not run" : "runs"} for ${what}`);
        }
        if (githubRuns(hostedUp, context({})) !== onHosted) {
            problems.push(`GitHub hosted jobs.up ${onHosted ? "does not run" : "runs"} for ${what}`);
        }
    }
    if (!githubRuns(github.jobs?.down as Obj | undefined, githubEvent("closed", { fork: true, vars }))) {
        problems.push("GitHub jobs.down does not run when a fork's pull request closes (an approved fork's mirror would be left)");
    }
    if (githubRuns(hosted.jobs?.down as Obj | undefined, githubEvent("closed", { fork: true }))) {
        problems.push("GitHub hosted jobs.down runs for a fork's pull request, which never had a mirror there");
    }
    for (const [job, variables] of [["review", {}], ["stop_review", {}], ["review_self_hosted", vars], ["stop_review_self_hosted", vars]] as Array<[string, Record<string, string>]>) {
        if (!gitlabRuns(gitlab[job] as Obj | undefined, { ...GITLAB_SAME_PROJECT_MR, ...variables })) {
            problems.push(`GitLab ${job} does not run for a merge request from this project`);
        }
        if (gitlabRuns(gitlab[job] as Obj | undefined, { ...GITLAB_FORK_MR, ...variables })) {
            problems.push(`GitLab ${job} runs for a fork's merge request`);
        }
    }
    return problems;
}

/**
 * The nightly mutation test: never for a pull request (it is not a gate and a fork's code would
 * run it), on a hosted runner (it needs none of the self-hosted runner's credentials), after
 * `npm ci`, a whole run (--force: an incremental one reuses stale results of module-level mutants).
 */
const WHOLE_MUTATION_RUN = "npm run test:mutation -- --force";

function mutationProblems(wf: Obj, ci: Obj): string[] {
    const problems: string[] = [];
    const triggers = Object.keys((wf.on ?? {}) as Obj).sort();
    if (JSON.stringify(triggers) !== JSON.stringify(["schedule", "workflow_dispatch"])) {
        problems.push(`GitHub mutation runs on ${triggers.join(", ")}, want schedule and workflow_dispatch only`);
    }
    if (JSON.stringify(wf.permissions) !== JSON.stringify({ contents: "read" })) {
        problems.push("GitHub mutation must have permissions {contents: read}");
    }
    const job = (wf.jobs?.mutation ?? {}) as Obj;
    if (job["runs-on"] !== "ubuntu-latest") {
        problems.push(`GitHub mutation runs on ${JSON.stringify(job["runs-on"])}, want a hosted runner (ubuntu-latest), not the one holding the mirrors' credentials`);
    }
    const lines = shellLines(githubScripts({ jobs: { mutation: job } })).map((l) => l.line);
    if (!(lines.indexOf("npm ci") >= 0 && lines.indexOf("npm ci") < lines.indexOf(WHOLE_MUTATION_RUN))) {
        problems.push(`GitHub mutation must run npm ci, then ${WHOLE_MUTATION_RUN}`);
    }
    const gitlabJob = (ci.mutation ?? {}) as Obj;
    if (!gitlabRuns(gitlabJob, { CI_PIPELINE_SOURCE: "schedule", PROD_MIRROR_SCHEDULE: "mutation" })) {
        problems.push("GitLab mutation does not run on the schedule with PROD_MIRROR_SCHEDULE=mutation");
    }
    if (gitlabRuns(gitlabJob, GITLAB_SAME_PROJECT_MR) || gitlabRuns(gitlabJob, { CI_PIPELINE_SOURCE: "schedule" })) {
        problems.push("GitLab mutation runs for a merge request or for every schedule");
    }
    if (!((gitlabJob.script ?? []) as string[]).includes(WHOLE_MUTATION_RUN)) {
        problems.push(`GitLab mutation does not run ${WHOLE_MUTATION_RUN}`);
    }
    return problems;
}

type Obj = Record<string, any>;
const load = (file: string): Obj => yaml.load(fs.readFileSync(file, "utf8")) as Obj;
const clone = (o: Obj): Obj => JSON.parse(JSON.stringify(o)) as Obj;

/** Every shell line a pipeline runs, with where it comes from. */
function shellLines(scripts: Array<{ where: string; text: string }>): Array<{ where: string; line: string }> {
    return scripts.flatMap(({ where, text }) => text.split("\n").map((line) => ({ where, line: line.trim() })).filter((l) => l.line !== ""));
}

function githubScripts(wf: Obj): Array<{ where: string; text: string }> {
    return Object.entries(wf.jobs as Obj).flatMap(([job, j]) =>
        ((j.steps ?? []) as Obj[]).filter((s) => typeof s.run === "string").map((s, i) => ({ where: `jobs.${job}.steps[${i}]`, text: s.run as string })));
}

function gitlabScripts(ci: Obj): Array<{ where: string; text: string }> {
    const out: Array<{ where: string; text: string }> = [];
    for (const [name, job] of Object.entries(ci)) {
        for (const key of ["before_script", "script", "after_script"]) {
            const value = (job as Obj | null)?.[key];
            if (Array.isArray(value)) {
                value.forEach((text, i) => out.push({ where: `${name}.${key}[${i}]`, text: String(text) }));
            }
        }
    }
    return out;
}

/** `npx prod-mirror up --branch "$BRANCH" ... > f` → the CLI's argv, variables replaced by samples. */
function cliArgv(line: string): string[] | undefined {
    const m = /(?:^|\s)npx prod-mirror\s+(.*)$/.exec(line);
    if (!m) {
        return undefined;
    }
    const argv: string[] = [];
    for (const token of m[1].match(/"[^"]*"|'[^']*'|\S+/g) ?? []) {
        if ([">", ">>", "|", "&&", "||", ";"].includes(token)) {
            break;
        }
        const unquoted = token.replace(/^(["'])(.*)\1$/, "$2");
        argv.push(unquoted.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_whole, name: string) => {
            if (!(name in SAMPLES)) {
                throw new Error(`no sample value for $${name} in ${JSON.stringify(line)}: add one to SAMPLES`);
            }
            return SAMPLES[name];
        }));
    }
    return argv;
}

/** Problems with the commands: CLI lines parseArgs rejects, npm scripts that do not exist, secrets in scripts. */
function commandProblems(lines: Array<{ where: string; line: string }>): string[] {
    const problems: string[] = [];
    for (const { where, line } of lines) {
        const argv = cliArgv(line);
        if (argv !== undefined) {
            try {
                parseArgs(argv);
            } catch (err) {
                problems.push(`${where}: ${line}: ${(err as Error).message.split("\n")[0]}`);
            }
        }
        for (const m of line.matchAll(/\bnpm (?:run(?:-script)?\s+(\S+)|(start|stop|test)\b)/g)) {
            const script = m[1] ?? m[2];
            if (!(script in pkg.scripts) && !PENDING_SCRIPTS.includes(script)) {
                problems.push(`${where}: npm script ${script} is not in package.json`);
            }
        }
        if (/REGISTRY_PASSWORD|PULL_PASSWORD|PASSPHRASE|ACCESS_TOKEN|SECRET_ACCESS_KEY|KUBECONFIG_TEXT|secrets\./.test(line)) {
            problems.push(`${where}: a script line names a secret: ${line}`);
        }
        if (/\$\{\{/.test(line)) {
            problems.push(`${where}: an expression inside a script is pasted into the shell; pass it through env: ${line}`);
        }
    }
    return problems;
}

const CRON_FIELD = /^(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*$/;
const GITHUB_TOP = ["name", "run-name", "on", "permissions", "env", "defaults", "concurrency", "jobs"];
const GITHUB_JOB = ["name", "needs", "permissions", "runs-on", "environment", "concurrency", "outputs", "env", "defaults", "if", "steps", "timeout-minutes", "strategy", "continue-on-error", "container", "services", "uses", "with", "secrets"];
const GITHUB_STEP = ["id", "if", "name", "uses", "run", "working-directory", "shell", "with", "env", "continue-on-error", "timeout-minutes"];

/** Each workflow's job conditions: exactly one of the two runs, by the repository variable PROD_MIRROR_RUNNER. */
const SELF_HOSTED_IF = {
    up: "vars.PROD_MIRROR_RUNNER == 'self-hosted' && " +
        "github.event_name == 'pull_request' && github.event.action != 'closed' && " +
        "((github.event.action != 'labeled' && github.event.pull_request.head.repo.full_name == github.repository) || " +
        `(github.event.action == 'labeled' && github.event.label.name == '${APPROVAL_LABEL}'))`,
    down: "vars.PROD_MIRROR_RUNNER == 'self-hosted' && github.event_name == 'pull_request' && github.event.action == 'closed'",
    reap: "vars.PROD_MIRROR_RUNNER == 'self-hosted' && (github.event_name == 'schedule' || github.event_name == 'workflow_dispatch')",
};
const HOSTED_IF = {
    up: "vars.PROD_MIRROR_RUNNER != 'self-hosted' && " +
        "github.event_name == 'pull_request' && github.event.action != 'closed' && " +
        "github.event.pull_request.head.repo.full_name == github.repository",
    down: "vars.PROD_MIRROR_RUNNER != 'self-hosted' && " +
        "github.event_name == 'pull_request' && github.event.action == 'closed' && " +
        "github.event.pull_request.head.repo.full_name == github.repository",
    reap: "vars.PROD_MIRROR_RUNNER != 'self-hosted' && (github.event_name == 'schedule' || github.event_name == 'workflow_dispatch')",
};

function githubProblems(wf: Obj, conditions: typeof HOSTED_IF): string[] {
    const problems: string[] = [];
    const unknown = (where: string, o: Obj, known: string[]): void => {
        for (const key of Object.keys(o).filter((k) => !known.includes(k))) {
            problems.push(`${where}: unknown key ${key}`);
        }
    };
    unknown("workflow", wf, GITHUB_TOP);
    const on = (wf.on ?? {}) as Obj;
    const types = (on.pull_request?.types ?? []) as string[];
    for (const t of ["opened", "synchronize", "reopened", "closed"]) {
        if (!types.includes(t)) {
            problems.push(`on.pull_request.types lacks ${t}`);
        }
    }
    const crons = ((on.schedule ?? []) as Obj[]).map((s) => String(s.cron));
    if (crons.length === 0) {
        problems.push("on.schedule has no cron");
    }
    for (const cron of crons) {
        const fields = cron.trim().split(/\s+/);
        if (fields.length !== 5 || !fields.every((f) => CRON_FIELD.test(f))) {
            problems.push(`on.schedule cron ${JSON.stringify(cron)} is not five cron fields`);
        }
    }
    if (wf.concurrency?.group !== GITHUB_CONCURRENCY) {
        problems.push(`concurrency.group is ${JSON.stringify(wf.concurrency?.group)}, want one group per pull request number: ${GITHUB_CONCURRENCY}`);
    }
    if (wf.concurrency?.["cancel-in-progress"] !== false) {
        problems.push("concurrency.cancel-in-progress must be false: a cancelled up leaves a locked stack");
    }
    const jobs = (wf.jobs ?? {}) as Obj;
    for (const [name, job] of Object.entries(jobs) as Array<[string, Obj]>) {
        unknown(`jobs.${name}`, job, GITHUB_JOB);
        if (job["runs-on"] === undefined) {
            problems.push(`jobs.${name} has no runs-on`);
        }
        ((job.steps ?? []) as Obj[]).forEach((step, i) => {
            unknown(`jobs.${name}.steps[${i}]`, step, GITHUB_STEP);
            if ((step.uses === undefined) === (step.run === undefined)) {
                problems.push(`jobs.${name}.steps[${i}] needs exactly one of uses and run`);
            }
        });
        const used = new Set<string>();
        for (const { line } of shellLines(githubScripts({ jobs: { [name]: job } }))) {
            for (const m of line.matchAll(/\$\{?([A-Z_][A-Z0-9_]*)/g)) {
                used.add(m[1]);
            }
        }
        for (const v of [...used].filter((v) => v in SAMPLES && !(v in ((job.env ?? {}) as Obj)))) {
            problems.push(`jobs.${name} uses $${v} but its env does not set it`);
        }
    }
    const runs = (job: string, command: string): boolean => shellLines(githubScripts({ jobs: { [job]: jobs[job] ?? {} } })).some((l) => l.line.includes(command));
    const expect = (job: string, condition: string, command: string): void => {
        if (jobs[job] === undefined) {
            problems.push(`no job ${job}`);
            return;
        }
        if (jobs[job].if !== condition) {
            problems.push(`jobs.${job}.if is ${JSON.stringify(jobs[job].if)}, want ${JSON.stringify(condition)}`);
        }
        if (!runs(job, command)) {
            problems.push(`jobs.${job} does not run ${command}`);
        }
    };
    expect("up", conditions.up, "npx prod-mirror up ");
    expect("down", conditions.down, "npx prod-mirror down ");
    expect("reap", conditions.reap, "npx prod-mirror reap");
    if (jobs.up !== undefined) {
        const lines = shellLines(githubScripts({ jobs: { up: jobs.up } })).map((l) => l.line);
        // On the hosted runner npm ci runs in the composite action (.github/actions/external-target), before every run: step.
        const hosted = ((jobs.up.steps ?? []) as Obj[]).some((step) => step.uses === "./.github/actions/external-target");
        const order = [hosted ? "npx prod-mirror up " : "npm ci", "npx prod-mirror up ", "npx prod-mirror outputs ", "npm run test:e2e"].map((c) => lines.findIndex((l) => l.includes(c)));
        if (order.some((i) => i < 0) || order.some((i, k) => k > 0 && i < order[k - 1])) {
            problems.push(`jobs.up must run npm ci, up, outputs, then the e2e tests, in that order (found at ${order.join(", ")})`);
        }
    }
    return problems;
}

const GITLAB_TOP = ["stages", "workflow", "default", "variables", "include", "image", "services", "cache", "before_script", "after_script"];
const GITLAB_JOB = ["script", "stage", "rules", "resource_group", "environment", "allow_failure", "variables", "tags", "before_script", "after_script",
    "artifacts", "needs", "when", "image", "services", "cache", "timeout", "retry", "interruptible", "extends", "dependencies", "coverage", "parallel", "inherit", "id_tokens", "secrets"];
const GITLAB_ENV = ["name", "url", "on_stop", "action", "auto_stop_in", "kubernetes", "deployment_tier"];

function gitlabProblems(ci: Obj): string[] {
    const problems: string[] = [];
    const stages = (ci.stages ?? []) as string[];
    const jobs = Object.entries(ci).filter(([k]) => !GITLAB_TOP.includes(k) && !k.startsWith(".")) as Array<[string, Obj]>;
    for (const [name, job] of jobs) {
        for (const key of Object.keys(job).filter((k) => !GITLAB_JOB.includes(k))) {
            problems.push(`${name}: unknown key ${key}`);
        }
        if (!Array.isArray(job.script) || job.script.length === 0) {
            problems.push(`${name}: no script`);
        }
        if (!stages.includes(job.stage as string)) {
            problems.push(`${name}: stage ${JSON.stringify(job.stage)} is not among stages ${JSON.stringify(stages)}`);
        }
        if (job.rules !== undefined && job.when !== undefined) {
            problems.push(`${name}: when and rules together are rejected by GitLab; put when inside a rule`);
        }
        const env = job.environment as Obj | undefined;
        for (const key of Object.keys(env ?? {}).filter((k) => !GITLAB_ENV.includes(k))) {
            problems.push(`${name}.environment: unknown key ${key}`);
        }
        if (env?.on_stop !== undefined) {
            const stop = ci[env.on_stop as string] as Obj | undefined;
            if (stop === undefined) {
                problems.push(`${name}.environment.on_stop names ${env.on_stop}, which is not a job`);
            } else {
                if (stop.environment?.action !== "stop" || stop.environment?.name !== env.name) {
                    problems.push(`${env.on_stop} must stop environment ${env.name} (environment: {name: ${env.name}, action: stop})`);
                }
                if (!((stop.rules ?? []) as Obj[]).every((r) => r.when === "manual")) {
                    problems.push(`${env.on_stop} must be manual in every rule`);
                }
                if (stop.resource_group !== job.resource_group) {
                    problems.push(`${env.on_stop} must share resource_group ${job.resource_group} with ${name}`);
                }
                if (stages.indexOf(stop.stage as string) < stages.indexOf(job.stage as string)) {
                    problems.push(`${env.on_stop} runs in an earlier stage than ${name}`);
                }
            }
        }
        if (env?.auto_stop_in !== undefined && !/^(never|\d+\s*(minutes?|hours?|days?|weeks?))$/.test(String(env.auto_stop_in))) {
            problems.push(`${name}.environment.auto_stop_in ${JSON.stringify(env.auto_stop_in)} is not a duration like "3 days"`);
        }
    }
    const review = ci.review as Obj | undefined;
    if (review?.environment?.name !== GITLAB_ENVIRONMENT || review.environment.on_stop !== "stop_review" || review.environment.auto_stop_in !== "3 days") {
        problems.push(`review must deploy environment ${GITLAB_ENVIRONMENT} with on_stop stop_review and auto_stop_in 3 days`);
    }
    if (review?.resource_group !== GITLAB_RESOURCE_GROUP) {
        problems.push(`review must hold resource_group ${GITLAB_RESOURCE_GROUP}`);
    }
    const review2 = ci.review_self_hosted as Obj | undefined;
    if (review2?.environment?.name !== GITLAB_ENVIRONMENT || review2.environment.on_stop !== "stop_review_self_hosted" || review2.environment.auto_stop_in !== "3 days") {
        problems.push(`review_self_hosted must deploy environment ${GITLAB_ENVIRONMENT} with on_stop stop_review_self_hosted and auto_stop_in 3 days`);
    }
    // Exactly one reaper per schedule: the hosted one unless PROD_MIRROR_RUNNER says self-hosted.
    const schedule = { CI_PIPELINE_SOURCE: "schedule" };
    for (const [job, runs, skips] of [["reap", schedule, { ...schedule, ...SELF_HOSTED }], ["reap_self_hosted", { ...schedule, ...SELF_HOSTED }, schedule]] as Array<[string, Record<string, string>, Record<string, string>]>) {
        const scheduled = ((ci[job]?.rules ?? []) as Obj[]).some((r) => r.when === undefined && evaluate(String(r.if), (name) => runs[name.replace(/^\$/, "")]));
        if (!scheduled || gitlabRuns(ci[job] as Obj | undefined, skips) || !(ci[job]?.script as string[] | undefined)?.includes("npx prod-mirror reap")) {
            problems.push(`${job} must run npx prod-mirror reap on a schedule${job === "reap" ? "" : " with PROD_MIRROR_RUNNER=self-hosted"}, and only then`);
        }
    }
    return problems;
}

/** The composite action's shell steps, as githubScripts gives a workflow's. */
function actionScripts(action: Obj): Array<{ where: string; text: string }> {
    return ((action.runs?.steps ?? []) as Obj[]).filter((s) => typeof s.run === "string").map((s, i) => ({ where: `action.runs.steps[${i}]`, text: s.run as string }));
}

/** local/versions.env as a map: the pins the hosted pipelines must repeat. */
function versionsEnv(): Record<string, string> {
    const text = fs.readFileSync(path.join(root, "local", "versions.env"), "utf8");
    return Object.fromEntries([...text.matchAll(/^([A-Z0-9_]+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
}

const EXTERNAL_ACTION = "./.github/actions/external-target";
const COMMENT_LINE = 'bash .ci/pr-comment.sh "$PR" comment.md';

/**
 * The hosted pipelines against an external target: the target chosen explicitly, least-privilege
 * tokens, the Pulumi pins of the local environment, the kubeconfig from its secret, the comment
 * updated in place (GitHub), the environment's URL from a dotenv report (GitLab), and no script
 * that expands a variable holding a secret.
 */
function externalTargetProblems(wf: Obj, action: Obj, ci: Obj, versions: Record<string, string>): string[] {
    const problems: string[] = [];
    const same = (what: string, actual: unknown, expected: unknown): void => {
        if (JSON.stringify(actual) !== JSON.stringify(expected)) {
            problems.push(`${what} is ${JSON.stringify(actual)}, want ${JSON.stringify(expected)}`);
        }
    };
    same("GitHub env.PROD_MIRROR_TARGET", wf.env?.PROD_MIRROR_TARGET, "external");
    same("GitHub permissions", wf.permissions, { contents: "read" });
    same("GitHub jobs.up.permissions", wf.jobs?.up?.permissions, { contents: "read", "pull-requests": "write", packages: "write" });
    same("GitHub jobs.down.permissions", wf.jobs?.down?.permissions, { contents: "read", "pull-requests": "write" });
    same("GitHub jobs.reap.permissions", wf.jobs?.reap?.permissions, undefined);
    for (const [name, job] of Object.entries((wf.jobs ?? {}) as Obj) as Array<[string, Obj]>) {
        same(`GitHub jobs.${name}.runs-on`, job["runs-on"], "ubuntu-latest");
        const steps = (job.steps ?? []) as Obj[];
        same(`GitHub jobs.${name}.steps[0] persist-credentials`, [steps[0]?.uses, steps[0]?.with?.["persist-credentials"]], ["actions/checkout@v4", false]);
        same(`GitHub jobs.${name}.steps[1]`, [steps[1]?.uses, steps[1]?.with], [EXTERNAL_ACTION, { kubeconfig: "${{ secrets.PROD_MIRROR_KUBECONFIG }}" }]);
        if (name !== "reap") {
            const last = steps[steps.length - 1] ?? {};
            same(`GitHub jobs.${name}'s last step (the comment)`, [last.if, String(last.run ?? "").trim().split("\n").pop()], ["always()", COMMENT_LINE]);
        }
    }
    const actionSteps = (action.runs?.steps ?? []) as Obj[];
    same("the action's pulumi/actions@v6 pulumi-version (local/versions.env PULUMI_CLI_VERSION)", actionSteps.find((s) => s.uses === "pulumi/actions@v6")?.with?.["pulumi-version"], versions.PULUMI_CLI_VERSION);
    const plugin = `pulumi plugin install resource kubernetes ${versions.PULUMI_KUBERNETES_VERSION}`;
    if (!actionSteps.some((s) => s.run === plugin)) {
        problems.push(`the action does not run ${plugin} (local/versions.env PULUMI_KUBERNETES_VERSION)`);
    }
    same("the action's kubeconfig step env", actionSteps.find((s) => String(s.run).includes(".ci/target-kubeconfig.sh"))?.env, { KUBECONFIG_TEXT: "${{ inputs.kubeconfig }}" });
    // A variable filled from a secret or a token may be read by a program, never expanded by a script.
    const secretVars = new Set<string>();
    const collect = (env: Obj | undefined): void => {
        for (const [k, v] of Object.entries(env ?? {})) {
            if (/secrets\.|github\.token|inputs\.kubeconfig/.test(String(v))) {
                secretVars.add(k);
            }
        }
    };
    collect(wf.env);
    for (const job of Object.values((wf.jobs ?? {}) as Obj) as Obj[]) {
        collect(job.env);
        ((job.steps ?? []) as Obj[]).forEach((step) => collect(step.env));
    }
    actionSteps.forEach((step) => collect(step.env));
    for (const { where, line } of shellLines([...githubScripts(wf), ...actionScripts(action)])) {
        for (const name of secretVars) {
            if (new RegExp(`\\$\\{?${name}\\b`).test(line)) {
                problems.push(`${where} expands $${name}, which holds a secret: ${line}`);
            }
        }
    }
    for (const job of ["review", "stop_review", "reap"]) {
        const j = (ci[job] ?? {}) as Obj;
        same(`GitLab ${job}.image`, j.image, { name: `pulumi/pulumi:${versions.PULUMI_CLI_VERSION}`, entrypoint: [""] });
        same(`GitLab ${job} PROD_MIRROR_TARGET, KUBECONFIG`, [j.variables?.PROD_MIRROR_TARGET, j.variables?.KUBECONFIG], ["external", "$PROD_MIRROR_KUBECONFIG"]);
        if (!((j.before_script ?? []) as string[]).includes(plugin)) {
            problems.push(`GitLab ${job}.before_script does not run ${plugin}`);
        }
        same(`GitLab ${job}_self_hosted PROD_MIRROR_TARGET, tags`, [ci[`${job}_self_hosted`]?.variables?.PROD_MIRROR_TARGET, ci[`${job}_self_hosted`]?.tags], [undefined, ["prod-mirror"]]);
    }
    for (const job of ["review", "review_self_hosted"]) {
        const j = (ci[job] ?? {}) as Obj;
        same(`GitLab ${job}.environment.url`, j.environment?.url, `$${ENV_URL_VARIABLE}`);
        same(`GitLab ${job}.artifacts`, j.artifacts, { when: "always", reports: { dotenv: "deploy.env" } });
        if (!((j.script ?? []) as string[]).includes("node -r ts-node/register/transpile-only .ci/mirror-report.ts env-url mirror.json > deploy.env")) {
            problems.push(`GitLab ${job} does not write deploy.env with .ci/mirror-report.ts env-url`);
        }
    }
    return problems;
}

describe("CI pipelines", () => {
    const hosted = load(githubFile);
    const github = load(githubSelfHostedFile);
    const action = load(githubActionFile);
    const gitlab = load(gitlabFile);
    const githubMutation = load(githubMutationFile);
    const allLines = [...shellLines(githubScripts(hosted)), ...shellLines(actionScripts(action)), ...shellLines(githubScripts(github)), ...shellLines(gitlabScripts(gitlab))];

    it("GitHub: pull request up + e2e, closed down, scheduled reap, one queue per pull request (hosted and self-hosted)", () => {
        assert.deepStrictEqual(githubProblems(hosted, HOSTED_IF), []);
        assert.deepStrictEqual(githubProblems(github, SELF_HOSTED_IF), []);
    });

    it("exactly one of the two GitHub workflows runs each job, chosen by the repository variable PROD_MIRROR_RUNNER", () => {
        const events: Array<[string, Record<string, string>]> = [["opened", {}], ["synchronize", {}], ["closed", {}], ["opened", SELF_HOSTED], ["closed", SELF_HOSTED]];
        for (const [action, vars] of events) {
            const runs = (wf: Obj): string[] => ["up", "down"].filter((job) => githubRuns(wf.jobs[job] as Obj, githubEvent(action, { vars })));
            const expected = action === "closed" ? ["down"] : ["up"];
            const selfHosted = vars.PROD_MIRROR_RUNNER === "self-hosted";
            assert.deepStrictEqual([runs(hosted), runs(github)], selfHosted ? [[], expected] : [expected, []], `${action} with ${JSON.stringify(vars)}`);
        }
        assert.deepStrictEqual([githubRuns(hosted.jobs.reap as Obj, githubSchedule()), githubRuns(github.jobs.reap as Obj, githubSchedule())], [true, false]);
        assert.deepStrictEqual([githubRuns(hosted.jobs.reap as Obj, githubSchedule(SELF_HOSTED)), githubRuns(github.jobs.reap as Obj, githubSchedule(SELF_HOSTED))], [false, true]);
    });

    it("hosted runners: an external target, least privilege, the local pins, the kubeconfig from its secret, the comment and environment URL, no secret expanded", () => {
        assert.deepStrictEqual(externalTargetProblems(hosted, action, gitlab, versionsEnv()), []);
        assert.strictEqual(fs.readFileSync(path.join(root, ".ci", "pr-comment.sh"), "utf8").match(/^marker='(.*)'$/m)?.[1], COMMENT_MARKER);
    });

    it("GitLab: review environment stopped by a manual job, auto_stop_in, resource_group, scheduled reap", () => {
        assert.deepStrictEqual(gitlabProblems(gitlab), []);
    });

    it("mutation testing: nightly and on demand only, on a hosted runner, incremental file cached (GitHub and GitLab)", () => {
        assert.deepStrictEqual(mutationProblems(githubMutation, gitlab), []);
        assert.deepStrictEqual(commandProblems(shellLines(githubScripts(githubMutation))), []);
    });

    it("every prod-mirror line parses with the CLI's parseArgs, every npm script exists, no secret in a script", () => {
        const cli = allLines.filter((l) => cliArgv(l.line) !== undefined);
        assert.deepStrictEqual(
            [...new Set(cli.map((l) => cliArgv(l.line)?.[0]))].sort(),
            ["down", "outputs", "reap", "up"],
            "both pipelines together use up, outputs, down and reap",
        );
        for (const c of cli.map((l) => cliArgv(l.line)?.[0])) {
            assert.ok((COMMANDS as readonly (string | undefined)[]).includes(c));
        }
        assert.deepStrictEqual(commandProblems(allLines), []);
        assert.strictEqual(pkg.bin?.["prod-mirror"], "bin/prod-mirror.js", "npx prod-mirror needs the bin entry in package.json");
    });

    it("runs up exactly as the README writes it, with the branch and commit of the pipeline", () => {
        const ups = allLines.map((l) => cliArgv(l.line)).filter((a) => a?.[0] === "up");
        assert.strictEqual(ups.length, 4, "one up in each of the two GitHub workflows and each of GitLab's two review jobs");
        for (const argv of ups) {
            const parsed = parseArgs(argv as string[]);
            assert.deepStrictEqual([parsed.branch, parsed.commit, parsed.ttlHours, parsed.forward], [SAMPLES.BRANCH, SAMPLES.COMMIT, 72, false]);
        }
    });

    it("keys every up, outputs and down by the pull request's number and source repository", () => {
        const keyed = allLines.map((l) => ({ ...l, argv: cliArgv(l.line) })).filter((l) => ["up", "outputs", "down"].includes(l.argv?.[0] ?? ""));
        assert.strictEqual(keyed.length, 15, "up, outputs and down in each pipeline: 4 (GitHub hosted) + 3 (GitHub self-hosted) + 4 + 4 (GitLab's two)");
        for (const { where, argv } of keyed) {
            const parsed = parseArgs(argv as string[]);
            assert.deepStrictEqual([parsed.pullRequest, parsed.sourceRepo], [12, "alice/app"], `${where} does not pass --pr and --source-repo`);
        }
        for (const wf of [hosted, github]) {
            for (const job of ["up", "down"]) {
                const env = (wf.jobs[job].env ?? {}) as Obj;
                assert.strictEqual(env.PR, "${{ github.event.pull_request.number }}");
                assert.strictEqual(env.SOURCE_REPO, "${{ github.event.pull_request.head.repo.full_name }}");
            }
        }
        for (const job of ["stop_review", "review_self_hosted", "stop_review_self_hosted"]) {
            assert.deepStrictEqual([gitlab[job].resource_group, gitlab[job].environment.name], [GITLAB_RESOURCE_GROUP, GITLAB_ENVIRONMENT], job);
        }
    });

    it("never runs a fork's pull request with the runner's credentials, unless a maintainer approves it (GitHub) or at all (GitLab)", () => {
        assert.deepStrictEqual(forkProblems(github, gitlab, hosted), []);
        for (const wf of [hosted, github]) {
            const checkouts = (job: string): Obj[] => (wf.jobs[job].steps as Obj[]).filter((s) => String(s.uses).startsWith("actions/checkout@"));
            for (const job of ["up", "down", "reap"]) {
                assert.strictEqual(checkouts(job)[0]?.with?.["persist-credentials"], false, `${wf.name} jobs.${job} leaves the token in .git/config`);
            }
        }
        assert.ok(github.on.pull_request.types.includes("labeled"), "the approval label needs the labeled event");
        assert.ok(!hosted.on.pull_request.types.includes("labeled"), "no label can approve a fork on the hosted runners: GitHub gives a fork's run no secret");
    });

    it("lists only scripts as pending that package.json still lacks (drop one from PENDING_SCRIPTS once it exists)", () => {
        assert.deepStrictEqual(PENDING_SCRIPTS.filter((s) => s in pkg.scripts), []);
    });

    describe("the checkers catch what they are for", () => {
        it("an on_stop naming a missing job, a stop job that is not manual, a bad auto_stop_in", () => {
            const broken = clone(gitlab);
            broken.review.environment.on_stop = "stop_reviw";
            broken.review.environment.auto_stop_in = "three days";
            assert.ok(gitlabProblems(broken).includes("review.environment.on_stop names stop_reviw, which is not a job"));
            assert.ok(gitlabProblems(broken).some((p) => p.startsWith("review.environment.auto_stop_in")));
            const automatic = clone(gitlab);
            delete automatic.stop_review.rules[0].when;
            assert.ok(gitlabProblems(automatic).includes("stop_review must be manual in every rule"));
        });

        it("a missing trigger, a cancelling concurrency group, an expression pasted into a script", () => {
            const broken = clone(github);
            broken.on.pull_request.types = ["opened", "synchronize"];
            broken.concurrency["cancel-in-progress"] = true;
            broken.jobs.down.steps[3].run = "npx prod-mirror down --branch ${{ github.head_ref }}";
            const problems = [...githubProblems(broken, SELF_HOSTED_IF), ...commandProblems(shellLines(githubScripts(broken)))];
            assert.ok(problems.includes("on.pull_request.types lacks reopened"), problems.join("\n"));
            assert.ok(problems.includes("on.pull_request.types lacks closed"));
            assert.ok(problems.some((p) => p.startsWith("concurrency.cancel-in-progress")));
            assert.ok(problems.some((p) => p.includes("pasted into the shell")));
        });

        it("a fork guard dropped or loosened, a queue keyed by branch again", () => {
            const open = clone(github);
            open.jobs.up.if = "github.event_name == 'pull_request' && github.event.action != 'closed'";
            open.concurrency.group = "prod-mirror-${{ github.head_ref || github.ref_name }}";
            assert.deepStrictEqual(forkProblems(open, gitlab, hosted), [
                "GitHub jobs.up runs for a fork's pull request, opened",
                "GitHub jobs.up runs for a fork's pull request, pushed to",
                "GitHub jobs.up runs for a fork's pull request, reopened",
                "GitHub jobs.up runs for a fork's pull request, labelled with another label",
                "GitHub jobs.up runs for a pull request whose fork was deleted",
            ]);
            assert.ok(githubProblems(open, SELF_HOSTED_IF).some((p) => p.startsWith("concurrency.group is \"prod-mirror-${{ github.head_ref")));
            // Any label approving, instead of the one a maintainer applies.
            const anyLabel = clone(github);
            anyLabel.jobs.up.if = anyLabel.jobs.up.if.replace(`github.event.label.name == '${APPROVAL_LABEL}'`, "true");
            assert.deepStrictEqual(forkProblems(anyLabel, gitlab, hosted), ["GitHub jobs.up runs for a fork's pull request, labelled with another label"]);
            // The hosted workflow with its fork guard dropped: forks (and a deleted fork) would run with the secrets.
            const openHosted = clone(hosted);
            openHosted.jobs.up.if = "vars.PROD_MIRROR_RUNNER != 'self-hosted' && github.event_name == 'pull_request' && github.event.action != 'closed'";
            openHosted.jobs.down.if = "vars.PROD_MIRROR_RUNNER != 'self-hosted' && github.event_name == 'pull_request' && github.event.action == 'closed'";
            assert.deepStrictEqual(forkProblems(github, gitlab, openHosted), [
                "GitHub hosted jobs.up runs for a fork's pull request, opened",
                "GitHub hosted jobs.up runs for a fork's pull request, pushed to",
                "GitHub hosted jobs.up runs for a fork's pull request, reopened",
                "GitHub hosted jobs.up runs for a fork's pull request, labelled with another label",
                `GitHub hosted jobs.up runs for a fork's pull request, labelled ${APPROVAL_LABEL} by a maintainer`,
                "GitHub hosted jobs.up runs for a pull request whose fork was deleted",
                "GitHub hosted jobs.down runs for a fork's pull request, which never had a mirror there",
            ]);
            const openLab = clone(gitlab);
            openLab.review.rules = [{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }];
            openLab.stop_review.resource_group = "mirror/$CI_COMMIT_REF_SLUG";
            assert.deepStrictEqual(forkProblems(github, openLab, hosted), ["GitLab review runs for a fork's merge request"]);
            assert.ok(gitlabProblems(openLab).includes(`stop_review must share resource_group ${GITLAB_RESOURCE_GROUP} with review`));
        });

        it("a mutation job on pull requests, on the self-hosted runner, or incremental", () => {
            const gated = clone(githubMutation);
            gated.on.pull_request = { types: ["opened"] };
            gated.jobs.mutation["runs-on"] = ["self-hosted", "linux", "prod-mirror"];
            gated.jobs.mutation.steps[3].run = "npm run test:mutation";
            const everySchedule = clone(gitlab);
            everySchedule.mutation.rules = [{ if: '$CI_PIPELINE_SOURCE == "schedule"' }];
            assert.deepStrictEqual(mutationProblems(gated, everySchedule), [
                "GitHub mutation runs on pull_request, schedule, workflow_dispatch, want schedule and workflow_dispatch only",
                'GitHub mutation runs on ["self-hosted","linux","prod-mirror"], want a hosted runner (ubuntu-latest), not the one holding the mirrors\' credentials',
                "GitHub mutation must run npm ci, then npm run test:mutation -- --force",
                "GitLab mutation runs for a merge request or for every schedule",
            ]);
        });

        it("a hosted job left on the local default, broad permissions, a pin that drifted, a secret expanded, no environment URL", () => {
            const wf = clone(hosted);
            delete wf.env.PROD_MIRROR_TARGET;
            wf.jobs.up.permissions = { contents: "write", "pull-requests": "write", packages: "write" };
            wf.jobs.down.steps.pop();
            wf.jobs.reap.steps.push({ run: 'echo "passphrase: $PULUMI_CONFIG_PASSPHRASE"' });
            wf.jobs.up.steps[0].with["persist-credentials"] = true;
            const act = clone(action);
            act.runs.steps.find((s: Obj) => s.uses === "pulumi/actions@v6").with["pulumi-version"] = "3.200.0";
            const ci = clone(gitlab);
            ci.stop_review.image.name = "pulumi/pulumi:latest";
            delete ci.review.environment.url;
            ci.reap_self_hosted.variables = { PROD_MIRROR_TARGET: "external" };
            assert.deepStrictEqual(externalTargetProblems(wf, act, ci, versionsEnv()), [
                'GitHub env.PROD_MIRROR_TARGET is undefined, want "external"',
                'GitHub jobs.up.permissions is {"contents":"write","pull-requests":"write","packages":"write"}, want {"contents":"read","pull-requests":"write","packages":"write"}',
                'GitHub jobs.up.steps[0] persist-credentials is ["actions/checkout@v4",true], want ["actions/checkout@v4",false]',
                'GitHub jobs.down\'s last step (the comment) is [null,"npx prod-mirror down --branch \\"$BRANCH\\" --pr \\"$PR\\" --source-repo \\"$SOURCE_REPO\\""], want ["always()","bash .ci/pr-comment.sh \\"$PR\\" comment.md"]',
                'the action\'s pulumi/actions@v6 pulumi-version (local/versions.env PULUMI_CLI_VERSION) is "3.200.0", want "3.274.1"',
                'jobs.reap.steps[1] expands $PULUMI_CONFIG_PASSPHRASE, which holds a secret: echo "passphrase: $PULUMI_CONFIG_PASSPHRASE"',
                'GitLab stop_review.image is {"name":"pulumi/pulumi:latest","entrypoint":[""]}, want {"name":"pulumi/pulumi:3.274.1","entrypoint":[""]}',
                'GitLab reap_self_hosted PROD_MIRROR_TARGET, tags is ["external",["prod-mirror"]], want [null,["prod-mirror"]]',
                'GitLab review.environment.url is undefined, want "$DYNAMIC_ENVIRONMENT_URL"',
            ]);
        });

        it("a CLI flag the command does not take, an npm script that does not exist, a printed secret", () => {
            const problems = commandProblems([
                { where: "x", line: "npx prod-mirror down --ttl 3d" },
                { where: "y", line: "npm run test:nope" },
                { where: "z", line: "echo $REGISTRY_PASSWORD" },
            ]);
            assert.deepStrictEqual(problems, [
                'x: npx prod-mirror down --ttl 3d: down does not take "--ttl"',
                "y: npm script test:nope is not in package.json",
                "z: a script line names a secret: echo $REGISTRY_PASSWORD",
            ]);
        });
    });
});
