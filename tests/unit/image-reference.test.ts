// Pinning by digest: which references config accepts, and how the CLI turns the pushed emulator tag
// into `name@sha256:…` with one HEAD to the registry (here an in-process HTTP server that answers
// like the registry and records what it was asked).
import * as assert from "assert";
import * as http from "http";
import type { AddressInfo } from "net";
import { resolveDigestReference, MANIFEST_TYPES } from "../../cli/registry-api";
import { ConfigError, digestReference, IMAGE_REFERENCE, parseSettings, RawSettings } from "../../components";
import { EMULATOR_IMAGE } from "./fixtures";

const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;
const BASE: RawSettings = { registryUsername: "ci-bot", emulatorImage: EMULATOR_IMAGE, app: JSON.stringify({ services: [{ name: "api", port: 8080, image: "r/api:{tag}" }] }) };

describe("image references", () => {
    it("accept a tag, a sha256 digest, or both, with or without a registry host", () => {
        for (const ref of ["moto", "127.0.0.1:5000/prod-mirror/moto:5.2.5", `127.0.0.1:5000/prod-mirror/moto@${DIGEST}`, `registry.internal:443/a/b_c:v1.2@${DIGEST}`]) {
            assert.ok(IMAGE_REFERENCE.test(ref), ref);
        }
    });

    it("refuse a short, uppercase, over-long or non-sha256 digest, an empty tag and whitespace", () => {
        for (const ref of [
            "127.0.0.1:5000/prod-mirror/moto@sha256:abc",
            `127.0.0.1:5000/prod-mirror/moto@${DIGEST.toUpperCase()}`,
            `127.0.0.1:5000/prod-mirror/moto@${DIGEST}0`,
            `127.0.0.1:5000/prod-mirror/moto@md5:${"0".repeat(32)}`,
            "127.0.0.1:5000/prod-mirror/moto:",
            "prod-mirror/moto :5.2.5",
            "Prod-Mirror/moto:5.2.5",
        ]) {
            assert.ok(!IMAGE_REFERENCE.test(ref), ref);
        }
    });

    it("prod-mirror:emulatorImage takes a digest reference and refuses a truncated one, with the rule and an example", () => {
        const pinned = `127.0.0.1:5000/prod-mirror/moto@${DIGEST}`;
        assert.strictEqual(parseSettings({ ...BASE, emulatorImage: pinned }, { stack: "dev", readFile: () => "" }).emulatorImage, pinned);
        assert.throws(
            () => parseSettings({ ...BASE, emulatorImage: "127.0.0.1:5000/prod-mirror/moto@sha256:0123" }, { stack: "dev", readFile: () => "" }),
            (err: Error) =>
                err instanceof ConfigError &&
                err.message ===
                    "prod-mirror:emulatorImage in Pulumi.dev.yaml is invalid: expected an image reference, name:tag or name@sha256:<64 hex digits>, " +
                        `got "127.0.0.1:5000/prod-mirror/moto@sha256:0123". Example: prod-mirror:emulatorImage: 127.0.0.1:5000/prod-mirror/moto@${DIGEST}`,
        );
    });

    it("digestReference joins a repository and a digest, and refuses a digest that is not sha256:<64 hex>", () => {
        assert.strictEqual(digestReference("127.0.0.1:5000/prod-mirror/moto", DIGEST), `127.0.0.1:5000/prod-mirror/moto@${DIGEST}`);
        assert.throws(() => digestReference("127.0.0.1:5000/prod-mirror/moto", "sha256:xyz"), {
            message: 'expected a digest sha256:<64 lowercase hex> for 127.0.0.1:5000/prod-mirror/moto, got "sha256:xyz"',
        });
        // A registry's answer is shown cut to 80 characters: this one is 90.
        assert.throws(() => digestReference("r/moto", `sha512:${"0".repeat(83)}`), {
            message: `expected a digest sha256:<64 lowercase hex> for r/moto, got "sha512:${"0".repeat(73)}"`,
        });
    });

    it("digestReference refuses a repository that is no image name, with an example of one", () => {
        assert.throws(() => digestReference("Prod-Mirror/moto", DIGEST), {
            message: '"Prod-Mirror/moto" is not an image repository such as 127.0.0.1:5000/prod-mirror/moto',
        });
    });

    describe("resolveDigestReference", () => {
        let server: http.Server;
        let address = "";
        const seen: Array<{ method?: string; url?: string; accept?: string; authorization?: string }> = [];
        let answer: { status: number; digest?: string } = { status: 200, digest: DIGEST };

        before(async () => {
            server = http.createServer((req, res) => {
                seen.push({ method: req.method, url: req.url, accept: req.headers.accept, authorization: req.headers.authorization });
                res.writeHead(answer.status, answer.digest === undefined ? {} : { "Docker-Content-Digest": answer.digest });
                res.end();
            });
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
        });
        after(() => new Promise<void>((resolve) => server.close(() => resolve())));
        beforeEach(() => (seen.length = 0));

        const registry = () => ({ server: address, username: "pull-user", password: "pull-password-not-to-be-shown" });

        it("asks HEAD of the tag's manifest with the manifest types and the credentials, and pins the answered digest", async () => {
            answer = { status: 200, digest: DIGEST };
            assert.strictEqual(await resolveDigestReference(registry(), "prod-mirror/moto", "5.2.5"), `${address}/prod-mirror/moto@${DIGEST}`);
            assert.deepStrictEqual(seen, [
                {
                    method: "HEAD",
                    url: "/v2/prod-mirror/moto/manifests/5.2.5",
                    accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
                    // printf %s 'pull-user:pull-password-not-to-be-shown' | base64
                    authorization: "Basic cHVsbC11c2VyOnB1bGwtcGFzc3dvcmQtbm90LXRvLWJlLXNob3du",
                },
            ]);
            assert.strictEqual(MANIFEST_TYPES.length, 2);
        });

        it("says the image is missing and how to push it, without the password", async () => {
            answer = { status: 404 };
            await assert.rejects(resolveDigestReference(registry(), "prod-mirror/moto", "5.2.5"), {
                message: `cannot pin ${address}/prod-mirror/moto:5.2.5 by digest: HEAD of its manifest answered HTTP 404 (it is not in the registry); 'npm run local:up' pushes it`,
            });
            answer = { status: 401 };
            await assert.rejects(resolveDigestReference(registry(), "prod-mirror/moto", "5.2.5"), {
                message: `cannot pin ${address}/prod-mirror/moto:5.2.5 by digest: HEAD of its manifest answered HTTP 401 (user pull-user was refused); 'npm run local:up' pushes it`,
            });
        });

        it("refuses a missing or malformed Docker-Content-Digest instead of pinning it", async () => {
            for (const digest of [undefined, "sha256:abc", `sha512:${"0".repeat(128)}`]) {
                answer = { status: 200, digest };
                await assert.rejects(resolveDigestReference(registry(), "prod-mirror/moto", "5.2.5"), (err: Error) => {
                    assert.match(err.message, /^cannot pin .* by digest: the registry's Docker-Content-Digest header is unusable: expected a digest sha256:<64 lowercase hex>/);
                    return true;
                });
            }
        });
    });
});
