// Command-line parsing for `prod-mirror`, as pure functions so that every error text is tested.

export const COMMANDS = ["up", "down", "outputs"] as const;
export type Command = (typeof COMMANDS)[number];

export interface ParsedArgs {
    command: Command;
    branch?: string;
    commit?: string;
    /** Hours the mirror lives after this `up`. */
    ttlHours: number;
    format: "json" | "dotenv";
    /** Start port-forwards to the services after `up`. */
    forward: boolean;
    outDir?: string;
}

export const DEFAULT_TTL_HOURS = 72;

export const USAGE = `usage: prod-mirror <command> [options]
  up       [--branch B] [--commit SHA] [--ttl 72h] [--no-forward] [--out-dir DIR]
           create or update the mirror of a branch (default: the checked-out one)
  down     [--branch B]                 destroy the mirror and remove its stack
  outputs  [--branch B] [--format json|dotenv]
                                        print the mirror's outputs for a test runner`;

export class UsageError extends Error {
    constructor(message: string) {
        super(`${message}\n${USAGE}`);
        this.name = "UsageError";
    }
}

/** `72h`, `3d`, `90m` or a bare number of hours, to hours. */
export function parseTtl(text: string): number {
    const m = /^(\d+(?:\.\d+)?)([mhd]?)$/.exec(text.trim());
    if (!m) {
        throw new UsageError(`--ttl ${JSON.stringify(text)} is not a duration: write it as minutes, hours or days, e.g. --ttl 90m, --ttl 72h, --ttl 3d`);
    }
    const hours = Number(m[1]) * ({ m: 1 / 60, h: 1, d: 24, "": 1 } as Record<string, number>)[m[2]];
    if (hours <= 0 || hours > 24 * 90) {
        throw new UsageError(`--ttl ${text} is out of range: a mirror lives more than 0 and at most 90 days, e.g. --ttl 72h`);
    }
    return hours;
}

/** When a mirror updated at `now` with a TTL of `ttlHours` expires, ISO 8601 in UTC to the second. */
export function expiryFrom(now: Date, ttlHours: number): string {
    return new Date(Math.round(now.getTime() / 1000) * 1000 + ttlHours * 3_600_000).toISOString().replace(/\.000Z$/, "Z");
}

export function parseArgs(argv: string[]): ParsedArgs {
    const [command, ...rest] = argv;
    if (command === undefined || command === "help" || command === "--help" || command === "-h") {
        throw new UsageError("no command given");
    }
    if (!(COMMANDS as readonly string[]).includes(command)) {
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
    const parsed: ParsedArgs = { command: command as Command, ttlHours: DEFAULT_TTL_HOURS, format: "json", forward: true };
    const allowed: Record<Command, string[]> = {
        up: ["--branch", "--commit", "--ttl", "--no-forward", "--out-dir"],
        down: ["--branch"],
        outputs: ["--branch", "--format"],
    };
    for (let i = 0; i < rest.length; i++) {
        const [flag, inline] = rest[i].split(/=(.*)/s, 2);
        if (!allowed[parsed.command].includes(flag)) {
            throw new UsageError(`${command} does not take ${JSON.stringify(rest[i])}`);
        }
        if (flag === "--no-forward") {
            parsed.forward = false;
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
            case "--commit":
                if (!/^[0-9a-fA-F]{7,40}$/.test(value)) {
                    throw new UsageError(`--commit ${JSON.stringify(value)} is not a commit SHA: give 7 to 40 hex digits, e.g. --commit 3f2a9c1`);
                }
                parsed.commit = value.toLowerCase();
                break;
            case "--ttl":
                parsed.ttlHours = parseTtl(value);
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
        }
    }
    return parsed;
}
