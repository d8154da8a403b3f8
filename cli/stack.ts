// One Pulumi stack per branch, on the configured backend, driven through the Automation API.
// Everything here is what `pulumi stack init/select`, `config set` and `up` do by hand.
import { spawn } from "child_process";
import * as path from "path";
import { LocalWorkspace, Stack, StackNotFoundError, type ConfigMap, type OutputMap } from "@pulumi/pulumi/automation";
import { PROJECT } from "../components/config-error";
import { repoRoot } from "./local-environment";
import { SECRET_MASK } from "./outputs";

/** Config the CLI writes into a branch's stack before each update. */
export interface StackSettings {
    branch: string;
    commit: string;
    /** Set for a pull request's mirror (see components/branch-context mirrorKey). */
    pullRequest?: string;
    sourceRepo?: string;
    /** Stamped by every `up`, so that each one extends the mirror's life (and a repeat is a no-op). */
    expiresAt: string;
    /** This CLI's installation (cli/installation.ts): every object of the mirror is labelled with it. */
    installation: string;
    registryUsername?: string;
    /** Written with `pulumi config set --secret` reading standard input, never on a command line. */
    registryPassword?: string;
    /** `external` when the image step built and pushed the images already. */
    imageBuilder?: "docker" | "external";
    /** `up --ready-timeout`; unset leaves the stack's own value. */
    readyTimeoutSeconds?: number;
}

/**
 * NODE_OPTIONS for the `pulumi` processes the CLI starts: the caller's own, and bin/program-preload.js
 * preloaded into the program's node (0.5 s off every update and preview). A `pulumi up` run by hand
 * runs the same program without it, only slower.
 */
export function programNodeOptions(callers: string | undefined, root = repoRoot): string {
    const preload = `--require ${JSON.stringify(path.join(root, "bin", "program-preload.js"))}`;
    return callers === undefined || callers.trim() === "" ? preload : `${callers} ${preload}`;
}

/** A workspace on the project, whose `pulumi` processes get programNodeOptions. */
function projectWorkspace(secretsProvider?: string): Promise<LocalWorkspace> {
    return LocalWorkspace.create({
        workDir: repoRoot,
        envVars: { NODE_OPTIONS: programNodeOptions(process.env.NODE_OPTIONS) },
        ...(secretsProvider === undefined ? {} : { secretsProvider }),
    });
}

/**
 * Creates the stack when it does not exist yet, otherwise selects it. `secretsProvider` (a KMS URL)
 * applies to a stack created here; an existing stack keeps its own. Unset: the passphrase provider
 * (or Pulumi Cloud's own).
 */
export async function openStack(stackName: string, secretsProvider?: string): Promise<Stack> {
    return (await openOrCreateStack(stackName, secretsProvider)).stack;
}

/**
 * openStack, saying whether the stack was created now: a new stack has no tags, no pending
 * operations and no lock to look for, and each look is a `pulumi` process. As the automation API's
 * createOrSelectStack: a select, and a create when the backend has no such stack.
 */
export async function openOrCreateStack(stackName: string, secretsProvider?: string): Promise<{ stack: Stack; created: boolean }> {
    const workspace = await projectWorkspace(secretsProvider);
    const existing = await selectExisting(stackName, workspace);
    return existing === undefined ? { stack: await Stack.create(stackName, workspace), created: true } : { stack: existing, created: false };
}

/** Selects an existing stack, or returns undefined when the backend has none by that name. */
export async function findStack(stackName: string): Promise<Stack | undefined> {
    return selectExisting(stackName, await projectWorkspace());
}

/** One `stack select`, which fails on a missing stack, rather than listing every stack first. */
async function selectExisting(stackName: string, workspace: LocalWorkspace): Promise<Stack | undefined> {
    try {
        return await Stack.select(stackName, workspace);
    } catch (err) {
        if (err instanceof StackNotFoundError) {
            return undefined;
        }
        throw err;
    }
}

/**
 * Writes the settings, and `also` (plain keys of this project), into the stack's config, skipping
 * what `current` already holds: one `pulumi config set-all` at most, and the secret only when it
 * changed (each `pulumi` process costs 0.3-1 s here). Returns the config as it now is.
 */
export async function configureStack(stack: Stack, settings: StackSettings, current: ConfigMap = {}, also: Record<string, string> = {}): Promise<ConfigMap> {
    const plain: Record<string, string | undefined> = {
        ...also,
        branch: settings.branch,
        commit: settings.commit,
        pullRequest: settings.pullRequest,
        sourceRepo: settings.sourceRepo,
        expiresAt: settings.expiresAt,
        installation: settings.installation,
        registryUsername: settings.registryUsername,
        imageBuilder: settings.imageBuilder,
        readyTimeoutSeconds: settings.readyTimeoutSeconds === undefined ? undefined : String(settings.readyTimeoutSeconds),
    };
    const changed = Object.fromEntries(
        Object.entries(plain).flatMap(([key, value]) => (value === undefined || current[`${PROJECT}:${key}`]?.value === value ? [] : [[`${PROJECT}:${key}`, { value }]])),
    );
    if (Object.keys(changed).length > 0) {
        await stack.setAllConfig(changed);
    }
    const now: ConfigMap = { ...current, ...Object.fromEntries(Object.entries(changed).map(([key, { value }]) => [key, { value, secret: false }])) };
    const passwordKey = `${PROJECT}:registryPassword`;
    if (settings.registryPassword !== undefined && current[passwordKey]?.value !== settings.registryPassword) {
        await setSecretFromStdin(stack.name, passwordKey, settings.registryPassword);
        now[passwordKey] = { value: settings.registryPassword, secret: true };
    }
    return now;
}

/**
 * `pulumi config set --secret KEY` with the value on standard input: the Automation API would put
 * it on the command line, where any local user can read it in the process table. Without blocking:
 * a new stack's tags are stamped meanwhile (cli/mirror.ts prepareMirror).
 */
export function setSecretFromStdin(stackName: string, key: string, value: string): Promise<void> {
    return new Promise((resolve, reject) => {
        const child = spawn("pulumi", ["config", "set", "--secret", key, "--stack", stackName, "--non-interactive"], { cwd: repoRoot, stdio: ["pipe", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
        child.on("error", (err) => reject(new Error(`pulumi config set --secret ${key} failed for stack ${stackName}: ${err.message}`)));
        child.on("close", (code) => {
            // The CLI never echoes the value it read, so its message is safe to show.
            if (code === 0) {
                resolve();
            } else {
                reject(new Error(`pulumi config set --secret ${key} failed for stack ${stackName}: ${stderr.trim()}`));
            }
        });
        // A pulumi that exits before reading says why on stderr, reported on close.
        child.stdin.on("error", () => undefined);
        child.stdin.end(value);
    });
}

/** Stack tags the CLI stamps, read back by `ls` and `reap` without opening the stack's state. */
export const TAGS = {
    branch: `${PROJECT}:branch`,
    commit: `${PROJECT}:commit`,
    createdAt: `${PROJECT}:createdAt`,
    expiresAt: `${PROJECT}:expiresAt`,
    entryUrl: `${PROJECT}:entryUrl`,
} as const;

/**
 * Stamps the given tags that differ from the stack's (each `up` extends the expiry), and createdAt
 * when the stack has none; returns the stack's tags as they now are. `known`: the tags as a previous
 * call returned them, which spares asking the backend again (a `pulumi` process). Never while an
 * update of the same stack runs: a file backend's tag write rewrites the stack's file.
 */
export async function stampTags(
    stack: Stack,
    tags: { branch?: string; commit?: string; expiresAt?: string; entryUrl?: string },
    known?: Record<string, string>,
    now = new Date(),
): Promise<Record<string, string>> {
    const workspace = stack.workspace;
    const existing = known ?? (await workspace.listTags(stack.name));
    const wanted: Record<string, string | undefined> = {
        [TAGS.branch]: tags.branch,
        [TAGS.commit]: tags.commit,
        [TAGS.expiresAt]: tags.expiresAt,
        [TAGS.entryUrl]: tags.entryUrl,
        [TAGS.createdAt]: existing[TAGS.createdAt] ?? now.toISOString().replace(/\.\d{3}Z$/, "Z"),
    };
    const tagsNow = { ...existing };
    for (const [key, value] of Object.entries(wanted)) {
        if (value !== undefined && existing[key] !== value) {
            await workspace.setTag(stack.name, key, value);
            tagsNow[key] = value;
        }
    }
    return tagsNow;
}

/** pulumi's output as it comes, and the run's abort signal. */
interface RunOptions {
    onOutput?: (out: string) => void;
    signal?: AbortSignal;
}

/** What the automation API's PulumiCommand does but does not declare (its d.ts omits it): run one `pulumi` command. */
interface RunnablePulumi {
    run(args: string[], cwd: string, env: Record<string, string>, onOutput?: (out: string) => void, onError?: (err: string) => void, signal?: AbortSignal): Promise<{ stdout: string; stderr: string }>;
}

/**
 * `pulumi <args> --stack <name>` as the automation API's Stack methods run it (the workspace's
 * binary, PULUMI_HOME, environment and directory; a failure is its CommandError; an abort sends
 * SIGINT), without what its up() and destroy() do after: `stack output` twice and `stack history`,
 * about 0.8 s after every update here, for a summary the CLI does not use.
 */
export async function runOnStack(stack: Stack, args: string[], opts: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
    const workspace = stack.workspace;
    const env: Record<string, string> = { ...(workspace.pulumiHome === undefined ? {} : { PULUMI_HOME: workspace.pulumiHome }), ...workspace.envVars };
    const pulumi = workspace.pulumiCommand as unknown as RunnablePulumi;
    return pulumi.run([...args, "--stack", stack.name], workspace.workDir, env, opts.onOutput, undefined, opts.signal);
}

/** `pulumi up` of the stack, then its outputs as `maskedOutputs` reads them. */
export async function updateStack(stack: Stack, opts: RunOptions = {}): Promise<OutputMap> {
    await runOnStack(stack, ["up", "--yes", "--skip-preview", "--exec-kind", "auto.local"], opts);
    return maskedOutputs(stack);
}

/** `pulumi destroy` of the stack (its resources; the stack itself stays). */
export async function destroyStack(stack: Stack, opts: RunOptions = {}): Promise<void> {
    await runOnStack(stack, ["destroy", "--yes", "--skip-preview", "--exec-kind", "auto.local"], opts);
}

/**
 * The stack's outputs as `pulumi stack output --json` prints them: a secret one is the mask, never
 * its value, and is marked secret. One `pulumi` process, where the automation API's outputs() runs
 * two (the second with --show-secrets) that the CLI would only mask again.
 */
export async function maskedOutputs(stack: Stack): Promise<OutputMap> {
    const printed = JSON.parse((await runOnStack(stack, ["stack", "output", "--json"])).stdout) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(printed).map(([key, value]) => [key, { value, secret: value === SECRET_MASK }]));
}

/** The stack's config as `pulumi config --json` prints it: a secret's value is absent, and nothing is decrypted. */
export async function configWithoutSecrets(stack: Stack): Promise<ConfigMap> {
    return JSON.parse((await runOnStack(stack, ["config", "--json"])).stdout) as ConfigMap;
}

/**
 * The stack's state as `pulumi stack export` prints it without --show-secrets: no key is derived
 * (0.2 s) and no secret reaches this process.
 */
export async function exportedState(stack: Stack): Promise<{ deployment?: unknown }> {
    return JSON.parse((await runOnStack(stack, ["stack", "export"])).stdout) as { deployment?: unknown };
}
