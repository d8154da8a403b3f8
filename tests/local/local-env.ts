// The one way tests reach the local environment: the same code the CLI uses. It brings the
// environment up (idempotent, builds what is missing) and hands back the variables a user would
// export after `npm run local:up`.
import * as http from "http";
import * as https from "https";
import * as net from "net";
import { ensureLocalEnvironment, repoRoot } from "../../cli/local-environment";

export { repoRoot };

let cached: NodeJS.ProcessEnv | undefined;

/** Runs `bash local/env.sh up` once per test process and returns process.env plus the CLI's environment (shellenv, with the CLI's own PULUMI_HOME). */
export function ensureLocalEnv(): NodeJS.ProcessEnv {
    if (!cached) {
        cached = { ...process.env, ...ensureLocalEnvironment().env };
    }
    return cached;
}


/** A free loopback port, chosen by the kernel. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
        server.on("error", reject);
    });
}

/** True when something accepts connections on 127.0.0.1:port. */
export function listening(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect(port, "127.0.0.1");
        socket.on("connect", () => {
            socket.destroy();
            resolve(true);
        });
        socket.on("error", () => resolve(false));
    });
}

/** GET `url` (http or https, with TLS options for the latter): status and body, or the error; 10 s at most. */
export function httpGet(url: string, tls?: https.RequestOptions): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const options = { timeout: 10_000, ...tls };
        const req = (url.startsWith("https:") ? https : http).get(url, options, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => (body += chunk));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
        req.on("error", reject);
    });
}

/**
 * `env` with the local cluster's system:masters kubeconfig instead of the restricted identity
 * shellenv exports (access/): for fixtures a mirror's identity may not make (a namespace of someone
 * else, a privileged pod) and for checks that must see the whole cluster (nothing left anywhere).
 */
export function asClusterAdmin(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    const admin = env.PROD_MIRROR_ADMIN_KUBECONFIG;
    if (admin === undefined) {
        throw new Error("PROD_MIRROR_ADMIN_KUBECONFIG is not set: run the tests with the environment of `bash local/env.sh shellenv`");
    }
    return { ...env, KUBECONFIG: admin };
}
