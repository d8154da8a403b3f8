// The impure side of a target: which one this process runs against (resolveTarget on its
// environment, flags and the local environment's own values), and, for an external one, the
// process environment it needs: kept as given, with only the CLI's own PULUMI_HOME and a private
// kubeconfig when a context or a pod's service account must be spelled out.
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { backendIdentity } from "./backend-url";
import { kubectl } from "./kubectl";
import { cliEnvFrom, mirrorsDirFrom, parseShellEnv, preparePulumiHome, repoRoot, type RegistryCredentials } from "./local-environment";
import { resolveTarget, TARGET_ENV, type ExternalTarget, type LocalValues, type Target, type TargetFlags } from "./target";

/** What the mirror steps need of where they run: the local default's environment and an external target both give it. */
export interface Place {
    /** The CLI's own directory for run locks, port-forward records, logs and its PULUMI_HOME. */
    mirrorsDir: string;
    /** What the mirror's pull secret carries. */
    registry: RegistryCredentials;
    /** Set for an external target; undefined for the local default. */
    external?: ExternalTarget;
}

/**
 * The local default's own values of the choosing variables (nothing is started): what
 * `local/env.sh shellenv` prints, and what the CLI's environment for this process's mirrors
 * directory holds (cliEnvFrom), which a test suite or a person passes on to a child CLI.
 */
export function localValues(): LocalValues {
    const shell = parseShellEnv(execFileSync("bash", [path.join(repoRoot, "local", "env.sh"), "shellenv"], { encoding: "utf8" }), process.env.PATH ?? "");
    const cli = shell.PROD_MIRROR_STATE === undefined || shell.PULUMI_HOME === undefined ? shell : cliEnvFrom(shell, mirrorsDirFrom(shell.PROD_MIRROR_STATE, process.env));
    const both = (name: string): string[] => [...new Set([shell[name], cli[name]].filter((v): v is string => v !== undefined))];
    // The environment's cluster-admin kubeconfig is the local cluster too (tests' fixtures, a person's own kubectl).
    const kubeconfigs = [...both("KUBECONFIG"), ...both("PROD_MIRROR_ADMIN_KUBECONFIG")];
    return { KUBECONFIG: kubeconfigs, PULUMI_BACKEND_URL: both("PULUMI_BACKEND_URL"), PROD_MIRROR_REGISTRY: both("PROD_MIRROR_REGISTRY") };
}

/** The target of this process: its environment and flags, `--kubeconfig` made absolute. */
export function currentTarget(flags: TargetFlags): Target {
    const kubeconfig = flags.kubeconfig === undefined ? undefined : path.resolve(flags.kubeconfig);
    // The local values only matter when something could choose another target and nothing forces one;
    // shellenv is not asked otherwise (it makes the local state's directories where they are missing).
    const env = process.env;
    const choosing = ["KUBECONFIG", "PROD_MIRROR_REGISTRY", "CI_REGISTRY", "PULUMI_BACKEND_URL"].some((name) => (env[name] ?? "") !== "") || kubeconfig !== undefined;
    const local = choosing && (env[TARGET_ENV] ?? "") === "" ? localValues() : {};
    return resolveTarget(env, { ...flags, kubeconfig }, local);
}

/**
 * Where an external target's CLI keeps its own files: `$PROD_MIRROR_MIRRORS_DIR`, else one directory
 * per backend under `$XDG_STATE_HOME/prod-mirror-targets`. Not the local default's state: that is
 * the local environment's (its `down` may remove it, its doctor and reap read it), and two backends'
 * run locks and forwards must not mix.
 */
export function externalMirrorsDir(target: ExternalTarget, env: NodeJS.ProcessEnv): string {
    const chosen = env.PROD_MIRROR_MIRRORS_DIR;
    if (chosen !== undefined && chosen !== "") {
        if (!path.isAbsolute(chosen)) {
            throw new Error(`PROD_MIRROR_MIRRORS_DIR ${JSON.stringify(chosen)} is not an absolute path: give one, e.g. PROD_MIRROR_MIRRORS_DIR=/tmp/my-mirrors`);
        }
        return chosen;
    }
    const stateHome = env.XDG_STATE_HOME !== undefined && env.XDG_STATE_HOME !== "" ? env.XDG_STATE_HOME : path.join(os.homedir(), ".local", "state");
    const id = crypto.createHash("sha256").update(backendIdentity(target.backend)).digest("hex").slice(0, 12);
    return path.join(stateHome, "prod-mirror-targets", id);
}

/** A directory of this process for the kubeconfig it writes, removed when it exits. */
function privateDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prod-mirror-target-"));
    fs.chmodSync(dir, 0o700);
    process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
}

const SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * The KUBECONFIG the target's cluster is reached with, by kubectl and by the program's kubernetes
 * provider alike: the file as given, a context narrowed out of it (so that no tool can fall back to
 * the current one), or a pod's service account spelled as a kubeconfig.
 */
function kubeconfigFor(target: ExternalTarget, env: NodeJS.ProcessEnv): string {
    const cluster = target.cluster;
    if (cluster.kind === "in-cluster") {
        const file = path.join(privateDir(), "in-cluster.kubeconfig");
        fs.writeFileSync(file, JSON.stringify({
            apiVersion: "v1",
            kind: "Config",
            clusters: [{ name: "in-cluster", cluster: { server: cluster.server, "certificate-authority": `${SERVICE_ACCOUNT}/ca.crt` } }],
            users: [{ name: "service-account", user: { tokenFile: `${SERVICE_ACCOUNT}/token` } }],
            contexts: [{ name: "in-cluster", context: { cluster: "in-cluster", user: "service-account" } }],
            "current-context": "in-cluster",
        }), { mode: 0o600 });
        return file;
    }
    if (cluster.context === undefined) {
        return cluster.kubeconfig;
    }
    const narrowed = kubectl(["config", "view", "--minify", "--flatten", "--raw", "--context", cluster.context], { ...env, KUBECONFIG: cluster.kubeconfig }, 10_000);
    if (!narrowed.ok) {
        throw new Error(`--context ${JSON.stringify(cluster.context)} is not a context of ${cluster.kubeconfig} (${cluster.source}): ${narrowed.stderr.trim().split("\n").pop() ?? ""}; ` +
            `pass one that 'kubectl config get-contexts' lists; nothing was created`);
    }
    const file = path.join(privateDir(), "context.kubeconfig");
    fs.writeFileSync(file, narrowed.stdout, { mode: 0o600 });
    return file;
}

/**
 * Applies an external target to this process (the Automation API spawns `pulumi` with it): the
 * environment stays as given, except KUBECONFIG (the target's cluster, see kubeconfigFor) and
 * PULUMI_HOME (the CLI's own, see cliPulumiHome in local-environment.ts: the Automation API would
 * otherwise switch the person's selected stack), whose plugins are those of the person's
 * PULUMI_HOME (default ~/.pulumi). Returns the place the mirror steps use.
 */
export function useExternalTarget(target: ExternalTarget): Place {
    const env = process.env;
    const mirrorsDir = externalMirrorsDir(target, env);
    fs.mkdirSync(mirrorsDir, { recursive: true, mode: 0o700 });
    const home = path.join(mirrorsDir, "pulumi-home");
    const personal = env.PULUMI_HOME !== undefined && env.PULUMI_HOME !== "" ? env.PULUMI_HOME : path.join(os.homedir(), ".pulumi");
    if (path.resolve(personal) !== home) {
        preparePulumiHome(home, personal);
    }
    env.KUBECONFIG = kubeconfigFor(target, env);
    env.PULUMI_HOME = home;
    return { mirrorsDir, registry: { server: target.registry.server, username: target.registry.pull.username, password: target.registry.pull.password }, external: target };
}
