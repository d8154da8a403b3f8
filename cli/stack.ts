// One Pulumi stack per branch, on the configured backend, driven through the Automation API.
// Everything here is what `pulumi stack init/select`, `config set` and `up` do by hand.
import { spawnSync } from "child_process";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
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

/** Creates the stack when it does not exist yet, otherwise selects it. */
export async function openStack(stackName: string): Promise<Stack> {
    return LocalWorkspace.createOrSelectStack({ stackName, workDir: repoRoot });
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

/** Writes the settings into the stack's config. */
export async function configureStack(stack: Stack, settings: StackSettings): Promise<void> {
    const plain: Record<string, string | undefined> = {
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
    // One `pulumi config set-all` for every key: each `pulumi` process costs about a second here.
    await stack.setAllConfig(Object.fromEntries(Object.entries(plain).flatMap(([key, value]) => (value === undefined ? [] : [[`${PROJECT}:${key}`, { value }]]))));
    if (settings.registryPassword !== undefined) {
        setSecretFromStdin(stack.name, `${PROJECT}:registryPassword`, settings.registryPassword);
    }
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
