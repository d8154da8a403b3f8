// The README's plain-Pulumi flow, typed as a CI job would type it: both marked blocks are run line
// by line with bash, as written, in a copy of the tracked files. Only what a user would choose
// differs: the stack name (for `feature-login`), the CI variables naming the branch, and the backend,
// a temporary file backend, so that no one's live default state is touched. After every line the
// copy must be exactly the commit (`git status --porcelain` empty): a CI job must not carry edits.
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { buildAndPushImages, plannedImageBuilds } from "../../cli/app-images";
import { ensureLocalEnvironment, repoRoot } from "../../cli/local-environment";
import { detectCi } from "../../components/branch-context";
import { PROJECT } from "../../components/config-error";
import { parseSettings, SETTINGS_KEYS } from "../../components/settings";
import { imageTag } from "../../components/naming";
import { kubectl } from "./cluster";
import { classifyFlow, readmeBlock, type FlowLine } from "./readme-flow";

const log = (line: string): void => {
    process.stderr.write(`      ${line}\n`);
};

/** The stack name the README's block uses; the test substitutes its own for it. */
const README_STACK = "feature-login";

/** The variables by which branch-context recognises a CI system; the runner's own must not leak in. */
const CI_MARKERS = ["GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "CIRCLECI", "JENKINS_URL", "JENKINS_HOME"];

interface LineRun {
    status: number | null;
    stdout: string;
    stderr: string;
    seconds: number;
}

function runLine(line: string, cwd: string, env: NodeJS.ProcessEnv): LineRun {
    const started = Date.now();
    const result = spawnSync("bash", ["-c", line], { cwd, env, encoding: "utf8", maxBuffer: 64 << 20, timeout: 30 * 60_000 });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, seconds: (Date.now() - started) / 1000 };
}

/** The literal line and what it printed, for an assertion message (the line is unexpanded: no secret). */
function described(line: string, run: LineRun): string {
    const tail = (text: string): string => text.trimEnd().split("\n").slice(-15).join("\n");
    return `\`${line}\` exited ${run.status} after ${run.seconds.toFixed(1)}s\nstdout:\n${tail(run.stdout)}\nstderr:\n${tail(run.stderr)}`;
}

function git(cwd: string, ...args: string[]): string {
    return execFileSync("git", ["-c", "user.name=plain-pulumi-flow", "-c", "user.email=test@prod-mirror.invalid", ...args], {
        cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"],
    });
}

/** The tracked files of the worktree as they are now, copied into `dir` and committed there. */
function copyProject(dir: string): string {
    const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: repoRoot, encoding: "utf8" }).split("\0").filter((f) => f !== "");
    for (const file of tracked) {
        const from = path.join(repoRoot, file);
        if (fs.existsSync(from)) {
            fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
            fs.copyFileSync(from, path.join(dir, file));
            fs.chmodSync(path.join(dir, file), fs.statSync(from).mode);
        }
    }
    fs.symlinkSync(fs.realpathSync(path.join(repoRoot, "node_modules")), path.join(dir, "node_modules"));
    git(dir, "init", "-q", "-b", "checkout");
    // .gitignore's `node_modules/` matches a directory, not this symlink; a real checkout has the directory.
    fs.appendFileSync(path.join(dir, ".git", "info", "exclude"), "/node_modules\n");
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "-m", "the tracked files under test");
    return git(dir, "rev-parse", "HEAD").trim();
}

/** The template's settings as the program reads them (Pulumi hands objects over as JSON text). */
function templateSettings(dir: string): ReturnType<typeof parseSettings> {
    const doc = yaml.load(fs.readFileSync(path.join(dir, "Pulumi.ci.yaml"), "utf8")) as { config: Record<string, unknown> };
    const raw = Object.fromEntries(SETTINGS_KEYS.map((key) => {
        const value = doc.config[`${PROJECT}:${key}`];
        return [key, value === undefined || typeof value === "string" ? value : JSON.stringify(value)];
    }));
    return parseSettings(raw, { stack: "ci", readFile: (relative) => fs.readFileSync(path.join(dir, relative), "utf8") });
}

describe("the README's plain-Pulumi flow, run as written", function () {
    const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");
    const environmentLines = readmeBlock(readme, "environment");
    const flowLines = readmeBlock(readme, "flow");
    const suffix = crypto.randomBytes(3).toString("hex");
    // A branch name that is its own slug: the stack, the namespace and the image tag all use it verbatim.
    const branch = `plainflow-it-${suffix}`;
    const stack = branch;
    const namespace = `pm-${branch}`;
    let flow: FlowLine[];
    let work: string;
    let project: string;
    let backendDir: string;
    let env: NodeJS.ProcessEnv;
    let commit: string;
    let tag: string;
    let failedAt: string | undefined;
    const timings: Array<[string, number]> = [];

    before(async function () {
        this.timeout(60 * 60_000);
        flow = classifyFlow(flowLines);
        const local = ensureLocalEnvironment();
        work = fs.mkdtempSync(path.join(os.tmpdir(), "pm-plain-flow-"));
        project = path.join(work, "project");
        backendDir = path.join(work, "backend");
        fs.mkdirSync(project);
        fs.mkdirSync(backendDir);
        commit = copyProject(project);

        // The CI job's image step (prod-mirror:imageBuilder external): the CLI's own, from the copy.
        const settings = templateSettings(project);
        tag = imageTag(branch, commit);
        const started = Date.now();
        await buildAndPushImages(plannedImageBuilds(settings.app, settings.registryServer, settings.imageRepository, tag, project), { ...process.env, ...local.env }, log);
        timings.push(["images", (Date.now() - started) / 1000]);

        // A GitLab job's variables name the branch; whatever CI runs this test must not.
        const ciEnv: NodeJS.ProcessEnv = { ...process.env };
        for (const name of CI_MARKERS) {
            delete ciEnv[name];
        }
        Object.assign(ciEnv, { GITLAB_CI: "true", CI_COMMIT_REF_NAME: branch, CI_COMMIT_SHA: commit, GITLAB_USER_LOGIN: "plainflow-it" });
        assert.strictEqual(detectCi(ciEnv)?.id, "gitlab-ci");

        // The environment block, line by line in one shell (its exports carry over), then its result.
        const script = environmentLines.map((line, i) =>
            `${line}\nrc=$?; if [ $rc -ne 0 ]; then echo "environment line ${i + 1} exited $rc" >&2; exit $rc; fi`).join("\n");
        const shell = spawnSync("bash", ["-c", `${script}\nenv -0`], { cwd: project, env: ciEnv, encoding: "utf8" });
        assert.strictEqual(shell.status, 0, `the README's environment block failed:\n${shell.stderr}`);
        env = Object.fromEntries(shell.stdout.split("\0").filter((kv) => kv.includes("=")).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
        assert.ok(env.REGISTRY_PULL_PASSWORD, "the README's environment block did not set REGISTRY_PULL_PASSWORD");
        assert.match(env.PULUMI_BACKEND_URL ?? "", /^file:\/\//, "the environment block did not set the local default's backend");
        // The one substitution a CI job makes for itself: its own backend.
        env.PULUMI_BACKEND_URL = `file://${backendDir}`;
    });

    after(function () {
        this.timeout(20 * 60_000);
        log(`plain-Pulumi flow timings: ${timings.map(([step, s]) => `${step} ${s.toFixed(1)}s`).join(", ")}`);
        if (env === undefined) {
            return;
        }
        // A failed line must not leave a mirror behind on the shared cluster.
        const stacks = runLine("pulumi stack ls --json", project, env);
        const left = stacks.status === 0 ? (JSON.parse(stacks.stdout) as Array<{ name: string }>).map((s) => s.name) : [stack, "ci"];
        for (const name of left) {
            log(`cleaning up stack ${name} after a failure`);
            runLine(`pulumi destroy --yes --stack ${name} && pulumi stack rm --yes --force --stack ${name}`, project, env);
        }
        fs.rmSync(work, { recursive: true, force: true });
    });

    it("marks both blocks, and the flow starts from the template under the name the test substitutes", function () {
        assert.ok(environmentLines.length > 0, "the environment block is empty");
        assert.strictEqual(flow[0].text.replace(/\s+#.*$/, ""), `cp Pulumi.ci.yaml Pulumi.${README_STACK}.yaml`);
        assert.ok(flow.some((l) => l.step === "stack" && l.text.includes(` ${README_STACK}`)), `no stack line names ${README_STACK}`);
        assert.ok(!flowLines.some((l) => l.includes("--copy-config-from")), "the flow copies config from a stack again");
    });

    for (const [i, line] of flowLines.entries()) {
        const typed = line.split(README_STACK).join(stack);
        it(`runs \`${line}\` with exit 0 and leaves the checkout clean`, function () {
            this.timeout(30 * 60_000);
            if (failedAt !== undefined) {
                assert.fail(`not run: the earlier line \`${failedAt}\` failed`);
            }
            // Cleared only when every check below passed: a later line then says why it did not run.
            failedAt = line;
            const run = runLine(typed, project, env);
            const step = flow[i].step;
            if (step === "up" || step === "destroy") {
                timings.push([step, run.seconds]);
            }
            assert.strictEqual(run.status, 0, described(line, run));
            assert.strictEqual(git(project, "status", "--porcelain", "--untracked-files=all"), "", `\`${line}\` left the checkout changed`);

            const stackFile = path.join(project, `Pulumi.${stack}.yaml`);
            const template = yaml.load(fs.readFileSync(path.join(project, "Pulumi.ci.yaml"), "utf8")) as { config: Record<string, unknown> };
            if (step === "stack") {
                const copy = yaml.load(fs.readFileSync(stackFile, "utf8")) as { config: Record<string, unknown>; encryptionsalt?: string };
                assert.deepStrictEqual(copy.config, template.config, "the stack's config is not the template's");
                assert.match(copy.encryptionsalt ?? "", /^v1:/, "the stack's file has no encryption salt");
            }
            if (step === "secret") {
                const copy = yaml.load(fs.readFileSync(stackFile, "utf8")) as { config: Record<string, unknown> };
                const stored = JSON.stringify(copy.config[`${PROJECT}:registryPassword`]);
                assert.match(stored, /^\{"secure":"v1:/, "the registry password is not stored as a secret");
                assert.ok(!stored.includes(env.REGISTRY_PULL_PASSWORD as string), "the registry password is stored in clear");
            }
            if (step === "outputs") {
                const outputs = JSON.parse(run.stdout);
                assert.strictEqual(outputs.namespace, namespace);
                assert.deepStrictEqual(outputs.serviceUrls, {
                    api: `http://api.${namespace}.svc.cluster.local:8080`,
                    worker: `http://worker.${namespace}.svc.cluster.local:8081`,
                    gateway: `http://gateway.${namespace}.svc.cluster.local:8000`,
                });
                for (const service of ["api", "worker", "gateway"]) {
                    assert.ok(String(outputs.images[service]).startsWith(`127.0.0.1:5000/prod-mirror/${service}:${tag}`), `image of ${service}: ${outputs.images[service]}`);
                }
                assert.deepStrictEqual([outputs.branch, outputs.commit, outputs.owner], [branch, commit, "plainflow-it"], "branch, commit, owner are not the CI job's");
                assert.strictEqual(kubectl(env, "get", "namespace", namespace, "-o", "name").trim(), `namespace/${namespace}`);
            }
            if (step === "destroy") {
                assert.strictEqual(kubectl(env, "get", "namespace", namespace, "--ignore-not-found").trim(), "", `namespace ${namespace} survived the destroy`);
            }
            if (step === "rm") {
                const left = JSON.parse(runLine("pulumi stack ls --json", project, env).stdout) as Array<{ name: string }>;
                assert.deepStrictEqual(left.map((s) => s.name), [], "a stack is left on the backend");
                assert.ok(!fs.existsSync(stackFile), `Pulumi.${stack}.yaml is left in the checkout`);
            }
            failedAt = undefined;
        });
    }

    it("refuses a stack named ci at the first line, before Pulumi touches the template", function () {
        const beforeUp = flowLines.slice(0, flow.findIndex((l) => l.step === "up"));
        const runs = [];
        for (const line of beforeUp) {
            const run = runLine(line.split(README_STACK).join("ci"), project, env);
            runs.push(run);
            if (run.status !== 0) {
                break;
            }
        }
        assert.strictEqual(runs.length, 1, `${runs.length} lines ran for stack ci, expected the first to refuse it`);
        assert.notStrictEqual(runs[0].status, 0);
        assert.match(runs[0].stderr, /'Pulumi\.ci\.yaml' and 'Pulumi\.ci\.yaml' are the same file/);
        assert.strictEqual(git(project, "status", "--porcelain", "--untracked-files=all"), "");
        assert.deepStrictEqual(JSON.parse(runLine("pulumi stack ls --json", project, env).stdout), []);
    });
});
