// Image references as the kubelet resolves them: `[host[:port]/]path[:tag][@sha256:<64 hex>]`. A
// digest pins exactly the bytes that were pushed; a tag can be moved by the next push.

const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?";
// As docker reads it: the first component is a host only with a dot, a port or as localhost.
const HOST = `(?:localhost(?::[0-9]{1,5})?|${LABEL}(?:\\.${LABEL})+(?::[0-9]{1,5})?|${LABEL}:[0-9]{1,5})`;
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const TAG = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
const DIGEST = "sha256:[0-9a-f]{64}";

/** Any image reference, by tag, by digest or both. */
export const IMAGE_REFERENCE = new RegExp(`^(?:${HOST}/)?${COMPONENT}(?:/${COMPONENT})*(?::${TAG})?(?:@${DIGEST})?$`);
/** A sha256 content digest, as registries return it in Docker-Content-Digest. */
export const SHA256_DIGEST = new RegExp(`^${DIGEST}$`);

/** `<repository>@<digest>`, refusing anything that is not a sha256 digest (a registry's answer is input). */
export function digestReference(repository: string, digest: string): string {
    if (!SHA256_DIGEST.test(digest)) {
        throw new Error(`expected a digest sha256:<64 lowercase hex> for ${repository}, got ${JSON.stringify(digest.slice(0, 80))}`);
    }
    const ref = `${repository}@${digest}`;
    if (!IMAGE_REFERENCE.test(ref)) {
        throw new Error(`${JSON.stringify(repository)} is not an image repository such as 127.0.0.1:5000/prod-mirror/moto`);
    }
    return ref;
}
