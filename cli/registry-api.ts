// The one question the CLI asks a registry over its HTTP API: which digest a tag points at, so a
// stack can deploy exactly the pushed bytes (`name@sha256:…`) instead of a tag the next push moves.
import * as http from "http";
import * as https from "https";
import { digestReference } from "../components/image-reference";
import type { RegistryCredentials } from "./local-environment";

/** Single-image manifest types the local images are pushed as (docker 20.10 pushes the first). */
export const MANIFEST_TYPES = ["application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json"];

/**
 * `HEAD /v2/<repository>/manifests/<tag>` with the manifest types accepted and the registry's
 * credentials; returns `<server>/<repository>@<Docker-Content-Digest>`. Errors name the image and
 * the status, never the password.
 */
export function resolveDigestReference(registry: RegistryCredentials, repository: string, tag: string, timeoutMs = 10_000): Promise<string> {
    const image = `${registry.server}/${repository}:${tag}`;
    const auth = Buffer.from(`${registry.username}:${registry.password}`, "utf8").toString("base64");
    return new Promise((resolve, reject) => {
        const req = http.request(
            `http://${registry.server}/v2/${repository}/manifests/${tag}`,
            { method: "HEAD", headers: { Accept: MANIFEST_TYPES.join(", "), Authorization: `Basic ${auth}` }, timeout: timeoutMs },
            (res) => {
                res.resume();
                const status = res.statusCode ?? 0;
                if (status !== 200) {
                    const why = status === 401 || status === 403 ? `user ${registry.username} was refused` : status === 404 ? "it is not in the registry" : "unexpected answer";
                    reject(new Error(`cannot pin ${image} by digest: HEAD of its manifest answered HTTP ${status} (${why}); 'npm run local:up' pushes it`));
                    return;
                }
                const digest = res.headers["docker-content-digest"];
                try {
                    resolve(digestReference(`${registry.server}/${repository}`, typeof digest === "string" ? digest : ""));
                } catch (err) {
                    reject(new Error(`cannot pin ${image} by digest: the registry's Docker-Content-Digest header is unusable: ${(err as Error).message}`));
                }
            },
        );
        req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        req.on("error", (err) => reject(new Error(`cannot pin ${image} by digest: ${err.message}`)));
        req.end();
    });
}

/** Where a registry endpoint came from, for the error that names it and how to fix it. */
export type RegistrySource = { kind: "local" } | { kind: "stack"; stackName: string };

/** How long the CLI waits for a registry to answer before calling it down: a live one answers in milliseconds. */
export const REGISTRY_ANSWER_TIMEOUT_MS = 5_000;

/** The error for a registry that does not answer: the endpoint, the setting it came from, the fix. */
export function registryDownMessage(server: string, source: RegistrySource, reason: string): string {
    const where = source.kind === "local" ? "the local default, the registry local/env.sh runs" : `prod-mirror:registryServer of stack ${source.stackName}`;
    const fix = source.kind === "local"
        ? "start it with 'npm run local:up' (bash local/env.sh up)"
        : `start it, or point the stack at one that answers: pulumi config set prod-mirror:registryServer HOST:PORT --stack ${source.stackName}`;
    return `the registry ${server} (${where}) does not answer at http://${server}/v2/: ${reason}; nothing was built, pushed or deployed; ${fix}, then run up again`;
}

/**
 * `GET /v2/` once, before anything is built or deployed: any HTTP answer (200, or 401 without
 * credentials) means the registry is there. A registry that is down would otherwise surface only
 * as pods stuck pulling, minutes later in `pulumi up`; this fails in seconds with the endpoint.
 */
export async function checkRegistryAnswers(server: string, source: RegistrySource, timeoutMs = REGISTRY_ANSWER_TIMEOUT_MS): Promise<void> {
    const reason = await whyNoAnswer(`http://${server}/v2/`, timeoutMs);
    if (reason !== undefined) {
        throw new Error(registryDownMessage(server, source, reason));
    }
}

/** The AWS endpoint's counterpart of registryDownMessage. */
export function awsEndpointDownMessage(endpoint: string, stackName: string, reason: string): string {
    return `the AWS endpoint ${endpoint} (prod-mirror:awsEndpoint of stack ${stackName}) does not answer: ${reason}; nothing was built, pushed or deployed; ` +
        `start it, or point the stack at one that answers: pulumi config set prod-mirror:awsEndpoint URL --stack ${stackName} ` +
        `(pulumi config rm prod-mirror:awsEndpoint --stack ${stackName} for real AWS), then run up again`;
}

/**
 * `aws` mode with an endpoint (an emulator, a proxy): asked once before anything is built, because
 * the AWS provider retries a dead endpoint for minutes inside `pulumi up`. Any HTTP answer will do.
 */
export async function checkAwsEndpointAnswers(endpoint: string, stackName: string, timeoutMs = REGISTRY_ANSWER_TIMEOUT_MS): Promise<void> {
    const reason = await whyNoAnswer(endpoint, timeoutMs);
    if (reason !== undefined) {
        throw new Error(awsEndpointDownMessage(endpoint, stackName, reason));
    }
}

/** One GET of `url`: undefined if anything answered over HTTP, else why not (refused, timed out, ...). */
function whyNoAnswer(url: string, timeoutMs: number): Promise<string | undefined> {
    return new Promise((resolve) => {
        const client = url.startsWith("https:") ? https : http;
        const req = client.request(url, { method: "GET", timeout: timeoutMs }, (res) => {
            res.resume();
            resolve(undefined);
        });
        req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        req.on("error", (err) => resolve(err.message));
        req.end();
    });
}
