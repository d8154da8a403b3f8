// The one question the CLI asks a registry over its HTTP API: which digest a tag points at, so a
// stack can deploy exactly the pushed bytes (`name@sha256:…`) instead of a tag the next push moves.
import * as http from "http";
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
