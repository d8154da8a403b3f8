// The embedded local default: the environment `local/env.sh` builds and starts (cluster, registry,
// docker, emulator, Pulumi CLI with a file backend). The CLI and the tests reach it only through
// that script, exactly as a user would after `npm run local:up`.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const repoRoot = path.resolve(__dirname, "..");
const envScript = path.join(repoRoot, "local", "env.sh");

export interface RegistryCredentials {
    server: string;
    username: string;
    password: string;
}

export interface LocalEnvironment {
    /** What `local/env.sh shellenv` exports, with $PATH expanded against the current PATH. */
    env: Record<string, string>;
    /** Where the environment keeps its state (pid files, credentials, the Pulumi backend). */
    stateDir: string;
    /**
     * The registry's pull-only user: what a mirror's pull secret carries. Pushing is the engine's
     * business (local/parts/registry.sh logs it in as the push user), so the CLI never holds that password.
     */
    registry: RegistryCredentials;
}

/** Parses lines of `export NAME="value"` as printed by `local/env.sh shellenv`. */
export function parseShellEnv(text: string, currentPath: string): Record<string, string> {
    const vars: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const m = /^export ([A-Za-z_][A-Za-z0-9_]*)="?(.*?)"?$/.exec(line.trim());
        if (m) {
            vars[m[1]] = m[2].replace(/\$PATH/g, currentPath);
        }
    }
    return vars;
}

/** Parses `NAME=value` lines (the registry's credentials.env); ignores blanks and comments. */
export function parseDotenvFile(text: string): Record<string, string> {
    const vars: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
        if (m) {
            vars[m[1]] = m[2].trim().replace(/^(['"])(.*)\1$/, "$2");
        }
    }
    return vars;
}

/** Brings the local environment up (idempotent; builds what is missing) and describes it. */
export function ensureLocalEnvironment(): LocalEnvironment {
    // Progress goes to stderr so that stdout stays clean for machine-readable output.
    const up = spawnSync("bash", [envScript, "up"], { stdio: ["ignore", process.stderr, process.stderr] });
    if (up.status !== 0) {
        throw new Error(`the local environment did not come up ('bash local/env.sh up' exited ${up.status}); ` +
            `its logs are under ~/.local/state/prod-mirror/logs, and 'npm run local:status' says which part is down`);
    }
    return describeLocalEnvironment();
}

/** Describes the local environment without starting anything (for down, outputs, ls). */
export function describeLocalEnvironment(): LocalEnvironment {
    const env = parseShellEnv(execFileSync("bash", [envScript, "shellenv"], { encoding: "utf8" }), process.env.PATH ?? "");
    const stateDir = env.PROD_MIRROR_STATE;
    if (!stateDir) {
        throw new Error("'bash local/env.sh shellenv' did not export PROD_MIRROR_STATE");
    }
    const credentialsFile = path.join(stateDir, "registry", "credentials.env");
    let credentials: Record<string, string> = {};
    if (fs.existsSync(credentialsFile)) {
        credentials = parseDotenvFile(fs.readFileSync(credentialsFile, "utf8"));
    }
    return {
        env,
        stateDir,
        registry: {
            server: env.PROD_MIRROR_REGISTRY ?? "127.0.0.1:5000",
            username: credentials.REGISTRY_PULL_USERNAME ?? "",
            password: credentials.REGISTRY_PULL_PASSWORD ?? "",
        },
    };
}
