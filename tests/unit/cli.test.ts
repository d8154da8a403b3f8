import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { plannedImageBuilds } from "../../cli/app-images";
import { DEFAULT_LOCK_TIMEOUT_MINUTES, DEFAULT_TTL_HOURS, expiryFrom, helpRequested, parseArgs, parseTtl, USAGE, UsageError } from "../../cli/args";
import { cliEnvFrom, cliPulumiHome, mirrorsDirFrom, parseDotenvFile, parseShellEnv, preparePulumiHome, repoRoot } from "../../cli/local-environment";
import { defaultOutDir, describeRef, refFlags, refKey, resolveBranch, resolveRef } from "../../cli/mirror";
import { plainOutputs, runnerEnvOf, toDotenv } from "../../cli/outputs";
import type { AppSpec } from "../../components/app-spec";
import { stackName } from "../../components/naming";

describe("cli: arguments", () => {
    const defaults = { ttlHours: DEFAULT_TTL_HOURS, format: "json", forward: true, lockTimeoutMinutes: DEFAULT_LOCK_TIMEOUT_MINUTES, json: false, dryRun: false, forgetState: false, registryPasswordStdin: false, minAgeMinutes: 30, maxDeletions: 10 };

    it("defaults: 72 h TTL, JSON, port-forwards on, 30 min lock wait", () => {
        assert.deepStrictEqual(parseArgs(["up"]), { command: "up", ...defaults });
        assert.strictEqual(DEFAULT_LOCK_TIMEOUT_MINUTES, 30);
    });

    it("reads an external target's flags on every command, and the password switch on up and doctor only", () => {
        assert.deepStrictEqual(parseArgs(["up", "--kubeconfig", "/k/config", "--context=prod", "--registry-password-stdin"]), { command: "up", ...defaults, kubeconfig: "/k/config", context: "prod", registryPasswordStdin: true });
        for (const command of ["down", "outputs", "diff", "ls", "reap", "doctor"]) {
            assert.deepStrictEqual([parseArgs([command, "--context", "c"]).context, parseArgs([command, "--kubeconfig=k"]).kubeconfig], ["c", "k"], command);
        }
        assert.throws(() => parseArgs(["down", "--registry-password-stdin"]), { message: /^down does not take "--registry-password-stdin"/ });
        assert.throws(() => parseArgs(["up", "--registry-password-stdin=x"]), { message: /^--registry-password-stdin takes no value/ });
        assert.throws(() => parseArgs(["up", "--context"]), { message: /^--context needs a value/ });
    });

    it("reads the switches of ls and reap, and rejects a value on a switch", () => {
        assert.deepStrictEqual(parseArgs(["ls", "--json"]), { command: "ls", ...defaults, json: true });
        assert.deepStrictEqual(parseArgs(["reap", "--dry-run", "--aws-endpoint", "http://127.0.0.1:4566/", "--aws-region=eu-west-1"]), {
            command: "reap",
            ...defaults,
            dryRun: true,
            awsEndpoint: "http://127.0.0.1:4566",
            awsRegion: "eu-west-1",
        });
        assert.throws(() => parseArgs(["reap", "--dry-run=yes"]), { message: /^--dry-run takes no value/ });
        assert.throws(() => parseArgs(["doctor", "--json"]), { message: /^doctor does not take "--json"/ });
    });

    it("reads reap's --min-age as a duration and --max-deletions as a count, each with an example when wrong", () => {
        assert.deepStrictEqual(parseArgs(["reap", "--min-age", "2h", "--max-deletions=3"]), { command: "reap", ...defaults, minAgeMinutes: 120, maxDeletions: 3 });
        assert.deepStrictEqual([parseArgs(["reap", "--min-age=0"]).minAgeMinutes, parseArgs(["reap", "--max-deletions", "0"]).maxDeletions], [0, 0]);
        assert.throws(() => parseArgs(["reap", "--min-age", "old"]), { message: /^--min-age "old" is not a duration: write it as minutes, hours or days, e.g. --min-age 90m/ });
        assert.throws(() => parseArgs(["reap", "--max-deletions", "-1"]), { message: /^--max-deletions "-1" is not a whole number of items: e.g. --max-deletions 10 \(0 removes nothing\)\n/ });
        assert.throws(() => parseArgs(["up", "--max-deletions", "3"]), { message: /^up does not take "--max-deletions"/ });
    });

    it("reads --lock-timeout as a duration in minutes, 0 meaning no wait", () => {
        assert.strictEqual(parseArgs(["up", "--lock-timeout", "90m"]).lockTimeoutMinutes, 90);
        assert.strictEqual(parseArgs(["down", "--lock-timeout=2h"]).lockTimeoutMinutes, 120);
        assert.strictEqual(parseArgs(["up", "--lock-timeout", "0"]).lockTimeoutMinutes, 0);
        assert.throws(() => parseArgs(["up", "--lock-timeout", "later"]), { message: /^--lock-timeout "later" is not a duration: write it as minutes, hours or days, e.g. --lock-timeout 90m/ });
    });

    it("rejects an --aws-endpoint that is not a URL, with an example", () => {
        assert.throws(() => parseArgs(["reap", "--aws-endpoint", "localhost:4566"]), { message: /^--aws-endpoint "localhost:4566" is not a URL: e.g. --aws-endpoint http:\/\/127.0.0.1:4566/ });
    });

    it("reads flags in both --flag value and --flag=value forms", () => {
        const args = parseArgs(["up", "--branch", "feature/x", "--commit=3F2A9C1", "--ttl", "3d", "--no-forward", "--out-dir=/tmp/o"]);
        assert.deepStrictEqual(args, { command: "up", ...defaults, branch: "feature/x", commit: "3f2a9c1", forward: false, outDir: "/tmp/o" });
    });

    it("keeps an = inside a --branch value", () => {
        assert.strictEqual(parseArgs(["down", "--branch=a=b"]).branch, "a=b");
    });

    it("reads --pr and --source-repo together for up, down and outputs", () => {
        assert.deepStrictEqual(parseArgs(["up", "--branch", "patch-1", "--pr", "12", "--source-repo=alice/app"]), { command: "up", ...defaults, branch: "patch-1", pullRequest: 12, sourceRepo: "alice/app" });
        assert.strictEqual(parseArgs(["down", "--pr=7", "--source-repo", "group/sub/app"]).sourceRepo, "group/sub/app");
        assert.strictEqual(parseArgs(["outputs", "--pr", "7", "--source-repo", "a/b"]).pullRequest, 7);
        assert.throws(() => parseArgs(["ls", "--pr", "7"]), { message: /^ls does not take "--pr"/ });
    });

    it("refuses --pr without --source-repo and the reverse, and malformed values, each with an example", () => {
        assert.throws(() => parseArgs(["up", "--pr", "12"]), {
            message: /^--pr 12 needs --source-repo: the repository its branch lives in \(for a fork, the fork\), without which two forks' branches of one name would share a mirror\n/,
        });
        assert.throws(() => parseArgs(["down", "--source-repo", "a/b"]), { message: /^--source-repo needs --pr: the number of the pull request whose branch lives in a\/b\n/ });
        assert.throws(() => parseArgs(["up", "--pr", "#12", "--source-repo", "a/b"]), { message: /^--pr "#12" is not a pull request number: e.g. --pr 42\n/ });
        assert.throws(() => parseArgs(["up", "--pr", "12", "--source-repo", "app"]), { message: /^--source-repo "app" is not a repository path: e.g. --source-repo owner\/repo \(GitLab: group\/project\)\n/ });
    });

    it("names the unknown command and prints the usage", () => {
        assert.throws(() => parseArgs(["deploy"]), (err: Error) => err instanceof UsageError && /^unknown command "deploy"\nusage: prod-mirror/.test(err.message));
    });

    it("reads down --forget-state as a switch only down takes, off unless given", () => {
        assert.strictEqual(parseArgs(["down", "--branch", "x"]).forgetState, false);
        assert.deepStrictEqual(parseArgs(["down", "--forget-state", "--branch", "x"]), { command: "down", ...defaults, branch: "x", forgetState: true });
        assert.throws(() => parseArgs(["down", "--forget-state=yes"]), { message: /^--forget-state takes no value\n/ });
        assert.throws(() => parseArgs(["reap", "--forget-state"]), { message: /^reap does not take "--forget-state"\n/ });
        assert.throws(() => parseArgs(["up", "--forget-state"]), { message: /^up does not take "--forget-state"\n/ });
        assert.match(USAGE, /down {5}\[--branch B\] \[--forget-state\]\n.*--forget-state removes the stack without touching any cluster/s);
    });

    it("rejects a flag the command does not take", () => {
        assert.throws(() => parseArgs(["down", "--ttl", "3h"]), { message: /^down does not take "--ttl"/ });
    });

    it("rejects a flag without its value", () => {
        assert.throws(() => parseArgs(["up", "--branch"]), { message: /^--branch needs a value/ });
    });

    it("rejects a commit that is not a SHA, naming the fix", () => {
        assert.throws(() => parseArgs(["up", "--commit", "main"]), { message: /^--commit "main" is not a commit SHA: give 7 to 40 hex digits, e.g. --commit 3f2a9c1/ });
    });

    it("rejects an unknown output format", () => {
        assert.throws(() => parseArgs(["outputs", "--format", "yaml"]), { message: /^--format "yaml" is not known: use --format json or --format dotenv/ });
    });

    /** The first line of the UsageError parseArgs throws, after checking the usage follows it. */
    function usageError(argv: string[]): string {
        try {
            parseArgs(argv);
        } catch (err) {
            assert.ok(err instanceof UsageError, String(err));
            assert.strictEqual(err.name, "UsageError");
            const [first, second] = err.message.split("\n");
            assert.strictEqual(second, "usage: prod-mirror <command> [options]");
            return first;
        }
        assert.fail(`parseArgs(${JSON.stringify(argv)}) threw nothing`);
    }

    it("takes --help, -h and help, alone or after a command, as a request for the usage; nothing else", () => {
        const asks = [["--help"], ["-h"], ["help"], ["up", "--help"], ["down", "-h"], ["reap", "--dry-run", "--help"], ["nope", "-h"]];
        assert.deepStrictEqual(asks.filter((argv) => !helpRequested(argv)), []);
        const others = [[], ["up"], ["up", "--branch", "help"], ["up", "--branch", "x--help"], ["up", "--helpme"], ["up", "-H"], ["ls", "--json"]];
        assert.deepStrictEqual(others.filter((argv) => helpRequested(argv)), []);
    });

    it("rejects each bad command line with its own message, the usage after it", () => {
        const cases: [string[], string][] = [
            [[], "no command given"],
            [["help"], 'unknown command "help"'],
            [["Up"], 'unknown command "Up"'],
            [["doctor", "--branch", "x"], 'doctor does not take "--branch"'],
            [["up", "--branch="], "--branch needs a value"],
            [["up", "--out-dir", ""], "--out-dir needs a value"],
            [["up", "--commit", "3f2a9c1x"], '--commit "3f2a9c1x" is not a commit SHA: give 7 to 40 hex digits, e.g. --commit 3f2a9c1'],
            [["up", "--commit", "x3f2a9c1"], '--commit "x3f2a9c1" is not a commit SHA: give 7 to 40 hex digits, e.g. --commit 3f2a9c1'],
            [["up", "--ttl", "x5h"], '--ttl "x5h" is not a duration: write it as minutes, hours or days, e.g. --ttl 90m, --ttl 72h, --ttl 3d'],
            [["up", "--ttl", "5hx"], '--ttl "5hx" is not a duration: write it as minutes, hours or days, e.g. --ttl 90m, --ttl 72h, --ttl 3d'],
            [["up", "--ttl", "0h"], "--ttl 0h is out of range: a mirror lives 1 to 720 hours (30 days), e.g. --ttl 72h"],
            [["reap", "--min-age", "0m"], "--min-age 0m is out of range: more than 0 and at most 90 days, e.g. --min-age 30m"],
            [["reap", "--min-age", "90.1d"], "--min-age 90.1d is out of range: more than 0 and at most 90 days, e.g. --min-age 30m"],
            [["up", "--ready-timeout", "90"], '--ready-timeout "90" is not a duration: write it as whole seconds or minutes, e.g. --ready-timeout 90s, --ready-timeout 3m'],
            [["up", "--ready-timeout", "1.5m"], '--ready-timeout "1.5m" is not a duration: write it as whole seconds or minutes, e.g. --ready-timeout 90s, --ready-timeout 3m'],
            [["up", "--ready-timeout", "1h"], '--ready-timeout "1h" is not a duration: write it as whole seconds or minutes, e.g. --ready-timeout 90s, --ready-timeout 3m'],
            [["up", "--ready-timeout", "9s"], "--ready-timeout 9s is out of range: the workloads' readiness bound is 10 to 3600 seconds, e.g. --ready-timeout 180s"],
            [["up", "--ready-timeout", "61m"], "--ready-timeout 61m is out of range: the workloads' readiness bound is 10 to 3600 seconds, e.g. --ready-timeout 180s"],
            [["down", "--ready-timeout", "60s"], 'down does not take "--ready-timeout"'],
            [["up", "--lock-timeout", "0h"], "--lock-timeout 0h is out of range: more than 0 and at most 90 days, e.g. --lock-timeout 30m"],
            [["reap", "--aws-endpoint", "xhttp://127.0.0.1:4566"], '--aws-endpoint "xhttp://127.0.0.1:4566" is not a URL: e.g. --aws-endpoint http://127.0.0.1:4566'],
            [["reap", "--max-deletions", "12x"], '--max-deletions "12x" is not a whole number of items: e.g. --max-deletions 10 (0 removes nothing)'],
            [["reap", "--max-deletions", "10000"], '--max-deletions "10000" is not a whole number of items: e.g. --max-deletions 10 (0 removes nothing)'],
        ];
        for (const [argv, message] of cases) {
            assert.strictEqual(usageError(argv), message, argv.join(" "));
        }
    });

    it("reads each value at its bounds and in each written form", () => {
        const cases: [string[], Partial<ReturnType<typeof parseArgs>>][] = [
            [["up", "--ttl", "5h"], { ttlHours: 5 }],
            [["up", "--ttl", " 3d "], { ttlHours: 72 }],
            [["up", "--ttl", "1.25h"], { ttlHours: 1.25 }],
            [["reap", "--min-age", "90d"], { minAgeMinutes: 129_600 }],
            [["reap", "--min-age", "1m"], { minAgeMinutes: 1 }],
            [["reap", "--lock-timeout", "5m"], { lockTimeoutMinutes: 5 }],
            [["up", "--ready-timeout", "10s"], { readyTimeoutSeconds: 10 }],
            [["up", "--ready-timeout= 60m "], { readyTimeoutSeconds: 3600 }],
            [["up", "--ready-timeout", "3m"], { readyTimeoutSeconds: 180 }],
            [["outputs", "--format", "json"], { format: "json" }],
            [["outputs", "--format=dotenv"], { format: "dotenv" }],
            [["diff", "--branch", "feature/x", "--json"], { branch: "feature/x", json: true }],
            [["diff", "--pr", "12", "--source-repo", "a/b"], { pullRequest: 12, sourceRepo: "a/b" }],
            [["reap", "--aws-endpoint", "http://127.0.0.1:4566//"], { awsEndpoint: "http://127.0.0.1:4566" }],
            [["reap", "--max-deletions", "25"], { maxDeletions: 25 }],
            [["reap", "--max-deletions", "9999"], { maxDeletions: 9999 }],
        ];
        for (const [argv, expected] of cases) {
            const command = argv[0] as ReturnType<typeof parseArgs>["command"];
            assert.deepStrictEqual(parseArgs(argv), { command, ...defaults, ...expected }, argv.join(" "));
        }
    });
});

describe("cli: the stack of a branch", () => {
    // up, down and outputs all resolve the branch this way and name its stack with naming.stackName.
    const stackOf = (argv: string[]): string => stackName(refKey(resolveBranch(parseArgs(argv))));

    it("never opens the CI template stack: up/down --branch ci use ci-1b158839 (sha256 of ci)", () => {
        assert.strictEqual(stackOf(["up", "--branch", "ci", "--commit", "3f2a9c1"]), "ci-1b158839");
        assert.strictEqual(stackOf(["down", "--branch", "ci"]), "ci-1b158839");
    });

    it("gives a forged branch named like Feature/Login's stack a stack and out dir of its own", () => {
        assert.strictEqual(stackOf(["down", "--branch", "Feature/Login"]), "feature-login-1ce27709");
        assert.strictEqual(stackOf(["down", "--branch", "feature-login-1ce27709"]), "feature-login-1ce27709-57260eb3");
        assert.strictEqual(path.basename(defaultOutDir(stackOf(["up", "--branch", "feature-login-1ce27709"]))), "feature-login-1ce27709-57260eb3");
    });
});

describe("cli: which mirror a run is for", () => {
    const SHA = "3f2a9c1d0e4b5a6978877665544332211f0e0d0c";
    const noGit = (): undefined => undefined;
    const githubPr = { id: "github-actions", branch: "patch-1", commit: SHA, pullRequest: "12", sourceRepo: "alice/app" };

    it("keys a pull request's mirror by the request, and a branch's by the branch", () => {
        const pr = resolveRef({ branch: "patch-1", commit: SHA, pullRequest: 12, sourceRepo: "alice/app" }, undefined, noGit);
        assert.deepStrictEqual(pr, { branch: "patch-1", commit: SHA, pullRequest: { number: 12, sourceRepo: "alice/app" } });
        assert.strictEqual(refKey(pr), "pr:12:alice/app");
        assert.strictEqual(describeRef(pr), "pull request 12 of alice/app (branch patch-1)");
        assert.strictEqual(refFlags(pr), "--branch patch-1 --pr 12 --source-repo alice/app");
        const other = resolveRef({ branch: "patch-1", commit: SHA, pullRequest: 13, sourceRepo: "bob/app" }, undefined, noGit);
        assert.notStrictEqual(stackName(refKey(other)), stackName(refKey(pr)));
        assert.strictEqual(refKey(resolveRef({ branch: "patch-1" }, undefined, noGit)), "patch-1");
    });

    it("takes the pull request from CI only when the branch comes from CI too", () => {
        assert.deepStrictEqual(resolveRef({}, githubPr, noGit).pullRequest, { number: 12, sourceRepo: "alice/app" });
        assert.strictEqual(resolveRef({ branch: "feature/x" }, githubPr, noGit).pullRequest, undefined);
        assert.deepStrictEqual(resolveRef({ pullRequest: 5, sourceRepo: "c/d" }, githubPr, noGit), { branch: "patch-1", commit: SHA, pullRequest: { number: 5, sourceRepo: "c/d" } });
        assert.throws(() => resolveRef({}, { ...githubPr, sourceRepo: undefined }, noGit), {
            message: "CI (github-actions) gives pull request 12 but not the repository its branch comes from, without which two forks' branches of one name would share a mirror; set it with --source-repo OWNER/REPO",
        });
    });

    it("refuses a --branch that could pose as a pull request's key, before anything runs", () => {
        assert.throws(() => resolveRef({ branch: "pr:12:alice/app" }, undefined, noGit), { message: /^branch "pr:12:alice\/app" contains ":", which git does not allow in branch names/ });
    });
});

describe("cli: TTL and expiry", () => {
    it("parses minutes, hours, days and bare hours", () => {
        assert.strictEqual(parseTtl("90m"), 1.5);
        assert.strictEqual(parseTtl("72h"), 72);
        assert.strictEqual(parseTtl("3d"), 72);
        assert.strictEqual(parseTtl("12"), 12);
    });

    it("rejects what is not a duration or out of range", () => {
        assert.throws(() => parseTtl("soon"), { message: /--ttl "soon" is not a duration/ });
        assert.throws(() => parseTtl("0h"), { message: /out of range/ });
        assert.throws(() => parseTtl("91d"), { message: /out of range/ });
    });

    it("stamps the expiry to the second in UTC", () => {
        assert.strictEqual(expiryFrom(new Date("2026-11-25T06:00:00.400Z"), 72), "2026-11-28T06:00:00Z");
        assert.strictEqual(expiryFrom(new Date("2026-12-31T23:30:00Z"), 1.5), "2027-01-01T01:00:00Z");
    });
});

describe("cli: outputs for test runners", () => {
    const outputs = {
        namespace: { value: "pm-feature-x", secret: false },
        registryAuth: { value: "hunter2", secret: true },
        runnerEnv: { value: { GATEWAY_URL: "http://gateway.pm-x.svc.cluster.local:8000", NOTE: "two words" }, secret: false },
    };

    it("masks every secret output in JSON", () => {
        const plain = plainOutputs(outputs);
        assert.strictEqual(plain.registryAuth, "[secret]", "the mask a reader of the JSON sees");
        assert.ok(!JSON.stringify(plain).includes("hunter2"));
        assert.strictEqual(plain.namespace, "pm-feature-x");
    });

    it("writes runnerEnv as dotenv, every value single-quoted", () => {
        assert.strictEqual(toDotenv(runnerEnvOf(outputs)), "GATEWAY_URL='http://gateway.pm-x.svc.cluster.local:8000'\nNOTE='two words'\n");
    });

    it("refuses a variable name a dotenv parser cannot read", () => {
        assert.throws(() => toDotenv({ "BAD-NAME": "x" }), { message: /"BAD-NAME" .* not a valid variable name/ });
    });

    it("refuses to write a secret runnerEnv", () => {
        assert.throws(() => runnerEnvOf({ runnerEnv: { value: { A: "b" }, secret: true } }), { message: /runnerEnv output is secret/ });
    });

    it("gives no variables for a stack without runnerEnv", () => {
        assert.deepStrictEqual(runnerEnvOf({}), {});
    });
});

describe("cli: local environment description", () => {
    it("expands $PATH in shellenv lines and ignores other lines", () => {
        const vars = parseShellEnv('export PATH="/c/bin:$PATH"\n# note\nexport KUBECONFIG="/s/k"\nexport N=1\n', "/usr/bin");
        assert.deepStrictEqual(vars, { PATH: "/c/bin:/usr/bin", KUBECONFIG: "/s/k", N: "1" });
    });

    it("reads credentials.env lines, unquoting values", () => {
        assert.deepStrictEqual(parseDotenvFile("REGISTRY_USERNAME=prod-mirror\n\nREGISTRY_PASSWORD='p=w'\n"), { REGISTRY_USERNAME: "prod-mirror", REGISTRY_PASSWORD: "p=w" });
    });
});

describe("cli: a mirrors directory of its own (the test suites' isolation)", () => {
    const shell = { PROD_MIRROR_STATE: "/s/prod-mirror", PULUMI_HOME: "/s/prod-mirror/pulumi-home", PULUMI_BACKEND_URL: "file:///s/prod-mirror/pulumi-backend" };

    it("keeps the mirrors in the state directory unless PROD_MIRROR_MIRRORS_DIR names another", () => {
        assert.strictEqual(mirrorsDirFrom("/s/prod-mirror", {}), "/s/prod-mirror");
        assert.strictEqual(mirrorsDirFrom("/s/prod-mirror", { PROD_MIRROR_MIRRORS_DIR: "" }), "/s/prod-mirror");
        assert.strictEqual(mirrorsDirFrom("/s/prod-mirror", { PROD_MIRROR_MIRRORS_DIR: "/tmp/t1" }), "/tmp/t1");
        assert.throws(() => mirrorsDirFrom("/s/prod-mirror", { PROD_MIRROR_MIRRORS_DIR: "t1" }), {
            message: 'PROD_MIRROR_MIRRORS_DIR "t1" is not an absolute path: give one, e.g. PROD_MIRROR_MIRRORS_DIR=/tmp/my-mirrors',
        });
    });

    it("moves the backend and the CLI's PULUMI_HOME into it, and nothing else of the environment", () => {
        assert.deepStrictEqual(cliEnvFrom(shell, "/tmp/t1"), {
            PROD_MIRROR_STATE: "/s/prod-mirror",
            PULUMI_HOME: "/tmp/t1/cli/pulumi-home",
            PULUMI_BACKEND_URL: "file:///tmp/t1/pulumi-backend",
        });
        assert.deepStrictEqual(cliEnvFrom(shell, "/s/prod-mirror"), { ...shell, PULUMI_HOME: "/s/prod-mirror/cli/pulumi-home" });
    });
});

describe("cli: its own PULUMI_HOME, so a person's selected stack never changes", () => {
    it("points PULUMI_HOME under the state directory, away from the one shellenv gives a shell", () => {
        const shell = { PROD_MIRROR_STATE: "/s/prod-mirror", PULUMI_HOME: "/s/prod-mirror/pulumi-home", PATH: "/c/bin:/usr/bin" };
        assert.deepStrictEqual(cliEnvFrom(shell), { PROD_MIRROR_STATE: "/s/prod-mirror", PULUMI_HOME: "/s/prod-mirror/cli/pulumi-home", PATH: "/c/bin:/usr/bin" });
        assert.strictEqual(cliPulumiHome("/s/prod-mirror"), "/s/prod-mirror/cli/pulumi-home");
    });

    it("differs from the PULUMI_HOME the real local/env.sh shellenv exports", () => {
        const shell = parseShellEnv(execFileSync("bash", [path.join(repoRoot, "local", "env.sh"), "shellenv"], { encoding: "utf8" }), "/usr/bin");
        const env = cliEnvFrom(shell);
        assert.strictEqual(env.PULUMI_HOME, path.join(shell.PROD_MIRROR_STATE, "cli", "pulumi-home"));
        assert.notStrictEqual(env.PULUMI_HOME, shell.PULUMI_HOME);
        assert.ok(!env.PULUMI_HOME.startsWith(`${shell.PULUMI_HOME}/`));
    });

    it("refuses a shellenv without the state directory or PULUMI_HOME", () => {
        assert.throws(() => cliEnvFrom({ PULUMI_HOME: "/h" }), { message: "'bash local/env.sh shellenv' did not export PROD_MIRROR_STATE" });
        assert.throws(() => cliEnvFrom({ PROD_MIRROR_STATE: "/s" }), { message: "'bash local/env.sh shellenv' did not export PULUMI_HOME, where the kubernetes plugin is installed" });
    });

    describe("preparePulumiHome", () => {
        let dir: string;
        beforeEach(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "pm-home-"));
        });
        afterEach(() => {
            fs.rmSync(dir, { recursive: true, force: true });
        });

        it("shares the plugins, including ones installed later, and nothing else", () => {
            const shared = path.join(dir, "shared");
            const home = path.join(dir, "cli", "pulumi-home");
            fs.mkdirSync(path.join(shared, "workspaces"), { recursive: true });
            fs.writeFileSync(path.join(shared, "workspaces", "selected.json"), "{}");
            preparePulumiHome(home, shared);
            fs.mkdirSync(path.join(shared, "plugins", "resource-kubernetes-v4.25.0"), { recursive: true });
            assert.deepStrictEqual(fs.readdirSync(path.join(home, "plugins")), ["resource-kubernetes-v4.25.0"]);
            assert.deepStrictEqual(fs.readdirSync(home), ["plugins"]);
            assert.strictEqual(fs.statSync(home).mode & 0o777, 0o700);
        });

        it("is idempotent and repoints a link to another home's plugins", () => {
            const home = path.join(dir, "home");
            preparePulumiHome(home, path.join(dir, "old"));
            preparePulumiHome(home, path.join(dir, "new"));
            preparePulumiHome(home, path.join(dir, "new"));
            assert.strictEqual(fs.readlinkSync(path.join(home, "plugins")), path.join(dir, "new", "plugins"));
        });
    });
});

describe("cli: image step", () => {
    const app = {
        services: [
            { name: "api", port: 8080, build: { context: "app", dockerfile: "app/api/Dockerfile", args: { A: "1" } } },
            { name: "web", port: 8082, image: "nginx:{tag}" },
            { name: "worker", port: 8081, build: { context: "app/worker", args: {} } },
        ],
        cloud: { queues: [], buckets: [], tables: [] },
    } as unknown as AppSpec;

    it("plans one build per service with a build section, pushed under the branch tag", () => {
        const builds = plannedImageBuilds(app, "127.0.0.1:5000", "prod-mirror", "feature-x-3f2a9c1", "/repo");
        assert.deepStrictEqual(builds, [
            { service: "api", context: "/repo/app", dockerfile: "/repo/app/api/Dockerfile", args: { A: "1" }, ref: "127.0.0.1:5000/prod-mirror/api:feature-x-3f2a9c1" },
            { service: "worker", context: "/repo/app/worker", dockerfile: path.join("/repo/app/worker", "Dockerfile"), args: {}, ref: "127.0.0.1:5000/prod-mirror/worker:feature-x-3f2a9c1" },
        ]);
    });

    it("with production's own deployment, plans one build per image rule with a build, and none for the services", () => {
        const deployed = {
            ...app,
            services: [],
            deployment: { kind: "kustomize", directory: "app/deploy/production" },
            images: [
                { production: "registry.example.com/deals/api", service: "api", build: { context: "app", dockerfile: "app/api/Dockerfile", args: {} } },
                { production: "registry.example.com/deals/ext", service: "ext" },
            ],
        } as unknown as AppSpec;
        assert.deepStrictEqual(plannedImageBuilds(deployed, "127.0.0.1:5000", "prod-mirror", "t", "/repo"), [
            { service: "api", context: "/repo/app", dockerfile: "/repo/app/api/Dockerfile", args: {}, ref: "127.0.0.1:5000/prod-mirror/api:t" },
        ]);
    });
});
