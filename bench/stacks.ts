// What the benchmark and the load test share: a mirrors directory of their own, stacks made cheaply
// (no deployment) for `ls` and `reap` to read, and the facts of the machine a figure was taken on.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describeLocalEnvironment, repoRoot } from "../cli/local-environment";
import { TAGS } from "../cli/stack";
import { pool, run } from "./run";

/** The CLI's environment for a mirrors directory of the caller's own (see cli/local-environment mirrorsDirFrom). */
export function envFor(mirrorsDir: string, installation: string): NodeJS.ProcessEnv {
    fs.mkdirSync(mirrorsDir, { recursive: true });
    const saved = process.env.PROD_MIRROR_MIRRORS_DIR;
    process.env.PROD_MIRROR_MIRRORS_DIR = mirrorsDir;
    try {
        const local = describeLocalEnvironment();
        return { ...process.env, ...local.env, PROD_MIRROR_MIRRORS_DIR: mirrorsDir, PROD_MIRROR_INSTALLATION: installation };
    } finally {
        if (saved === undefined) {
            delete process.env.PROD_MIRROR_MIRRORS_DIR;
        } else {
            process.env.PROD_MIRROR_MIRRORS_DIR = saved;
        }
    }
}

const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/**
 * Stacks as `ls` and `reap` see a mirror's (the stack and its branch, created-at and expiry tags),
 * made without deploying anything, three at a time. `stack init` writes the passphrase's salt into
 * Pulumi.<stack>.yaml at the project root: each path goes to `made` before the stack is made, for the
 * caller to remove.
 */
export async function makeListedStacks(env: NodeJS.ProcessEnv, names: readonly string[], made: Set<string>): Promise<void> {
    const expires = isoSeconds(Date.now() + 24 * 3600_000);
    await pool(names, 3, async (name) => {
        made.add(path.join(repoRoot, `Pulumi.${name}.yaml`));
        await run("pulumi", ["stack", "init", name, "--non-interactive"], env);
        for (const [key, value] of [[TAGS.branch, name], [TAGS.createdAt, isoSeconds(Date.now())], [TAGS.expiresAt, expires]]) {
            await run("pulumi", ["stack", "tag", "set", key, value, "--stack", name, "--non-interactive"], env);
        }
    });
}

/** The machine and the versions a figure was measured with, one line each. */
export async function machineFacts(env: NodeJS.ProcessEnv): Promise<{ machine: string[]; versions: string[]; commit: string }> {
    const text = async (cmd: string, args: string[]): Promise<string> => (await run(cmd, args, env)).stdout.trim();
    const kube = JSON.parse(await text("kubectl", ["version", "-o", "json"]));
    const plugins = fs.readdirSync(path.join(env.PULUMI_HOME ?? "", "plugins")).filter((p) => /^resource-kubernetes-v[0-9.]+$/.test(p));
    const cpu = os.cpus();
    return {
        commit: await text("git", ["rev-parse", "--short", "HEAD"]),
        machine: [
            `nproc: ${cpu.length} (${cpu[0]?.model ?? "?"})`,
            `memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
            `kernel: ${os.type()} ${os.release()}`,
            "shared with other work (the figures are a same-run comparison, not absolutes)",
        ],
        versions: [
            `node ${process.version}`,
            `pulumi CLI ${await text("pulumi", ["version"])}`,
            `kubernetes provider plugin: ${plugins.join(", ") || "?"}`,
            `kubernetes server ${kube.serverVersion?.gitVersion ?? "?"}, kubectl ${kube.clientVersion?.gitVersion ?? "?"}`,
            `docker engine ${await text("docker", ["version", "--format", "{{.Server.Version}}"])}`,
        ],
    };
}
