// How the integration tests look at live objects: kubectl against the local cluster, as a user
// would, plus small waits. Every helper throws with the command's own error text.
import { execFileSync } from "child_process";
import * as http from "http";

export function kubectl(env: NodeJS.ProcessEnv, ...args: string[]): string {
    // A listing of many mirrors' objects outgrows the default 1 MiB buffer (ENOBUFS).
    return execFileSync("kubectl", args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 256 * 2 ** 20 });
}

export function kubectlJson(env: NodeJS.ProcessEnv, ...args: string[]): any {
    return JSON.parse(kubectl(env, ...args, "-o", "json"));
}

/** Polls `probe` until it returns a value (not undefined) or the time runs out. */
export async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
        try {
            const value = await probe();
            if (value !== undefined) {
                return value;
            }
        } catch (err) {
            lastError = err;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`);
        }
        await new Promise((r) => setTimeout(r, 1000));
    }
}

export interface HttpReply {
    status: number;
    body: any;
}

/** A JSON request to a loopback URL (the port-forwards the CLI opened). */
export function requestJson(method: string, url: string, body?: unknown): Promise<HttpReply> {
    return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
        const req = http.request(url, { method, headers: { "Content-Type": "application/json", ...(data ? { "Content-Length": data.length } : {}) }, timeout: 15_000 }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
                const text = Buffer.concat(chunks).toString("utf8");
                try {
                    resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null });
                } catch {
                    resolve({ status: res.statusCode ?? 0, body: text });
                }
            });
        });
        req.on("timeout", () => req.destroy(new Error(`${method} ${url} timed out`)));
        req.on("error", reject);
        req.end(data);
    });
}
