// The cluster a stack deploys to, as kubectl reaches it: the same kubeconfig and context the
// program's kubernetes provider uses (index.ts), so that what the CLI checks, reads and reports is
// the stack's cluster and not whichever one the shell points at.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Stack } from "@pulumi/pulumi/automation";
import { PROJECT } from "../components/config-error";
import { kubectl } from "./kubectl";
import { configWithoutSecrets } from "./stack";

export interface ClusterAccess {
    /** The caller's environment with KUBECONFIG set to the stack's cluster (unchanged when the stack names none). */
    env: NodeJS.ProcessEnv;
    /** Removes the private kubeconfig copy, when one was written. */
    close: () => void;
}

/**
 * Whether prod-mirror:kubeconfig holds a kubeconfig's contents rather than a path to one, as the
 * provider tells them apart: contents are YAML or JSON over several lines, a path is one line.
 */
export function isKubeconfigContents(value: string): boolean {
    return value.includes("\n") || value.trimStart().startsWith("{");
}

/**
 * The stack's cluster: prod-mirror:kubeconfig (a path, or the contents) and prod-mirror:kubeContext,
 * else the ambient KUBECONFIG and its current context. A context or contents are narrowed into a
 * private file (mode 0600: it may hold credentials), so that plain `kubectl` in that environment
 * talks to the one cluster.
 */
export async function clusterAccessOf(stack: Stack, env: NodeJS.ProcessEnv): Promise<ClusterAccess> {
    // Without --show-secrets first: deriving the passphrase's key costs 0.2 s, and only a stack that
    // keeps its own kubeconfig (always a secret) needs it decrypted.
    const plain = await configWithoutSecrets(stack);
    const config = plain[`${PROJECT}:kubeconfig`] === undefined ? plain : await stack.getAllConfig();
    const kubeconfig = config[`${PROJECT}:kubeconfig`]?.value;
    const context = config[`${PROJECT}:kubeContext`]?.value;
    if ((kubeconfig === undefined || kubeconfig === "") && (context === undefined || context === "")) {
        return { env, close: () => undefined };
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prod-mirror-kube-"));
    fs.chmodSync(dir, 0o700);
    const close = (): void => fs.rmSync(dir, { recursive: true, force: true });
    try {
        let source = env.KUBECONFIG ?? "";
        if (kubeconfig !== undefined && kubeconfig !== "") {
            if (isKubeconfigContents(kubeconfig)) {
                source = path.join(dir, "stack.kubeconfig");
                fs.writeFileSync(source, kubeconfig, { mode: 0o600 });
            } else {
                source = kubeconfig;
            }
        }
        if (context === undefined || context === "") {
            return { env: { ...env, KUBECONFIG: source }, close };
        }
        const narrowed = kubectl(["config", "view", "--minify", "--flatten", "--raw", "--context", context], { ...env, KUBECONFIG: source }, 30_000);
        if (!narrowed.ok) {
            throw new Error(`prod-mirror:kubeContext ${JSON.stringify(context)} is not a context of the stack's kubeconfig (${narrowed.stderr.trim()}): ` +
                `set it to one that 'kubectl config get-contexts' lists`);
        }
        const file = path.join(dir, "context.kubeconfig");
        fs.writeFileSync(file, narrowed.stdout, { mode: 0o600 });
        return { env: { ...env, KUBECONFIG: file }, close };
    } catch (err) {
        close();
        throw err;
    }
}

/** The API server's URL in the current context of the environment's kubeconfig; undefined when it names none. */
export function clusterEndpoint(env: NodeJS.ProcessEnv): string | undefined {
    const view = kubectl(["config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"], env, 30_000);
    const server = view.stdout.trim();
    return view.ok && server !== "" ? server : undefined;
}

/** The cluster did not answer: a destroy cannot run, and the stack is kept. */
export class ClusterUnreachableError extends Error {
    constructor(
        readonly endpoint: string,
        readonly reason: string,
    ) {
        super(`cannot reach the cluster at ${endpoint}: ${reason}`);
        this.name = "ClusterUnreachableError";
    }
}

/** How long the probe gives the API server: long enough for a busy one, short next to a destroy. */
export const PROBE_TIMEOUT_SECONDS = 15;

/**
 * Asks the API server whether it is ready; throws ClusterUnreachableError naming the endpoint and
 * kubectl's last line of error (a refused connection, a timeout, a certificate problem).
 */
export function probeCluster(env: NodeJS.ProcessEnv): void {
    const r = kubectl(["get", "--raw", "/readyz", `--request-timeout=${PROBE_TIMEOUT_SECONDS}s`], env, (PROBE_TIMEOUT_SECONDS + 15) * 1000);
    if (!r.ok) {
        // Looked up only for the message: a kubectl process costs every `down` 0.05 s.
        const endpoint = clusterEndpoint(env) ?? `(no server in the kubeconfig ${env.KUBECONFIG ?? "$HOME/.kube/config"})`;
        const lines = r.stderr.trim().split("\n").filter((l) => l.trim() !== "");
        throw new ClusterUnreachableError(endpoint, lines[lines.length - 1] ?? r.failure ?? "no answer");
    }
}
