// The CI pipelines (.github/workflows/mirror.yml, .gitlab-ci.yml) parsed with js-yaml and checked
// structurally. No npm package carries the official schemas as files: @schemastore/github-workflow
// and @schemastore/gitlab-ci hold TypeScript types only, @action-validator/core a compiled wasm
// validator, and @actions/workflow-parser (GitHub's own parser) is ESM-only and imports its schema
// with a JSON import that Node 20 refuses without an import attribute. So each checker below returns
// the problems it finds, the real files must have none, and a broken copy must show the problem.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { COMMANDS, parseArgs } from "../../cli/args";
import { evaluate, pathLookup } from "./ci-expressions";

const root = path.resolve(__dirname, "..", "..");
const githubFile = path.join(root, ".github", "workflows", "mirror.yml");
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

/** A pull_request event as GitHub sends it, from this repository or a fork. */
function githubEvent(action: string, opts: { fork?: boolean; label?: string; deletedFork?: boolean } = {}): Record<string, unknown> {
    const head = opts.deletedFork ? null : { full_name: opts.fork ? "mallory/app" : "acme/app" };
    return {
        github: {
            event_name: "pull_request",
            repository: "acme/app",
            event: { action, pull_request: { number: 12, head: { repo: head } }, ...(opts.label === undefined ? {} : { label: { name: opts.label } }) },
        },
    };
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

/** What a fork's pull request can make the runner do, and what a same-repository one cannot. */
function forkProblems(github: Obj, gitlab: Obj): string[] {
    const problems: string[] = [];
    const up = github.jobs?.up as Obj | undefined;
    const cases: Array<[string, Record<string, unknown>, boolean]> = [
        ["a pull request from this repository, opened", githubEvent("opened"), true],
        ["a pull request from this repository, pushed to", githubEvent("synchronize"), true],
        ["a fork's pull request, opened", githubEvent("opened", { fork: true }), false],
        ["a fork's pull request, pushed to", githubEvent("synchronize", { fork: true }), false],
        ["a fork's pull request, reopened", githubEvent("reopened", { fork: true }), false],
        ["a fork's pull request, labelled with another label", githubEvent("labeled", { fork: true, label: "bug" }), false],
        [`a fork's pull request, labelled ${APPROVAL_LABEL} by a maintainer`, githubEvent("labeled", { fork: true, label: APPROVAL_LABEL }), true],
        ["a pull request whose fork was deleted", githubEvent("synchronize", { deletedFork: true }), false],
        ["a closed pull request", githubEvent("closed"), false],
        ["the schedule", { github: { event_name: "schedule", repository: "acme/app", event: {} } }, false],
    ];
    for (const [what, context, expected] of cases) {
        if (githubRuns(up, context) !== expected) {
            problems.push(`GitHub jobs.up ${expected ? "does not run" : "runs"} for ${what}`);
        }
    }
    if (!githubRuns(github.jobs?.down as Obj | undefined, githubEvent("closed", { fork: true }))) {
        problems.push("GitHub jobs.down does not run when a fork's pull request closes (an approved fork's mirror would be left)");
    }
    for (const job of ["review", "stop_review"]) {
        if (!gitlabRuns(gitlab[job] as Obj | undefined, GITLAB_SAME_PROJECT_MR)) {
            problems.push(`GitLab ${job} does not run for a merge request from this project`);
        }
        if (gitlabRuns(gitlab[job] as Obj | undefined, GITLAB_FORK_MR)) {
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
        if (/REGISTRY_PASSWORD|secrets\./.test(line)) {
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

function githubProblems(wf: Obj): string[] {
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
    expect(
        "up",
        "github.event_name == 'pull_request' && github.event.action != 'closed' && " +
            "((github.event.action != 'labeled' && github.event.pull_request.head.repo.full_name == github.repository) || " +
            `(github.event.action == 'labeled' && github.event.label.name == '${APPROVAL_LABEL}'))`,
        "npx prod-mirror up ",
    );
    expect("down", "github.event_name == 'pull_request' && github.event.action == 'closed'", "npx prod-mirror down ");
    expect("reap", "github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'", "npx prod-mirror reap");
    if (jobs.up !== undefined) {
        const lines = shellLines(githubScripts({ jobs: { up: jobs.up } })).map((l) => l.line);
        const order = ["npm ci", "npx prod-mirror up ", "npx prod-mirror outputs ", "npm run test:e2e"].map((c) => lines.findIndex((l) => l.includes(c)));
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
    const scheduled = (job: Obj | undefined): boolean => ((job?.rules ?? []) as Obj[]).some((r) => r.if === '$CI_PIPELINE_SOURCE == "schedule"' && r.when === undefined);
    if (!scheduled(ci.reap as Obj | undefined) || !(ci.reap?.script as string[] | undefined)?.includes("npx prod-mirror reap")) {
        problems.push("reap must run npx prod-mirror reap on a schedule");
    }
    return problems;
}

describe("CI pipelines", () => {
    const github = load(githubFile);
    const gitlab = load(gitlabFile);
    const githubMutation = load(githubMutationFile);
    const allLines = [...shellLines(githubScripts(github)), ...shellLines(gitlabScripts(gitlab))];

    it("GitHub: pull request up + e2e, closed down, scheduled reap, one queue per pull request", () => {
        assert.deepStrictEqual(githubProblems(github), []);
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
        assert.strictEqual(ups.length, 2);
        for (const argv of ups) {
            const parsed = parseArgs(argv as string[]);
            assert.deepStrictEqual([parsed.branch, parsed.commit, parsed.ttlHours, parsed.forward], [SAMPLES.BRANCH, SAMPLES.COMMIT, 72, false]);
        }
    });

    it("keys every up, outputs and down by the pull request's number and source repository", () => {
        const keyed = allLines.map((l) => ({ ...l, argv: cliArgv(l.line) })).filter((l) => ["up", "outputs", "down"].includes(l.argv?.[0] ?? ""));
        assert.strictEqual(keyed.length, 6, "up, outputs and down in each pipeline");
        for (const { where, argv } of keyed) {
            const parsed = parseArgs(argv as string[]);
            assert.deepStrictEqual([parsed.pullRequest, parsed.sourceRepo], [12, "alice/app"], `${where} does not pass --pr and --source-repo`);
        }
        const env = (job: string): Obj => (github.jobs[job].env ?? {}) as Obj;
        for (const job of ["up", "down"]) {
            assert.strictEqual(env(job).PR, "${{ github.event.pull_request.number }}");
            assert.strictEqual(env(job).SOURCE_REPO, "${{ github.event.pull_request.head.repo.full_name }}");
        }
        assert.deepStrictEqual([gitlab.stop_review.resource_group, gitlab.stop_review.environment.name], [GITLAB_RESOURCE_GROUP, GITLAB_ENVIRONMENT]);
    });

    it("never runs a fork's pull request with the runner's credentials, unless a maintainer approves it (GitHub) or at all (GitLab)", () => {
        assert.deepStrictEqual(forkProblems(github, gitlab), []);
        const checkouts = (job: string): Obj[] => (github.jobs[job].steps as Obj[]).filter((s) => String(s.uses).startsWith("actions/checkout@"));
        for (const job of ["up", "down"]) {
            assert.strictEqual(checkouts(job)[0]?.with?.["persist-credentials"], false, `jobs.${job} leaves the token in .git/config`);
        }
        assert.ok(github.on.pull_request.types.includes("labeled"), "the approval label needs the labeled event");
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
            const problems = [...githubProblems(broken), ...commandProblems(shellLines(githubScripts(broken)))];
            assert.ok(problems.includes("on.pull_request.types lacks reopened"), problems.join("\n"));
            assert.ok(problems.includes("on.pull_request.types lacks closed"));
            assert.ok(problems.some((p) => p.startsWith("concurrency.cancel-in-progress")));
            assert.ok(problems.some((p) => p.includes("pasted into the shell")));
        });

        it("a fork guard dropped or loosened, a queue keyed by branch again", () => {
            const open = clone(github);
            open.jobs.up.if = "github.event_name == 'pull_request' && github.event.action != 'closed'";
            open.concurrency.group = "prod-mirror-${{ github.head_ref || github.ref_name }}";
            assert.deepStrictEqual(forkProblems(open, gitlab), [
                "GitHub jobs.up runs for a fork's pull request, opened",
                "GitHub jobs.up runs for a fork's pull request, pushed to",
                "GitHub jobs.up runs for a fork's pull request, reopened",
                "GitHub jobs.up runs for a fork's pull request, labelled with another label",
                "GitHub jobs.up runs for a pull request whose fork was deleted",
            ]);
            assert.ok(githubProblems(open).some((p) => p.startsWith("concurrency.group is \"prod-mirror-${{ github.head_ref")));
            // Any label approving, instead of the one a maintainer applies.
            const anyLabel = clone(github);
            anyLabel.jobs.up.if = anyLabel.jobs.up.if.replace(`github.event.label.name == '${APPROVAL_LABEL}'`, "true");
            assert.deepStrictEqual(forkProblems(anyLabel, gitlab), ["GitHub jobs.up runs for a fork's pull request, labelled with another label"]);
            const openLab = clone(gitlab);
            openLab.review.rules = [{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }];
            openLab.stop_review.resource_group = "mirror/$CI_COMMIT_REF_SLUG";
            assert.deepStrictEqual(forkProblems(github, openLab), ["GitLab review runs for a fork's merge request"]);
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
