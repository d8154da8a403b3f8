// The docker and registry parts of the local environment, used as a developer or the kubelet uses them:
// an image built here (FROM the debootstrap'd base, nothing pulled from outside) runs in the local
// engine; the registry refuses it to anyone without the credentials and serves it to the engine that
// logged in with them.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";

import { ensureLocalEnv, repoRoot } from "./local-env";
import { dockerConfigDir, pinned, registryAddr, registryCredentials } from "./local-state";

interface HttpAnswer {
    status: number;
    headers: http.IncomingHttpHeaders;
}

function request(method: string, url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
        const req = http.request(url, { method, headers, timeout: 10000 }, (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
        });
        req.on("timeout", () => req.destroy(new Error(`${method} ${url} timed out`)));
        req.on("error", reject);
        req.end();
    });
}

function basic(username: string, password: string): string {
    return "Basic " + Buffer.from(`${username}:${password}`).toString("base64");
}

const MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";

describe("local environment: docker engine and authenticated registry", function () {
    let env: NodeJS.ProcessEnv;
    const tag = `t${process.pid}-${Date.now()}`;
    const repo = "prod-mirror/smoke";
    const ref = `${registryAddr}/${repo}:${tag}`;
    const greeting = `built here for ${tag}`;
    let pushedDigest = "";
    let context = "";

    before(function () {
        this.timeout(90 * 60 * 1000);
        env = { ...ensureLocalEnv() };
        env.DOCKER_CONFIG = env.DOCKER_CONFIG ?? dockerConfigDir;
    });

    after(async function () {
        if (context) {
            fs.rmSync(context, { recursive: true, force: true });
        }
        docker(["image", "rm", "--force", ref]);
        if (pushedDigest) {
            const { username, password } = registryCredentials();
            await request("DELETE", `http://${registryAddr}/v2/${repo}/manifests/${pushedDigest}`, {
                Authorization: basic(username, password),
            });
        }
    });

    function docker(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
        return spawnSync("docker", args, { env: { ...env, ...extraEnv }, encoding: "utf8", timeout: 5 * 60 * 1000 });
    }

    function dockerOk(args: string[], extraEnv: NodeJS.ProcessEnv = {}): string {
        const r = docker(args, extraEnv);
        assert.strictEqual(r.status, 0, `docker ${args.join(" ")} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
        return r.stdout;
    }

    it("the engine answers on its unix socket only, with Debian's docker.io", function () {
        assert.match(env.DOCKER_HOST ?? "", /^unix:\/\//);
        const version = dockerOk(["version", "--format", "{{.Server.Version}}"]).trim();
        assert.match(version, /^20\.10\./);
    });

    it("builds an image FROM the local Debian base and pushes it with local/images/build-push.sh", function () {
        context = fs.mkdtempSync(path.join(os.tmpdir(), "pm-smoke-"));
        fs.writeFileSync(
            path.join(context, "Dockerfile"),
            `FROM prod-mirror/debian:${pinned("DEBIAN_SUITE")}\n` +
                `RUN echo '${greeting}' > /greeting\n` +
                `CMD ["cat", "/greeting"]\n`,
        );
        const r = spawnSync("bash", [path.join(repoRoot, "local", "images", "build-push.sh"), context, `${repo}:${tag}`], {
            env,
            encoding: "utf8",
            timeout: 5 * 60 * 1000,
        });
        assert.strictEqual(r.status, 0, `build-push.sh exited ${r.status}\n${r.stderr}`);
        const m = new RegExp(`^${registryAddr}/${repo}@(sha256:[0-9a-f]{64})$`).exec(r.stdout.trim());
        assert.ok(m, `build-push.sh printed ${JSON.stringify(r.stdout)}, want ${registryAddr}/${repo}@sha256:...`);
        pushedDigest = m[1];
    });

    it("runs a container from that image", function () {
        assert.strictEqual(dockerOk(["run", "--rm", ref]).trim(), greeting);
    });

    it("refuses the image to a client without credentials (401 Basic)", async function () {
        const answer = await request("GET", `http://${registryAddr}/v2/${repo}/manifests/${tag}`, { Accept: MANIFEST });
        assert.strictEqual(answer.status, 401);
        assert.match(String(answer.headers["www-authenticate"]), /^Basic realm=/);
    });

    it("refuses the image to wrong credentials", async function () {
        const { username } = registryCredentials();
        const answer = await request("GET", `http://${registryAddr}/v2/${repo}/manifests/${tag}`, {
            Accept: MANIFEST,
            Authorization: basic(username, "not-the-password"),
        });
        assert.strictEqual(answer.status, 401);
    });

    it("serves the image to the right credentials, with the digest that was pushed", async function () {
        const { username, password } = registryCredentials();
        const answer = await request("GET", `http://${registryAddr}/v2/${repo}/manifests/${tag}`, {
            Accept: MANIFEST,
            Authorization: basic(username, password),
        });
        assert.strictEqual(answer.status, 200);
        assert.strictEqual(answer.headers["docker-content-digest"], pushedDigest);
    });

    it("docker pull fails without a login and works with the engine's login", function () {
        dockerOk(["image", "rm", ref]);
        const anonymous = fs.mkdtempSync(path.join(os.tmpdir(), "pm-anon-docker-"));
        try {
            const r = docker(["pull", ref], { DOCKER_CONFIG: anonymous });
            assert.notStrictEqual(r.status, 0, "an anonymous pull must fail");
            assert.match(r.stderr, /no basic auth credentials|unauthorized/);
        } finally {
            fs.rmSync(anonymous, { recursive: true, force: true });
        }
        dockerOk(["pull", ref]);
        assert.strictEqual(dockerOk(["run", "--rm", ref]).trim(), greeting);
    });
});
