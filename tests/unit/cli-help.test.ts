// `prod-mirror --help` and `prod-mirror <command> --help`: the usage on stdout and exit 0, the whole
// usage or one command's, never a usage error. Pure cases through helpText, and the real command once.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { COMMANDS, helpRequested, helpText, parseArgs, USAGE, usageOf, type Command } from "../../cli/args";

const root = path.resolve(__dirname, "..", "..");

const UP_USAGE = `usage: prod-mirror up [options]
  up       [--branch B] [--commit SHA] [--ttl 72h] [--ready-timeout 3m] [--no-forward] [--out-dir DIR]
           create or update the mirror of a branch (default: the checked-out one); --ready-timeout bounds
           the wait for each workload to become ready (kept in the stack as prod-mirror:readyTimeoutSeconds);
           --registry-password-stdin reads the push password of PROD_MIRROR_REGISTRY_USER from standard input
  up, down, outputs and diff also take --pr N --source-repo OWNER/REPO: the mirror of pull request N,
           whose branch B comes from repository OWNER/REPO (a fork's own); default: the CI's
up and down wait for another run on the same branch: --lock-timeout 30m (0 = fail at once)
target: the local default unless the environment names another (KUBECONFIG, PROD_MIRROR_REGISTRY or
  CI_REGISTRY, PULUMI_BACKEND_URL; PROD_MIRROR_TARGET=local|external forces one; see the README's
  "Your own cluster"). Every command takes --kubeconfig PATH and --context NAME for the cluster`;

const LS_USAGE = `usage: prod-mirror ls [options]
  ls       [--json]                     live mirrors: branch, stack, age, expiry, status, entry URL
target: the local default unless the environment names another (KUBECONFIG, PROD_MIRROR_REGISTRY or
  CI_REGISTRY, PULUMI_BACKEND_URL; PROD_MIRROR_TARGET=local|external forces one; see the README's
  "Your own cluster"). Every command takes --kubeconfig PATH and --context NAME for the cluster`;

/** A valid use of each flag the usage shows (--pr and --source-repo only go together). */
const FLAG_USE: Record<string, string[]> = {
    "--branch": ["--branch", "feature/login"],
    "--commit": ["--commit", "3f2a9c1"],
    "--pr": ["--pr", "12", "--source-repo", "alice/app"],
    "--source-repo": ["--pr", "12", "--source-repo", "alice/app"],
    "--ttl": ["--ttl", "72h"],
    "--ready-timeout": ["--ready-timeout", "3m"],
    "--no-forward": ["--no-forward"],
    "--out-dir": ["--out-dir", "out"],
    "--forget-state": ["--forget-state"],
    "--format": ["--format", "dotenv"],
    "--json": ["--json"],
    "--dry-run": ["--dry-run"],
    "--aws-endpoint": ["--aws-endpoint", "http://127.0.0.1:4566"],
    "--aws-region": ["--aws-region", "us-east-1"],
    "--min-age": ["--min-age", "30m"],
    "--max-deletions": ["--max-deletions", "10"],
    "--lock-timeout": ["--lock-timeout", "30m"],
    "--kubeconfig": ["--kubeconfig", "team.kubeconfig"],
    "--context": ["--context", "ci"],
    "--registry-password-stdin": ["--registry-password-stdin"],
};

const flagsIn = (text: string): string[] => [...new Set(text.match(/--[a-z][a-z-]*/g) ?? [])].sort();

describe("cli: --help", () => {
    it("prints the whole usage for --help, -h, help, and for an unknown command asking for help", () => {
        for (const argv of [["--help"], ["-h"], ["help"], ["help", "nope"], ["nope", "--help"], ["--help", "up"]]) {
            assert.ok(helpRequested(argv), argv.join(" "));
            assert.strictEqual(helpText(argv), USAGE, argv.join(" "));
        }
        assert.strictEqual(USAGE.split("\n")[0], "usage: prod-mirror <command> [options]");
    });

    it("prints one command's usage for `<command> --help`, `<command> -h` after other flags, and `help <command>`", () => {
        assert.strictEqual(helpText(["up", "--help"]), UP_USAGE);
        assert.strictEqual(helpText(["up", "--branch", "x", "-h"]), UP_USAGE);
        assert.strictEqual(helpText(["help", "up"]), UP_USAGE);
        assert.strictEqual(helpText(["ls", "-h"]), LS_USAGE);
        assert.strictEqual(helpText(["reap", "--dry-run", "--help"]), usageOf("reap"));
    });

    it("gives every command a usage made of USAGE's own lines, so the two cannot drift", () => {
        const lines = new Set(USAGE.split("\n"));
        for (const command of COMMANDS) {
            const [first, ...rest] = usageOf(command).split("\n");
            assert.strictEqual(first, `usage: prod-mirror ${command} [options]`);
            assert.ok(rest.length > 0 && rest[0].startsWith(`  ${command} `), `${command}: ${rest[0]}`);
            assert.deepStrictEqual(rest.filter((l) => !lines.has(l)), [], command);
        }
        // Every line of USAGE belongs to some command's usage.
        const covered = new Set(COMMANDS.flatMap((c) => usageOf(c).split("\n").slice(1)));
        assert.deepStrictEqual(USAGE.split("\n").slice(1).filter((l) => !covered.has(l)), []);
    });

    it("shows each command only flags it takes, and no flag of another command it refuses", () => {
        // reap takes --lock-timeout (how long it waits for a stack's run lock, at most a minute) though
        // no usage line shows it for reap: the lock note speaks of up and down.
        const unshown: Partial<Record<Command, string[]>> = { reap: ["--lock-timeout"] };
        const everyFlag = flagsIn(USAGE);
        assert.deepStrictEqual(everyFlag.filter((f) => !(f in FLAG_USE)), [], "a flag in USAGE without a sample use here");
        for (const command of COMMANDS) {
            const shown = flagsIn(usageOf(command));
            for (const flag of shown) {
                assert.doesNotThrow(() => parseArgs([command, ...FLAG_USE[flag]]), `${command} --help shows ${flag}`);
            }
            for (const flag of everyFlag.filter((f) => !shown.includes(f) && !(unshown[command] ?? []).includes(f))) {
                assert.throws(() => parseArgs([command, ...FLAG_USE[flag]]), { name: "UsageError" }, `${command} takes ${flag}, which its usage does not show`);
            }
        }
    });

    it("bin/prod-mirror.js: --help and up --help print on stdout and exit 0; no command is still a usage error (exit 2)", function () {
        this.timeout(60_000);
        const run = (args: string[]): [number | null, string, string] => {
            const r = spawnSync(process.execPath, [path.join(root, "bin", "prod-mirror.js"), ...args], { cwd: root, encoding: "utf8" });
            return [r.status, r.stdout, r.stderr];
        };
        assert.deepStrictEqual(run(["--help"]), [0, `${USAGE}\n`, ""]);
        assert.deepStrictEqual(run(["up", "--help"]), [0, `${UP_USAGE}\n`, ""]);
        assert.deepStrictEqual(run([]), [2, "", `prod-mirror: no command given\n${USAGE}\n`]);
    });
});
