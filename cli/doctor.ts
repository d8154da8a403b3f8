// `prod-mirror doctor`: checks every part a mirror needs, without starting or changing anything,
// and says for each failure how to fix it.
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { runTool } from "./kubectl";
import { describeLocalEnvironment, LOCAL_EMULATOR_REPOSITORY, localEmulatorTag, parseDotenvFile, repoRoot, type LocalEnvironment } from "./local-environment";
import { MANIFEST_TYPES } from "./registry-api";
import { fileBackendDir } from "./run-lock";
import { redactBackendUrl } from "./backend-url";
import type { ExternalTarget } from "./target";
import { backendProblem, clusterProblem, registryProblem } from "./target-probes";

export interface CheckResult {
    ok: boolean;
    /** What was found: a version, an address, the error. Never a secret. */
    detail: string;
    /** How to fix it, when not ok. */
    fix?: string;
}

export interface Check {
    name: string;
    run: () => Promise<CheckResult>;
}

export interface DoctorReport {
    results: { name: string; result: CheckResult }[];
    ok: boolean;
}

/** Runs every check, even after a failure; a check that throws counts as failed. */
export async function runChecks(checks: Check[]): Promise<DoctorReport> {
    const results: DoctorReport["results"] = [];
    for (const check of checks) {
        let result: CheckResult;
        try {
            result = await check.run();
        } catch (err) {
            result = { ok: false, detail: err instanceof Error ? err.message : String(err), fix: "see the detail" };
        }
        results.push({ name: check.name, result });
    }
    return { results, ok: results.every((r) => r.result.ok) };
}

export function formatDoctorReport(report: DoctorReport): string {
    const width = Math.max(...report.results.map((r) => r.name.length));
    const lines = report.results.flatMap(({ name, result }) => [
        `${result.ok ? "ok  " : "FAIL"}  ${name.padEnd(width)}  ${result.detail}`,
        ...(result.ok || result.fix === undefined ? [] : [`      ${"".padEnd(width)}  fix: ${result.fix}`]),
    ]);
    const failed = report.results.filter((r) => !r.result.ok).length;
    lines.push(failed === 0 ? "everything a mirror needs answers" : `${failed} check(s) failed`);
    return `${lines.join("\n")}\n`;
}

function versionsEnv(): Record<string, string> {
    return parseDotenvFile(fs.readFileSync(path.join(repoRoot, "local", "versions.env"), "utf8"));
}

/** A probe: its output, or why it could not run at all (not installed, timed out). */
function run(env: NodeJS.ProcessEnv, command: string, ...args: string[]): { ok: boolean; out: string } {
    const result = runTool(command, args, env, 20_000);
    return { ok: result.ok, out: result.spawnFailed ? (result.failure ?? "") : `${result.stdout}${result.stderr}`.trim() };
}

/** GET on a loopback/local URL; resolves with the status code (0 when nothing answers). */
function httpStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
    return new Promise((resolve) => {
        const req = http.get(url, { headers, timeout: 5000 }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
        });
        req.on("timeout", () => req.destroy());
        req.on("error", () => resolve(0));
    });
}

const UP = "npm run local:up";

/** The pulumi CLI at the pinned version, and the kubernetes provider plugin in its PULUMI_HOME. */
function pulumiChecks(env: NodeJS.ProcessEnv, versions: Record<string, string>, fix: string): Check[] {
    const UP = fix;
    return [
        {
            name: "pulumi CLI",
            run: () => {
                const r = run(env, "pulumi", "version");
                const want = `v${versions.PULUMI_CLI_VERSION}`;
                if (!r.ok) return Promise.resolve({ ok: false, detail: r.out.split("\n")[0], fix: UP });
                return Promise.resolve(r.out === want ? { ok: true, detail: r.out } : { ok: false, detail: `${r.out}, expected ${want}`, fix: UP });
            },
        },
        {
            name: "kubernetes plugin",
            run: () => {
                const want = versions.PULUMI_KUBERNETES_VERSION;
                const r = run(env, "pulumi", "plugin", "ls", "--json");
                if (!r.ok) return Promise.resolve({ ok: false, detail: r.out.split("\n")[0], fix: UP });
                const plugins = JSON.parse(r.out || "[]") as { name: string; kind: string; version: string }[];
                const found = plugins.filter((p) => p.name === "kubernetes" && p.kind === "resource").map((p) => p.version);
                return Promise.resolve(
                    found.includes(want)
                        ? { ok: true, detail: `resource kubernetes ${want}` }
                        : { ok: false, detail: `kubernetes ${want} not installed (found: ${found.join(", ") || "none"})`, fix: UP },
                );
            },
        },
    ];
}

/** The checks for the embedded local default. */
export function localChecks(local: LocalEnvironment): Check[] {
    const env = { ...process.env, ...local.env };
    const versions = versionsEnv();
    const registry = local.registry;
    const basic = `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString("base64")}`;
    return [
        {
            // The per-stack run lock is a kernel lock taken through util-linux flock (see cli/run-lock.ts).
            name: "run lock (flock)",
            run: () => {
                const r = run(env, "flock", "--version");
                return Promise.resolve(
                    r.ok ? { ok: true, detail: r.out.split("\n")[0] } : { ok: false, detail: r.out.split("\n")[0], fix: "install util-linux, which provides flock (e.g. apt-get install util-linux)" },
                );
            },
        },
        ...pulumiChecks(env, versions, UP),
        {
            name: "state backend",
            run: () => {
                const dir = fileBackendDir(env.PULUMI_BACKEND_URL);
                const passphrase = env.PULUMI_CONFIG_PASSPHRASE_FILE;
                if (dir === undefined) {
                    return Promise.resolve({ ok: true, detail: `${env.PULUMI_BACKEND_URL ?? "(Pulumi Cloud)"} (not a file backend: not checked further)` });
                }
                if (!fs.existsSync(dir)) return Promise.resolve({ ok: false, detail: `${dir} does not exist`, fix: UP });
                if (passphrase === undefined || !fs.existsSync(passphrase)) {
                    return Promise.resolve({ ok: false, detail: "no passphrase file for the secrets provider", fix: UP });
                }
                return Promise.resolve({ ok: true, detail: `file backend ${dir}, passphrase file present` });
            },
        },
        {
            name: "kubernetes cluster",
            run: () => {
                const ready = run(env, "kubectl", "get", "--raw", "/readyz");
                if (!ready.ok) return Promise.resolve({ ok: false, detail: `API server: ${ready.out.split("\n")[0]}`, fix: UP });
                const nodes = run(env, "kubectl", "get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type==\"Ready\")].status} {end}");
                // The least-privilege identity of access/ may not list nodes: the API server's readiness is what it can check.
                if (!nodes.ok && /\bforbidden\b/i.test(nodes.out)) {
                    return Promise.resolve({ ok: true, detail: "API server ready (this identity may not list nodes: not checked)" });
                }
                const readyNodes = nodes.out.split(" ").filter((n) => n.endsWith("=True"));
                return Promise.resolve(
                    readyNodes.length > 0
                        ? { ok: true, detail: `API server ready, node(s) Ready: ${readyNodes.map((n) => n.split("=")[0]).join(", ")}` }
                        : { ok: false, detail: `no Ready node (${nodes.out || "none"})`, fix: `${UP}; then kubectl describe nodes` },
                );
            },
        },
        {
            name: "registry credentials",
            run: async () => {
                if (registry.password === "") {
                    return { ok: false, detail: `no credentials in ${path.join(local.stateDir, "registry", "credentials.env")}`, fix: UP };
                }
                const anonymous = await httpStatus(`http://${registry.server}/v2/`);
                const authed = await httpStatus(`http://${registry.server}/v2/`, { Authorization: basic });
                if (anonymous === 0) return { ok: false, detail: `nothing answers on ${registry.server}`, fix: UP };
                if (authed !== 200) return { ok: false, detail: `${registry.server} refuses user ${registry.username} (HTTP ${authed})`, fix: UP };
                if (anonymous !== 401) return { ok: false, detail: `${registry.server} answers without credentials (HTTP ${anonymous}): auth is off`, fix: UP };
                return { ok: true, detail: `${registry.server}: user ${registry.username} accepted, anonymous refused` };
            },
        },
        {
            name: "emulator image",
            run: async () => {
                const tag = localEmulatorTag();
                const image = `${registry.server}/${LOCAL_EMULATOR_REPOSITORY}:${tag}`;
                const status = await httpStatus(`http://${registry.server}/v2/${LOCAL_EMULATOR_REPOSITORY}/manifests/${tag}`, {
                    Authorization: basic,
                    Accept: MANIFEST_TYPES.join(", "),
                });
                return status === 200
                    ? { ok: true, detail: `${image} in the registry (emulated mode)` }
                    : { ok: false, detail: `${image} missing (HTTP ${status})`, fix: UP };
            },
        },
        {
            name: "AWS emulator (host)",
            run: async () => {
                const status = await httpStatus("http://127.0.0.1:4566/moto-api/");
                return status > 0 && status < 500
                    ? { ok: true, detail: "moto answers on 127.0.0.1:4566" }
                    : { ok: false, detail: "nothing answers on 127.0.0.1:4566", fix: UP };
            },
        },
        {
            name: "docker engine",
            run: () => {
                const r = run(env, "docker", "version", "--format", "{{.Server.Version}}");
                return Promise.resolve(r.ok ? { ok: true, detail: `server ${r.out}` } : { ok: false, detail: r.out.split("\n").pop() ?? "", fix: UP });
            },
        },
    ];
}

/**
 * The checks for an external target, applied to `env` (useExternalTarget): the tools the CLI runs,
 * then each part of the target probed as `up` probes it, the registry with both credentials.
 */
export function externalChecks(target: ExternalTarget, env: NodeJS.ProcessEnv): Check[] {
    const versions = versionsEnv();
    const fix = "install it on PATH (see the README's \"Your own cluster\")";
    const problem = (found: Promise<string | undefined>, ok: string): Promise<CheckResult> =>
        found.then((p) => (p === undefined ? { ok: true, detail: ok } : { ok: false, detail: p, fix: "see the detail" }));
    const { server, serverSource, push, pull } = target.registry;
    const secrets = target.secrets;
    return [
        ...pulumiChecks(env, versions, `${fix}; the plugin: pulumi plugin install resource kubernetes ${versions.PULUMI_KUBERNETES_VERSION}`),
        {
            name: "docker (image step)",
            run: () => {
                const r = run(env, "docker", "version", "--format", "{{.Server.Version}}");
                return Promise.resolve(r.ok ? { ok: true, detail: `server ${r.out}` } : { ok: false, detail: r.out.split("\n").pop() ?? "", fix: `${fix}, with DOCKER_HOST naming an engine` });
            },
        },
        { name: "kubernetes cluster", run: () => problem(clusterProblem(target, env), `API server ready (${target.cluster.source})`) },
        { name: "registry (push)", run: () => problem(registryProblem(server, serverSource, push), `${server}: ${push.username} accepted (${push.source})`) },
        ...(pull.source === push.source ? [] : [{ name: "registry (pull)", run: () => problem(registryProblem(server, serverSource, pull), `${server}: ${pull.username} accepted (${pull.source})`) }]),
        { name: "state backend", run: () => problem(backendProblem(target.backend, env), `${redactBackendUrl(target.backend.url)} answers`) },
        {
            name: "secrets provider",
            run: () => {
                if (secrets.kind === "passphrase" && secrets.source === "PULUMI_CONFIG_PASSPHRASE_FILE") {
                    const file = env.PULUMI_CONFIG_PASSPHRASE_FILE ?? "";
                    return Promise.resolve(fs.existsSync(file) ? { ok: true, detail: `passphrase file ${file}` } : { ok: false, detail: `PULUMI_CONFIG_PASSPHRASE_FILE ${file} does not exist`, fix: "point it at the passphrase file" });
                }
                return Promise.resolve({ ok: true, detail: secrets.kind === "passphrase" ? `passphrase (${secrets.source})` : secrets.kind === "url" ? `${secrets.url.replace(/\?.*$/, "")} (${secrets.source})` : "Pulumi Cloud's own" });
            },
        },
        {
            name: "emulator image",
            run: () => Promise.resolve(target.emulatorImage === undefined
                ? { ok: true, detail: "PROD_MIRROR_EMULATOR_IMAGE not set: emulated stacks need prod-mirror:emulatorImage in their config" }
                : { ok: true, detail: `${target.emulatorImage} (PROD_MIRROR_EMULATOR_IMAGE)` }),
        },
    ];
}

export async function doctor(): Promise<DoctorReport> {
    return runChecks(localChecks(describeLocalEnvironment()));
}
