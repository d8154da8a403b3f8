// Command-line parsing for `prod-mirror`, as pure functions so that every error text is tested.
import { PULL_REQUEST_NUMBER, SOURCE_REPO } from "../components/branch-context";
import { DEFAULT_TTL_HOURS, ttlProblem } from "../components/expiry";
import { DEFAULT_READY_TIMEOUT_SECONDS, readyTimeoutProblem } from "../components/ready-timeout";
import { DEFAULT_MAX_DELETIONS, DEFAULT_MIN_AGE_MINUTES } from "./reap/plan";

export const COMMANDS = ["up", "down", "outputs", "diff", "ls", "reap", "doctor"] as const;
export type Command = (typeof COMMANDS)[number];

export interface ParsedArgs {
    command: Command;
    branch?: string;
    commit?: string;
    /** `--pr N --source-repo R`: the pull request that keys the mirror (always given together). */
    pullRequest?: number;
    sourceRepo?: string;
    /** Hours the mirror lives after this `up`. */
    ttlHours: number;
    /** `up --ready-timeout`: sets the stack's prod-mirror:readyTimeoutSeconds. Default: the stack's (or the program's default). */
    readyTimeoutSeconds?: number;
    format: "json" | "dotenv";
    /** Start port-forwards to the services after `up`. */
    forward: boolean;
    outDir?: string;
    /** How long `up`/`down` wait for another run on the same stack before giving up. */
    lockTimeoutMinutes: number;
    /** `ls --json`. */
    json: boolean;
    /**
     * `down --forget-state`: remove the mirror's stack without a destroy and without touching the
     * cluster (for a cluster that is gone), and print what may remain.
     */
    forgetState: boolean;
    /** `reap --dry-run`: report what would be removed, remove nothing. */
    dryRun: boolean;
    /** `reap`: where to look for AWS resources tagged with a stack (default: none, or $AWS_ENDPOINT_URL). */
    awsEndpoint?: string;
    awsRegion?: string;
    /** `reap --min-age`: an orphan younger than this many minutes is kept. Default: DEFAULT_MIN_AGE_MINUTES. */
    minAgeMinutes: number;
    /** `reap --max-deletions`: removals in one run at most. Default: DEFAULT_MAX_DELETIONS. */
    maxDeletions: number;
    /** `--kubeconfig PATH`: an external target's cluster (cli/target.ts). */
    kubeconfig?: string;
    /** `--context NAME`: the context of that kubeconfig (default: its current one). */
    context?: string;
    /** `up --registry-password-stdin`: the push password (with PROD_MIRROR_REGISTRY_USER) is read from standard input. */
    registryPasswordStdin: boolean;
}

export const DEFAULT_LOCK_TIMEOUT_MINUTES = 30;

export { DEFAULT_TTL_HOURS };

/**
 * Each command's lines of the usage, in the order USAGE lists them, and the notes that apply to
 * several: the one text `--help` prints, whole (USAGE) or for one command (usageOf).
 */
const COMMAND_USAGE: Record<Command, string> = {
    up: `  up       [--branch B] [--commit SHA] [--ttl 72h] [--ready-timeout 3m] [--no-forward] [--out-dir DIR]
           create or update the mirror of a branch (default: the checked-out one); --ready-timeout bounds
           the wait for each workload to become ready (kept in the stack as prod-mirror:readyTimeoutSeconds);
           --registry-password-stdin reads the push password of PROD_MIRROR_REGISTRY_USER from standard input`,
    down: `  down     [--branch B] [--forget-state]
                                        destroy the mirror and remove its stack; when its cluster is gone for
                                        good, --forget-state removes the stack without touching any cluster and
                                        prints what may remain (namespace, every recorded object and AWS resource)`,
    outputs: `  outputs  [--branch B] [--format json|dotenv]
                                        print the mirror's outputs for a test runner`,
    diff: "  diff     [--branch B] [--json]        every field the mirror changed from production's objects, and why",
    ls: "  ls       [--json]                     live mirrors: branch, stack, age, expiry, status, entry URL",
    reap: `  reap     [--dry-run] [--aws-endpoint URL] [--aws-region R] [--min-age 30m] [--max-deletions 10]
                                        destroy expired mirrors, and this installation's orphan namespaces and
                                        AWS resources older than --min-age; at most --max-deletions per run`,
    doctor: `  doctor   [--registry-password-stdin]  check the target (its toolchain, cluster, registry, backend and emulator)
                                        and say how to fix each part`,
};
const PULL_REQUEST_NOTE = `  up, down, outputs and diff also take --pr N --source-repo OWNER/REPO: the mirror of pull request N,
           whose branch B comes from repository OWNER/REPO (a fork's own); default: the CI's`;
const LOCK_NOTE = "up and down wait for another run on the same branch: --lock-timeout 30m (0 = fail at once)";
const TARGET_NOTE = `target: the local default unless the environment names another (KUBECONFIG, PROD_MIRROR_REGISTRY or
  CI_REGISTRY, PULUMI_BACKEND_URL; PROD_MIRROR_TARGET=local|external forces one; see the README's
  "Your own cluster"). Every command takes --kubeconfig PATH and --context NAME for the cluster`;
const TAKES_PULL_REQUEST: readonly Command[] = ["up", "down", "outputs", "diff"];
const WAITS_FOR_LOCK: readonly Command[] = ["up", "down"];

export const USAGE = [
    "usage: prod-mirror <command> [options]",
    ...(["up", "down", "outputs", "diff"] as const).map((c) => COMMAND_USAGE[c]),
    PULL_REQUEST_NOTE,
    ...(["ls", "reap", "doctor"] as const).map((c) => COMMAND_USAGE[c]),
    LOCK_NOTE,
    TARGET_NOTE,
].join("\n");

/** One command's usage: its lines of USAGE and the notes that apply to it. */
export function usageOf(command: Command): string {
    return [
        `usage: prod-mirror ${command} [options]`,
        COMMAND_USAGE[command],
        ...(TAKES_PULL_REQUEST.includes(command) ? [PULL_REQUEST_NOTE] : []),
        ...(WAITS_FOR_LOCK.includes(command) ? [LOCK_NOTE] : []),
        TARGET_NOTE,
    ].join("\n");
}

/**
 * What a request for help prints (see helpRequested): the command's usage for `prod-mirror up --help`
 * and `prod-mirror help up`, the whole usage otherwise (`--help`, `help`, an unknown command).
 */
export function helpText(argv: string[]): string {
    const [first, second] = argv;
    const command = first === "help" ? second : first;
    return (COMMANDS as readonly string[]).includes(command ?? "") ? usageOf(command as Command) : USAGE;
}

export class UsageError extends Error {
    constructor(message: string) {
        super(`${message}\n${USAGE}`);
        this.name = "UsageError";
    }
}

/** `72h`, `3d`, `90m` or a bare number of hours, to hours. */
function parseDuration(text: string, flag: string): number {
    const m = /^(\d+(?:\.\d+)?)([mhd]?)$/.exec(text.trim());
    if (!m) {
        throw new UsageError(`${flag} ${JSON.stringify(text)} is not a duration: write it as minutes, hours or days, e.g. ${flag} 90m, ${flag} 72h, ${flag} 3d`);
    }
    return Number(m[1]) * ({ m: 1 / 60, h: 1, d: 24, "": 1 } as Record<string, number>)[m[2]];
}

/** `--ttl`: a duration within the one lifetime range (components/expiry.ts). */
export function parseTtl(text: string): number {
    const hours = parseDuration(text, "--ttl");
    const problem = ttlProblem(hours);
    if (problem !== undefined) {
        throw new UsageError(`--ttl ${text} is out of range: ${problem}, e.g. --ttl ${DEFAULT_TTL_HOURS}h`);
    }
    return hours;
}

/** `--ready-timeout`: `90s` or `3m`, within the one readiness range (components/ready-timeout.ts), to seconds. */
export function parseReadyTimeout(text: string): number {
    const m = /^(\d+)([sm])$/.exec(text.trim());
    if (!m) {
        throw new UsageError(`--ready-timeout ${JSON.stringify(text)} is not a duration: write it as whole seconds or minutes, e.g. --ready-timeout 90s, --ready-timeout 3m`);
    }
    const seconds = Number(m[1]) * (m[2] === "m" ? 60 : 1);
    const problem = readyTimeoutProblem(seconds);
    if (problem !== undefined) {
        throw new UsageError(`--ready-timeout ${text} is out of range: ${problem}, e.g. --ready-timeout ${DEFAULT_READY_TIMEOUT_SECONDS}s`);
    }
    return seconds;
}

/** A waiting or age bound (`--lock-timeout`, `--min-age`): more than 0 and at most 90 days, in minutes. */
function parseMinutes(text: string, flag: string): number {
    const hours = parseDuration(text, flag);
    if (hours <= 0 || hours > 24 * 90) {
        throw new UsageError(`${flag} ${text} is out of range: more than 0 and at most 90 days, e.g. ${flag} 30m`);
    }
    return hours * 60;
}

/** When a mirror updated at `now` with a TTL of `ttlHours` expires, ISO 8601 in UTC to the second. */
export function expiryFrom(now: Date, ttlHours: number): string {
    return new Date(Math.round(now.getTime() / 1000) * 1000 + ttlHours * 3_600_000).toISOString().replace(/\.000Z$/, "Z");
}

/**
 * Whether the command line asks for the usage (`prod-mirror --help`, `prod-mirror up -h`): an answer
 * on stdout with exit 0, not a usage error. No value can be mistaken for it: git refuses branch
 * names that start with "-", and no other value of these flags does.
 */
export function helpRequested(argv: string[]): boolean {
    const [command, ...rest] = argv;
    return ["help", "--help", "-h"].includes(command ?? "") || rest.some((arg) => arg === "--help" || arg === "-h");
}

export function parseArgs(argv: string[]): ParsedArgs {
    const [command, ...rest] = argv;
    if (command === undefined) {
        throw new UsageError("no command given");
    }
    if (!(COMMANDS as readonly string[]).includes(command)) {
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
    const parsed: ParsedArgs = {
        command: command as Command,
        ttlHours: DEFAULT_TTL_HOURS,
        format: "json",
        forward: true,
        lockTimeoutMinutes: DEFAULT_LOCK_TIMEOUT_MINUTES,
        json: false,
        dryRun: false,
        forgetState: false,
        registryPasswordStdin: false,
        minAgeMinutes: DEFAULT_MIN_AGE_MINUTES,
        maxDeletions: DEFAULT_MAX_DELETIONS,
    };
    const target = ["--kubeconfig", "--context"];
    const allowed: Record<Command, string[]> = {
        up: ["--branch", "--commit", "--pr", "--source-repo", "--ttl", "--ready-timeout", "--no-forward", "--out-dir", "--lock-timeout", "--registry-password-stdin", ...target],
        down: ["--branch", "--pr", "--source-repo", "--lock-timeout", "--forget-state", ...target],
        outputs: ["--branch", "--pr", "--source-repo", "--format", ...target],
        diff: ["--branch", "--pr", "--source-repo", "--json", ...target],
        ls: ["--json", ...target],
        reap: ["--dry-run", "--aws-endpoint", "--aws-region", "--lock-timeout", "--min-age", "--max-deletions", ...target],
        doctor: ["--registry-password-stdin", ...target],
    };
    const switches: Record<string, (p: ParsedArgs) => void> = {
        "--no-forward": (p) => (p.forward = false),
        "--json": (p) => (p.json = true),
        "--dry-run": (p) => (p.dryRun = true),
        "--forget-state": (p) => (p.forgetState = true),
        "--registry-password-stdin": (p) => (p.registryPasswordStdin = true),
    };
    for (let i = 0; i < rest.length; i++) {
        const [flag, inline] = rest[i].split(/=(.*)/s, 2);
        if (!allowed[parsed.command].includes(flag)) {
            throw new UsageError(`${command} does not take ${JSON.stringify(rest[i])}`);
        }
        if (flag in switches) {
            if (inline !== undefined) {
                throw new UsageError(`${flag} takes no value`);
            }
            switches[flag](parsed);
            continue;
        }
        const value = inline ?? rest[++i];
        if (value === undefined || value === "") {
            throw new UsageError(`${flag} needs a value`);
        }
        switch (flag) {
            case "--branch":
                parsed.branch = value;
                break;
            case "--kubeconfig":
                parsed.kubeconfig = value;
                break;
            case "--context":
                parsed.context = value;
                break;
            case "--pr":
                if (!PULL_REQUEST_NUMBER.test(value)) {
                    throw new UsageError(`--pr ${JSON.stringify(value)} is not a pull request number: e.g. --pr 42`);
                }
                parsed.pullRequest = Number(value);
                break;
            case "--source-repo":
                if (!SOURCE_REPO.test(value)) {
                    throw new UsageError(`--source-repo ${JSON.stringify(value)} is not a repository path: e.g. --source-repo owner/repo (GitLab: group/project)`);
                }
                parsed.sourceRepo = value;
                break;
            case "--commit":
                if (!/^[0-9a-fA-F]{7,40}$/.test(value)) {
                    throw new UsageError(`--commit ${JSON.stringify(value)} is not a commit SHA: give 7 to 40 hex digits, e.g. --commit 3f2a9c1`);
                }
                parsed.commit = value.toLowerCase();
                break;
            case "--ttl":
                parsed.ttlHours = parseTtl(value);
                break;
            case "--ready-timeout":
                parsed.readyTimeoutSeconds = parseReadyTimeout(value);
                break;
            case "--format":
                if (value !== "json" && value !== "dotenv") {
                    throw new UsageError(`--format ${JSON.stringify(value)} is not known: use --format json or --format dotenv`);
                }
                parsed.format = value;
                break;
            case "--out-dir":
                parsed.outDir = value;
                break;
            case "--lock-timeout":
                parsed.lockTimeoutMinutes = value === "0" ? 0 : parseMinutes(value, "--lock-timeout");
                break;
            case "--aws-endpoint":
                if (!/^https?:\/\/[^\s/]+/.test(value)) {
                    throw new UsageError(`--aws-endpoint ${JSON.stringify(value)} is not a URL: e.g. --aws-endpoint http://127.0.0.1:4566`);
                }
                parsed.awsEndpoint = value.replace(/\/+$/, "");
                break;
            case "--aws-region":
                parsed.awsRegion = value;
                break;
            case "--min-age":
                parsed.minAgeMinutes = value === "0" ? 0 : parseMinutes(value, "--min-age");
                break;
            case "--max-deletions":
                if (!/^\d{1,4}$/.test(value)) {
                    throw new UsageError(`--max-deletions ${JSON.stringify(value)} is not a whole number of items: e.g. --max-deletions 10 (0 removes nothing)`);
                }
                parsed.maxDeletions = Number(value);
                break;
        }
    }
    if ((parsed.pullRequest === undefined) !== (parsed.sourceRepo === undefined)) {
        throw new UsageError(
            parsed.pullRequest === undefined
                ? `--source-repo needs --pr: the number of the pull request whose branch lives in ${parsed.sourceRepo}`
                : `--pr ${parsed.pullRequest} needs --source-repo: the repository its branch lives in (for a fork, the fork), ` +
                      "without which two forks' branches of one name would share a mirror",
        );
    }
    return parsed;
}
