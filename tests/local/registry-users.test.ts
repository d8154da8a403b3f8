// The local registry's two users over its HTTP API, as the image step and the kubelet use them: the
// push user pushes; the pull-only user, the one the CLI puts into every mirror's pull secret, pulls
// what was pushed and has every write refused, whichever way it asks.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";

import { describeLocalEnvironment } from "../../cli/local-environment";
import { ensureLocalEnv, repoRoot } from "./local-env";
import { readEnvFile, registryAddr, stateDir } from "./local-state";

interface Answer {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: Buffer;
}

function request(method: string, url: string, headers: Record<string, string> = {}, body?: Buffer): Promise<Answer> {
    const full = url.startsWith("http") ? url : `http://${registryAddr}${url}`;
    return new Promise((resolve, reject) => {
        const req = http.request(full, { method, headers: body === undefined ? headers : { ...headers, "Content-Length": String(body.length) }, timeout: 15000 }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        });
        req.on("timeout", () => req.destroy(new Error(`${method} ${full} timed out`)));
        req.on("error", reject);
        req.end(body);
    });
}

const basic = (user: string, password: string, scheme = "Basic"): string => `${scheme} ${Buffer.from(`${user}:${password}`).toString("base64")}`;
const sha256 = (data: Buffer): string => `sha256:${crypto.createHash("sha256").update(data).digest("hex")}`;
const MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";

/** Starts an upload and returns its Location (absolute, with the registry's state query). */
async function startUpload(repo: string, authorization?: string): Promise<Answer> {
    return request("POST", `/v2/${repo}/blobs/uploads/`, authorization === undefined ? {} : { Authorization: authorization });
}

function withDigest(location: string, digest: string): string {
    return `${location}${location.includes("?") ? "&" : "?"}digest=${encodeURIComponent(digest)}`;
}

describe("local environment: registry push and pull-only users", function () {
    const repo = `prod-mirror/registry-users-${process.pid}`;
    const tag = `t${Date.now()}`;
    const layer = crypto.randomBytes(4096);
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha256(layer)] }, config: {} }));
    const manifest = Buffer.from(
        JSON.stringify({
            schemaVersion: 2,
            mediaType: MANIFEST,
            config: { mediaType: "application/vnd.docker.container.image.v1+json", size: config.length, digest: sha256(config) },
            layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: layer.length, digest: sha256(layer) }],
        }),
    );
    let push = "";
    let pull = "";
    let pullUser = "";
    let pullPassword = "";
    let manifestDigest = "";

    before(function () {
        this.timeout(90 * 60 * 1000);
        ensureLocalEnv();
        const creds = readEnvFile(path.join(stateDir, "registry", "credentials.env"));
        push = basic(creds.REGISTRY_USERNAME, creds.REGISTRY_PASSWORD);
        pullUser = creds.REGISTRY_PULL_USERNAME;
        pullPassword = creds.REGISTRY_PULL_PASSWORD;
        pull = basic(pullUser, pullPassword);
    });

    after(async function () {
        if (manifestDigest) {
            await request("DELETE", `/v2/${repo}/manifests/${manifestDigest}`, { Authorization: push });
        }
    });

    it("the CLI hands the stacks the pull-only user, never the push user", function () {
        const { registry } = describeLocalEnvironment();
        assert.strictEqual(registry.username, "prod-mirror-pull");
        assert.strictEqual(registry.password, pullPassword);
        assert.notStrictEqual(push, pull);
    });

    it("the push user pushes two blobs and a manifest", async function () {
        for (const blob of [layer, config]) {
            const started = await startUpload(repo, push);
            assert.strictEqual(started.status, 202, `POST upload: ${started.status} ${started.body}`);
            const put = await request("PUT", withDigest(String(started.headers.location), sha256(blob)), { Authorization: push, "Content-Type": "application/octet-stream" }, blob);
            assert.strictEqual(put.status, 201, `PUT blob: ${put.status} ${put.body}`);
        }
        const put = await request("PUT", `/v2/${repo}/manifests/${tag}`, { Authorization: push, "Content-Type": MANIFEST }, manifest);
        assert.strictEqual(put.status, 201, `PUT manifest: ${put.status} ${put.body}`);
        manifestDigest = String(put.headers["docker-content-digest"]);
        assert.strictEqual(manifestDigest, sha256(manifest));
    });

    it("the pull user pulls the manifest (HEAD and GET) and its layer", async function () {
        const head = await request("HEAD", `/v2/${repo}/manifests/${tag}`, { Authorization: pull, Accept: MANIFEST });
        assert.deepStrictEqual([head.status, head.headers["docker-content-digest"]], [200, manifestDigest]);
        const get = await request("GET", `/v2/${repo}/manifests/${tag}`, { Authorization: pull, Accept: MANIFEST });
        assert.deepStrictEqual([get.status, get.body.equals(manifest)], [200, true]);
        const blob = await request("GET", `/v2/${repo}/blobs/${sha256(layer)}`, { Authorization: pull });
        assert.deepStrictEqual([blob.status, blob.body.equals(layer)], [200, true]);
    });

    it("refuses every write by the pull user with 403: upload, blob, manifest, delete, and an upload the push user began", async function () {
        const denied = async (what: string, answer: Promise<Answer>): Promise<void> => {
            const a = await answer;
            assert.strictEqual(a.status, 403, `${what}: ${a.status} ${a.body}`);
            assert.strictEqual(JSON.parse(a.body.toString()).errors[0].code, "DENIED", what);
        };
        await denied("POST upload", startUpload(repo, pull));
        const other = Buffer.from("written by the pull user");
        await denied("PUT manifest", request("PUT", `/v2/${repo}/manifests/${tag}-pull`, { Authorization: pull, "Content-Type": MANIFEST }, manifest));
        await denied("DELETE manifest", request("DELETE", `/v2/${repo}/manifests/${manifestDigest}`, { Authorization: pull }));
        await denied("DELETE blob", request("DELETE", `/v2/${repo}/blobs/${sha256(layer)}`, { Authorization: pull }));
        const begun = await startUpload(repo, push);
        assert.strictEqual(begun.status, 202);
        const location = String(begun.headers.location);
        await denied("PATCH into the push user's upload", request("PATCH", location, { Authorization: pull, "Content-Type": "application/octet-stream" }, other));
        await denied("PUT to finish it", request("PUT", withDigest(location, sha256(other)), { Authorization: pull }, other));
        // Spellings the registry would still read as the pull user's Basic credentials.
        await denied("lower-case scheme", startUpload(repo, basic(pullUser, pullPassword, "basic")));
        await denied("two Authorization headers", request("POST", `/v2/${repo}/blobs/uploads/`, { Authorization: [push, pull] as unknown as string }));
        const still = await request("HEAD", `/v2/${repo}/manifests/${tag}`, { Authorization: pull, Accept: MANIFEST });
        assert.deepStrictEqual([still.status, still.headers["docker-content-digest"]], [200, manifestDigest], "the manifest was changed or deleted");
        const notPushed = await request("HEAD", `/v2/${repo}/manifests/${tag}-pull`, { Authorization: push, Accept: MANIFEST });
        assert.strictEqual(notPushed.status, 404);
    });

    it("still asks anonymous writers to log in, and refuses a wrong push password", async function () {
        const anonymous = await startUpload(repo);
        assert.strictEqual(anonymous.status, 401);
        assert.match(String(anonymous.headers["www-authenticate"]), /^Basic realm=/);
        const creds = readEnvFile(path.join(stateDir, "registry", "credentials.env"));
        assert.strictEqual((await startUpload(repo, basic(creds.REGISTRY_USERNAME, "not-the-password"))).status, 401);
    });

    it("adds the pull user to a credentials file made before it existed, keeping the push user as it was", function () {
        const state = fs.mkdtempSync(path.join(os.tmpdir(), "pm-registry-creds-"));
        try {
            const file = path.join(state, "registry", "credentials.env");
            fs.mkdirSync(path.dirname(file), { recursive: true });
            const old = "REGISTRY_USERNAME=prod-mirror\nREGISTRY_PASSWORD=0123456789abcdef0123456789abcdef01234567\n";
            fs.writeFileSync(file, old, { mode: 0o600 });
            const ensure = (): void => {
                const r = spawnSync("bash", [path.join(repoRoot, "local", "parts", "registry.sh"), "credentials"], { env: { ...process.env, PROD_MIRROR_STATE: state }, encoding: "utf8" });
                assert.strictEqual(r.status, 0, r.stderr);
            };
            ensure();
            const text = fs.readFileSync(file, "utf8");
            assert.ok(text.startsWith(old), "the push user's lines changed");
            assert.match(text.slice(old.length), /^REGISTRY_PULL_USERNAME=prod-mirror-pull\nREGISTRY_PULL_PASSWORD=[0-9a-f]{40}\n$/);
            assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
            const htpasswd = path.join(state, "registry", "htpasswd");
            const verify = (user: string, password: string): number | null =>
                spawnSync("htpasswd", ["-v", "-i", htpasswd, user], { input: password, encoding: "utf8" }).status;
            const pullPw = readEnvFile(file).REGISTRY_PULL_PASSWORD;
            assert.deepStrictEqual(
                [verify("prod-mirror", "0123456789abcdef0123456789abcdef01234567"), verify("prod-mirror-pull", pullPw), verify("prod-mirror-pull", "wrong")],
                [0, 0, 3],
            );
            ensure();
            assert.strictEqual(fs.readFileSync(file, "utf8"), text, "a second run changed the credentials");
        } finally {
            fs.rmSync(state, { recursive: true, force: true });
        }
    });
});
