// One Pulumi stack per branch, on the configured backend, driven through the Automation API.
// Everything here is what `pulumi stack init/select`, `config set` and `up` do by hand.
import { spawnSync } from "child_process";
import { LocalWorkspace, Stack, type ConfigMap } from "@pulumi/pulumi/automation";
import { PROJECT } from "../components/config-error";
import { repoRoot } from "./local-environment";

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
 * Creates the stack when it does not exist yet, otherwise selects it. `secretsProvider` (a KMS URL)
 * applies to a stack created here; an existing stack keeps its own. Unset: the passphrase provider
 * (or Pulumi Cloud's own).
 */
export async function openStack(stackName: string, secretsProvider?: string): Promise<Stack> {
    return LocalWorkspace.createOrSelectStack({ stackName, workDir: repoRoot }, secretsProvider === undefined ? {} : { secretsProvider });
}

/** Selects an existing stack, or returns undefined when the backend has none by that name. */
export async function findStack(stackName: string): Promise<Stack | undefined> {
    const workspace = await LocalWorkspace.create({ workDir: repoRoot });
    const stacks = await workspace.listStacks();
    if (!stacks.some((s) => s.name === stackName || s.name.endsWith(`/${stackName}`))) {
        return undefined;
    }
    return Stack.select(stackName, workspace);
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
        setSecretFromStdin(stack.name, passwordKey, settings.registryPassword);
        now[passwordKey] = { value: settings.registryPassword, secret: true };
    }
    return now;
}

/**
 * `pulumi config set --secret KEY` with the value on standard input: the Automation API would put
 * it on the command line, where any local user can read it in the process table.
 */
export function setSecretFromStdin(stackName: string, key: string, value: string): void {
    const result = spawnSync("pulumi", ["config", "set", "--secret", key, "--stack", stackName, "--non-interactive"], {
        cwd: repoRoot,
        input: value,
        encoding: "utf8",
    });
    if (result.status !== 0) {
        // The CLI never echoes the value it read, so its message is safe to show.
        throw new Error(`pulumi config set --secret ${key} failed for stack ${stackName}: ${result.stderr.trim()}`);
    }
}

/** Stack tags the CLI stamps, read back by `ls` and `reap` without opening the stack's state. */
export const TAGS = {
    branch: `${PROJECT}:branch`,
    commit: `${PROJECT}:commit`,
    createdAt: `${PROJECT}:createdAt`,
    expiresAt: `${PROJECT}:expiresAt`,
    entryUrl: `${PROJECT}:entryUrl`,
} as const;

/** Stamps branch, commit and expiry (each `up` extends it); createdAt only the first time. */
export async function stampTags(stack: Stack, tags: { branch: string; commit: string; expiresAt: string; entryUrl?: string }, now = new Date()): Promise<void> {
    const workspace = stack.workspace;
    const existing = await workspace.listTags(stack.name);
    const wanted: Record<string, string | undefined> = {
        [TAGS.branch]: tags.branch,
        [TAGS.commit]: tags.commit,
        [TAGS.expiresAt]: tags.expiresAt,
        [TAGS.entryUrl]: tags.entryUrl,
        [TAGS.createdAt]: existing[TAGS.createdAt] ?? now.toISOString().replace(/\.\d{3}Z$/, "Z"),
    };
    for (const [key, value] of Object.entries(wanted)) {
        if (value !== undefined && existing[key] !== value) {
            await workspace.setTag(stack.name, key, value);
        }
    }
}
