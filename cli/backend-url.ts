// The state backend a target names in PULUMI_BACKEND_URL, understood once: which kind it is, where
// its state lives, and how to reach it ourselves (the run lock lives where the state lives, and the
// backend is probed before anything runs). Pure.
import * as os from "os";
import * as path from "path";

export interface FileBackend {
    kind: "file";
    url: string;
    /** Absolute directory of the state. */
    dir: string;
}

/** An S3 or S3-compatible bucket, spelled the way Pulumi's (gocloud's) s3:// URLs spell it. */
export interface S3Backend {
    kind: "s3";
    url: string;
    bucket: string;
    /** Key prefix of the state inside the bucket ("" or ending in "/"). */
    prefix: string;
    /** `http(s)://host[:port]` of an S3-compatible service; undefined for AWS itself. */
    endpoint?: string;
    region?: string;
    forcePathStyle: boolean;
}

export interface CloudBackend {
    kind: "cloud";
    url: string;
}

export type Backend = FileBackend | S3Backend | CloudBackend;

export class BackendUrlError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "BackendUrlError";
    }
}

const EXAMPLES = "file:///var/lib/mirrors, s3://my-bucket/mirrors?region=eu-west-1, s3://state?endpoint=http://127.0.0.1:4566&s3ForcePathStyle=true&region=us-east-1, or https://api.pulumi.com";

/** Both spellings gocloud accepts (aws-sdk v1 and v2) for the same switch. */
function flag(params: URLSearchParams, ...names: string[]): boolean {
    return names.some((name) => params.get(name) === "true");
}

/**
 * Parses a backend URL; `source` says where it came from (e.g. `PULUMI_BACKEND_URL`) for the
 * message. Throws BackendUrlError naming the source, the value and the fix.
 */
export function parseBackendUrl(url: string, source: string): Backend {
    const bad = (why: string): BackendUrlError => new BackendUrlError(`${source} ${JSON.stringify(url)} is not a usable state backend: ${why}. Give one such as ${EXAMPLES}`);
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
    if (scheme === undefined) {
        throw bad("it has no scheme (file://, s3:// or https://)");
    }
    if (scheme === "file") {
        const rest = url.slice("file://".length).replace(/\?.*$/, "");
        const dir = rest === "~" || rest.startsWith("~/") ? path.join(os.homedir(), rest.slice(1)) : rest;
        if (!path.isAbsolute(dir)) {
            throw bad("a file:// backend needs an absolute path (file:///abs/dir or file://~/dir)");
        }
        return { kind: "file", url, dir: path.resolve(dir) };
    }
    if (scheme === "s3") {
        let parsed: URL;
        try {
            parsed = new URL(url);
        } catch {
            throw bad("it does not parse as a URL");
        }
        const bucket = parsed.hostname;
        if (bucket === "") {
            throw bad("an s3:// backend names its bucket first (s3://BUCKET[/prefix])");
        }
        const params = parsed.searchParams;
        const insecure = flag(params, "disableSSL", "disable_https");
        const rawEndpoint = params.get("endpoint") ?? undefined;
        let endpoint: string | undefined;
        if (rawEndpoint !== undefined && rawEndpoint !== "") {
            endpoint = /^https?:\/\//.test(rawEndpoint) ? rawEndpoint : `${insecure ? "http" : "https"}://${rawEndpoint}`;
            try {
                new URL(endpoint);
            } catch {
                throw bad(`its endpoint ${JSON.stringify(rawEndpoint)} is not a host[:port] or http(s) URL`);
            }
            endpoint = endpoint.replace(/\/+$/, "");
        }
        const key = decodeURIComponent(parsed.pathname).replace(/^\/+/, "").replace(/\/+$/, "");
        return {
            kind: "s3",
            url,
            bucket,
            prefix: key === "" ? "" : `${key}/`,
            endpoint,
            region: params.get("region") ?? undefined,
            forcePathStyle: flag(params, "s3ForcePathStyle", "use_path_style"),
        };
    }
    if (scheme === "https" || scheme === "http") {
        try {
            new URL(url);
        } catch {
            throw bad("it does not parse as a URL");
        }
        return { kind: "cloud", url };
    }
    throw bad(`prod-mirror runs on file://, s3:// (AWS or S3-compatible) and Pulumi Cloud backends, not ${scheme}://`);
}

/**
 * One spelling per backend, for the installation id: `file://~/x` and `file:///home/me/x/` are one
 * directory; an s3 backend is its bucket and prefix on its endpoint, whatever the other parameters.
 */
export function backendIdentity(backend: Backend): string {
    switch (backend.kind) {
        case "file":
            return `file://${backend.dir}`;
        case "s3":
            return `s3://${backend.bucket}${backend.prefix === "" ? "" : `/${backend.prefix.slice(0, -1)}`}${backend.endpoint === undefined ? "" : ` at ${backend.endpoint}`}`;
        case "cloud":
            return backend.url.replace(/\/+$/, "");
    }
}

/** Where a URL may be shown: the path and parameters of an s3 or file backend are not secret, a user:password is. */
export function redactBackendUrl(url: string): string {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@?]*@/i, "$1***@");
}
