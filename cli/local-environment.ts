// The embedded local default: the environment `local/env.sh` builds and starts (cluster, registry,
// docker, emulator, Pulumi CLI with a file backend). The CLI and the tests reach it only through
// that script, exactly as a user would after `npm run local:up`.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** The project's directory: bin/prod-mirror.js says where when it runs a compiled copy from its cache. */
export const repoRoot = process.env.PROD_MIRROR_PROJECT_DIR ?? path.resolve(__dirname, "..");
const envScript = path.join(repoRoot, "local", "env.sh");

export interface RegistryCredentials {
    server: string;
    username: string;
    password: string;
}

export interface LocalEnvironment {
    /**
     * What `local/env.sh shellenv` exports, with $PATH expanded against the current PATH, except
     * PULUMI_HOME, which is the CLI's own (see cliPulumiHome).
     */
    env: Record<string, string>;
    /** Where the environment keeps its own state (its daemons' pid files, certificates, registry credentials). */
    stateDir: string;
    /**
     * Where the CLI keeps what belongs to the mirrors it drives: their Pulumi backend, run locks,
     * port-forward records and logs, and its own PULUMI_HOME. `$PROD_MIRROR_STATE` unless
     * `$PROD_MIRROR_MIRRORS_DIR` names another directory: the test suites give themselves one, so
     * they never see, lock or reap the mirrors a person keeps on the same local environment.
     */
    mirrorsDir: string;
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

/**
 * The CLI's own PULUMI_HOME. `pulumi stack select` records the selection in PULUMI_HOME/workspaces,
 * and the Automation API selects every stack it opens; sharing the PULUMI_HOME that shellenv gives
 * a person's shell would switch their selected stack under them on every run. Every command the
 * CLI runs passes --stack, so the CLI needs no selection of its own.
 */
export function cliPulumiHome(stateDir: string): string {
    return path.join(stateDir, "cli", "pulumi-home");
}

/** The mirrors directory (see LocalEnvironment.mirrorsDir): `$PROD_MIRROR_MIRRORS_DIR`, else the state directory. */
export function mirrorsDirFrom(stateDir: string, processEnv: NodeJS.ProcessEnv): string {
    const chosen = processEnv.PROD_MIRROR_MIRRORS_DIR;
    if (chosen === undefined || chosen === "") {
        return stateDir;
    }
    if (!path.isAbsolute(chosen)) {
        throw new Error(`PROD_MIRROR_MIRRORS_DIR ${JSON.stringify(chosen)} is not an absolute path: give one, e.g. PROD_MIRROR_MIRRORS_DIR=/tmp/my-mirrors`);
    }
    return chosen;
}

/**
 * The CLI's environment from what shellenv exports: the same, but with the CLI's own PULUMI_HOME,
 * and, for a mirrors directory of its own, the backend in it.
 */
export function cliEnvFrom(shell: Record<string, string>, mirrorsDir = shell.PROD_MIRROR_STATE): Record<string, string> {
    const stateDir = shell.PROD_MIRROR_STATE;
    if (!stateDir) {
        throw new Error("'bash local/env.sh shellenv' did not export PROD_MIRROR_STATE");
    }
    if (!shell.PULUMI_HOME) {
        throw new Error("'bash local/env.sh shellenv' did not export PULUMI_HOME, where the kubernetes plugin is installed");
    }
    const env: Record<string, string> = { ...shell, PULUMI_HOME: cliPulumiHome(mirrorsDir) };
    if (mirrorsDir !== stateDir) {
        env.PULUMI_BACKEND_URL = `file://${path.join(mirrorsDir, "pulumi-backend")}`;
    }
    return env;
}

/**
 * Makes `home` a PULUMI_HOME whose plugins are those of `sharedHome`, where local/parts/pulumi.sh
 * installs the kubernetes provider (automatic plugin downloads are off): a link, not a copy, so a
 * plugin the environment installs later is found too. Safe to run concurrently.
 */
export function preparePulumiHome(home: string, sharedHome: string): void {
    fs.mkdirSync(home, { recursive: true, mode: 0o700 });
    const link = path.join(home, "plugins");
    const target = path.join(sharedHome, "plugins");
    const current = ((): string | undefined => {
        try {
            return fs.readlinkSync(link);
        } catch {
            return undefined;
        }
    })();
    if (current === target) {
        return;
    }
    if (current !== undefined || fs.existsSync(link)) {
        fs.rmSync(link, { recursive: true, force: true });
    }
    try {
        fs.symlinkSync(target, link);
    } catch (err) {
        // Another CLI process made the same link between the check and here.
        if ((err as NodeJS.ErrnoException).code !== "EEXIST" || fs.readlinkSync(link) !== target) {
            throw err;
        }
    }
}

/**
 * The emulator image the local environment builds and pushes (local/parts/images.sh), under its
 * registry: `prod-mirror/moto:<tag>`. The program has no default for prod-mirror:emulatorImage; the
 * CLI sets this one, pinned by digest (cli/mirror.ts), and the doctor looks for it.
 */
export const LOCAL_EMULATOR_REPOSITORY = "prod-mirror/moto";

/**
 * The local emulator image's tag: MOTO_VERSION in local/versions.env, read where the environment's
 * build reads it, so a bump there needs no edit here.
 */
export function localEmulatorTag(versionsEnv = fs.readFileSync(path.join(repoRoot, "local", "versions.env"), "utf8")): string {
    const version = parseDotenvFile(versionsEnv).MOTO_VERSION;
    if (version === undefined || !/^[0-9A-Za-z_][0-9A-Za-z_.-]*$/.test(version)) {
        throw new Error(`local/versions.env has no usable MOTO_VERSION line (found ${JSON.stringify(version ?? null)}): ` +
            "the local emulator image is tagged with it; restore the line, e.g. MOTO_VERSION=5.2.5, from git");
    }
    return version;
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
    const shell = parseShellEnv(execFileSync("bash", [envScript, "shellenv"], { encoding: "utf8" }), process.env.PATH ?? "");
    const mirrorsDir = mirrorsDirFrom(shell.PROD_MIRROR_STATE ?? "", process.env);
    const env = cliEnvFrom(shell, mirrorsDir);
    const stateDir = env.PROD_MIRROR_STATE;
    if (mirrorsDir !== stateDir) {
        fs.mkdirSync(path.join(mirrorsDir, "pulumi-backend"), { recursive: true });
    }
    preparePulumiHome(env.PULUMI_HOME, shell.PULUMI_HOME);
    const credentialsFile = path.join(stateDir, "registry", "credentials.env");
    let credentials: Record<string, string> = {};
    if (fs.existsSync(credentialsFile)) {
        credentials = parseDotenvFile(fs.readFileSync(credentialsFile, "utf8"));
    }
    return {
        env,
        stateDir,
        mirrorsDir,
        registry: {
            server: env.PROD_MIRROR_REGISTRY ?? "127.0.0.1:5000",
            username: credentials.REGISTRY_PULL_USERNAME ?? "",
            password: credentials.REGISTRY_PULL_PASSWORD ?? "",
        },
    };
}
