// An external target's parts asked, before anything is created, whether they answer and accept the
// credentials given: the cluster's API server, the registry's `/v2/`, the state backend. Each probe
// is bounded to seconds and its failure names the endpoint and the setting it came from; none of
// them writes anything.
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as path from "path";
import type { Backend, S3Backend } from "./backend-url";
import { kubectlAsync } from "./kubectl";
import type { ExternalTarget, RegistryCredentials } from "./target";

/** How long a part may take to answer: a live one answers in milliseconds, a busy one in a second or two. */
export const PROBE_TIMEOUT_MS = 5_000;

/**
 * How the CLI speaks to a registry: plain HTTP to a loopback one, as docker does for its default
 * insecure range, TLS to every other.
 */
export function registryBaseUrl(server: string): string {
    const host = server.replace(/:\d+$/, "");
    const loopback = host === "localhost" || /^127(\.\d{1,3}){3}$/.test(host) || host === "[::1]";
    return `${loopback ? "http" : "https"}://${server}`;
}

interface Answer {
    status: number;
    headers: http.IncomingHttpHeaders;
}

/** One GET; resolves with the status and headers, or the reason nothing answered. Never rejects. */
function get(url: string, headers: Record<string, string>, timeoutMs: number): Promise<Answer | string> {
    return new Promise((resolve) => {
        const client = url.startsWith("https:") ? https : http;
        const req = client.request(url, { method: "GET", headers, timeout: timeoutMs }, (res) => {
            res.resume();
            resolve({ status: res.statusCode ?? 0, headers: res.headers });
        });
        req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        req.on("error", (err) => resolve(err.message));
        req.end();
    });
}

/** `Bearer realm="…",service="…"` → its parameters; undefined for any other challenge. */
export function bearerChallenge(header: string | undefined): { realm: string; service?: string } | undefined {
    if (header === undefined || !/^bearer\s/i.test(header)) {
        return undefined;
    }
    const params = Object.fromEntries([...header.matchAll(/([a-z]+)="([^"]*)"/gi)].map((m) => [m[1].toLowerCase(), m[2]]));
    return params.realm === undefined ? undefined : { realm: params.realm, service: params.service };
}

/**
 * Whether the registry accepts `creds`: `GET /v2/` with them (a registry with Basic auth answers
 * 200), or, where it answers with a Bearer challenge (GitLab, GitHub, Docker Hub), a token asked of
 * the challenge's realm with them. Returns undefined when accepted, else the problem.
 */
export async function registryProblem(server: string, serverSource: string, creds: RegistryCredentials, timeoutMs = PROBE_TIMEOUT_MS): Promise<string | undefined> {
    const base = registryBaseUrl(server);
    const basic = { Authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`, "utf8").toString("base64")}` };
    const refused = (status: number): string =>
        `the registry ${server} (${serverSource}) refused user ${creds.username} (${creds.source}): HTTP ${status}; nothing was created; check ${creds.source}`;
    const first = await get(`${base}/v2/`, basic, timeoutMs);
    if (typeof first === "string") {
        return `the registry ${server} (${serverSource}) does not answer at ${base}/v2/: ${first}; nothing was created; check ${serverSource} and that the registry runs`;
    }
    if (first.status === 200) {
        return undefined;
    }
    const challenge = first.status === 401 ? bearerChallenge(String(first.headers["www-authenticate"] ?? "")) : undefined;
    if (challenge === undefined) {
        return refused(first.status);
    }
    const token = new URL(challenge.realm);
    if (challenge.service !== undefined) {
        token.searchParams.set("service", challenge.service);
    }
    const answer = await get(token.toString(), basic, timeoutMs);
    if (typeof answer === "string") {
        return `the registry ${server}'s token service ${token.origin} (from its Bearer challenge) does not answer: ${answer}; nothing was created`;
    }
    return answer.status === 200 ? undefined : refused(answer.status);
}

/** HeadBucket on the backend's bucket, with its endpoint, region and path style: exists, and these credentials may read it. */
async function s3Problem(backend: S3Backend, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string | undefined> {
    const where = `${backend.endpoint ?? "AWS S3"}`;
    // Loaded here, for an S3 backend's check only: the SDK costs every other command 0.1 s to load.
    const { HeadBucketCommand, S3Client } = await import("@aws-sdk/client-s3");
    const client = new S3Client({
        region: backend.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
        endpoint: backend.endpoint,
        forcePathStyle: backend.forcePathStyle,
        maxAttempts: 1,
    });
    try {
        await client.send(new HeadBucketCommand({ Bucket: backend.bucket }), { abortSignal: AbortSignal.timeout(timeoutMs) });
        return undefined;
    } catch (err) {
        const e = err as Error & { $metadata?: { httpStatusCode?: number } };
        const status = e.$metadata?.httpStatusCode;
        if (status === 404) {
            return `the state bucket ${backend.bucket} does not exist at ${where} (PULUMI_BACKEND_URL): nothing was created; create it once (aws s3 mb s3://${backend.bucket}) or fix PULUMI_BACKEND_URL`;
        }
        if (status === 403 || status === 401) {
            return `the state bucket ${backend.bucket} at ${where} (PULUMI_BACKEND_URL) refused these AWS credentials (HTTP ${status}): nothing was created; check AWS_ACCESS_KEY_ID/AWS_PROFILE and the bucket's policy`;
        }
        const reason = e.name === "TimeoutError" || e.name === "AbortError" ? `no answer within ${timeoutMs} ms` : `${e.name}: ${e.message}`;
        return `the state backend ${where} (PULUMI_BACKEND_URL, bucket ${backend.bucket}) does not answer: ${reason}; nothing was created; check PULUMI_BACKEND_URL's endpoint and that it runs`;
    } finally {
        client.destroy();
    }
}

/** Whether the state backend is there and usable, without writing to it. */
export async function backendProblem(backend: Backend, env: NodeJS.ProcessEnv, timeoutMs = PROBE_TIMEOUT_MS): Promise<string | undefined> {
    switch (backend.kind) {
        case "file":
            try {
                fs.accessSync(backend.dir, fs.constants.W_OK);
                return fs.statSync(backend.dir).isDirectory() ? undefined : `the state backend ${backend.dir} (PULUMI_BACKEND_URL) is not a directory: nothing was created; point PULUMI_BACKEND_URL at one`;
            } catch (err) {
                const code = (err as NodeJS.ErrnoException).code;
                return code === "ENOENT"
                    ? `the state directory ${backend.dir} (PULUMI_BACKEND_URL) does not exist: nothing was created; create it once (mkdir -p ${backend.dir}) or fix PULUMI_BACKEND_URL`
                    : `the state directory ${backend.dir} (PULUMI_BACKEND_URL) is not writable (${code}): nothing was created; fix its permissions or PULUMI_BACKEND_URL`;
            }
        case "s3":
            return s3Problem(backend, env, timeoutMs);
        case "cloud": {
            const url = `${backend.url.replace(/\/+$/, "")}/api/user`;
            const answer = await get(url, { Authorization: `token ${env.PULUMI_ACCESS_TOKEN ?? ""}`, Accept: "application/vnd.pulumi+8" }, timeoutMs);
            if (typeof answer === "string") {
                return `the state backend ${backend.url} (PULUMI_BACKEND_URL) does not answer: ${answer}; nothing was created`;
            }
            return answer.status === 200 ? undefined : `the state backend ${backend.url} (PULUMI_BACKEND_URL) refused PULUMI_ACCESS_TOKEN: HTTP ${answer.status}; nothing was created; set a valid access token`;
        }
    }
}

/**
 * Whether the cluster's API server is ready, asked through kubectl with `env`'s KUBECONFIG (the
 * target's), bounded; the problem names the API server and where its kubeconfig came from.
 */
export async function clusterProblem(target: ExternalTarget, env: NodeJS.ProcessEnv, timeoutMs = PROBE_TIMEOUT_MS): Promise<string | undefined> {
    const source = target.cluster.source;
    if (target.cluster.kind === "kubeconfig") {
        const files = target.cluster.kubeconfig.split(path.delimiter).filter((f) => f !== "");
        if (!files.some((f) => fs.existsSync(f))) {
            return `the cluster's kubeconfig ${target.cluster.kubeconfig} (${source}) does not exist: nothing was created; point ${source.split(" ")[0]} at the cluster's kubeconfig file`;
        }
    }
    const view = await kubectlAsync(["config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"], env, timeoutMs * 2);
    if (!view.ok) {
        const last = view.stderr.trim().split("\n").pop() ?? view.failure;
        return `the cluster's kubeconfig (${source}) is not usable: ${last}; nothing was created; check ${source}`;
    }
    const server = view.stdout.trim() || "(no server)";
    const seconds = Math.max(1, Math.round(timeoutMs / 1000));
    const ready = await kubectlAsync(["get", "--raw", "/readyz", `--request-timeout=${seconds}s`], env, timeoutMs * 2);
    if (!ready.ok) {
        const last = ready.stderr.trim().split("\n").filter((l) => l.trim() !== "").pop() ?? ready.failure;
        return `the cluster at ${server} (${source}) does not answer: ${last}; nothing was created; check ${source} and that the cluster runs`;
    }
    return undefined;
}

export type Part = "cluster" | "registry" | "backend";

/**
 * Probes the parts a command needs, all at once; throws one error listing every problem. `env` is
 * the process environment the target was applied to (KUBECONFIG, AWS credentials, tokens).
 */
export async function probeTarget(target: ExternalTarget, env: NodeJS.ProcessEnv, parts: Part[]): Promise<void> {
    const pending: Promise<string | undefined>[] = [];
    if (parts.includes("cluster")) pending.push(clusterProblem(target, env));
    if (parts.includes("registry")) {
        const { server, serverSource, push, pull } = target.registry;
        pending.push(registryProblem(server, serverSource, push));
        if (pull.username !== push.username || pull.password !== push.password) {
            pending.push(registryProblem(server, serverSource, pull));
        }
    }
    if (parts.includes("backend")) pending.push(backendProblem(target.backend, env));
    const problems = (await Promise.all(pending)).filter((p): p is string => p !== undefined);
    if (problems.length > 0) {
        throw new Error(problems.length === 1 ? problems[0] : `the target does not answer as it should:\n  - ${problems.join("\n  - ")}`);
    }
}
