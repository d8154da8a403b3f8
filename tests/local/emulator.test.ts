// The AWS emulator of the local environment: moto's server on 127.0.0.1 for tests, the same server
// in the image pushed to the local registry for the `emulated` cloud mode (run as a non-root uid, as
// Kubernetes' restricted profile does), and a private instance a test starts and stops by its pid.
import * as assert from "assert";
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as path from "path";

import { ensureLocalEnv, freePort, listening, repoRoot } from "./local-env";
import { motoPython, pinned, registryAddr } from "./local-state";

const smokeScript = path.join(__dirname, "fixtures", "aws_smoke.py");

interface Smoke {
    buckets: string[];
    object: string;
    queues: string[];
    messages: string[];
}

/** Creates a bucket and a queue on ENDPOINT with boto3 and asserts they are there. */
function assertServesS3AndSqs(endpoint: string, suffix: string): void {
    const r = spawnSync(motoPython(), [smokeScript, endpoint, suffix], { encoding: "utf8", timeout: 60000 });
    assert.strictEqual(r.status, 0, `aws_smoke.py against ${endpoint} exited ${r.status}\n${r.stderr}`);
    const seen = JSON.parse(r.stdout) as Smoke;
    assert.ok(seen.buckets.includes(`smoke-${suffix}`), `buckets: ${seen.buckets.join(", ")}`);
    assert.strictEqual(seen.object, `hello from ${suffix}`);
    assert.ok(
        seen.queues.some((url) => url.endsWith(`/smoke-${suffix}`)),
        `queues: ${seen.queues.join(", ")}`,
    );
    assert.deepStrictEqual(seen.messages, [`message ${suffix}`]);
}

async function waitFor(what: string, seconds: number, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (!(await check())) {
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${seconds}s waiting for ${what}`);
        }
        await new Promise((r) => setTimeout(r, 250));
    }
}

function answersHttp(url: string): Promise<boolean> {
    return fetch(url, { signal: AbortSignal.timeout(2000) }).then(
        (res) => res.status === 200,
        () => false,
    );
}

function portFree(port: number): Promise<boolean> {
    return listening(port).then((busy) => !busy);
}

describe("local environment: AWS emulator", function () {
    let env: NodeJS.ProcessEnv;
    const suffix = `t${process.pid}-${Date.now()}`;

    before(function () {
        this.timeout(90 * 60 * 1000);
        env = ensureLocalEnv();
    });

    it("moto on the host endpoint serves S3 and SQS", function () {
        const endpoint = execFileSync("bash", [path.join(repoRoot, "local", "parts", "emulator.sh"), "endpoint"], {
            encoding: "utf8",
        }).trim();
        assert.strictEqual(endpoint, "http://127.0.0.1:4566");
        assertServesS3AndSqs(endpoint, `host-${suffix}`);
    });

    describe("the emulator image from the local registry", function () {
        const image = `${registryAddr}/prod-mirror/moto:${pinned("MOTO_VERSION")}`;
        let container = "";

        function docker(args: string[]): string {
            const r = spawnSync("docker", args, { env, encoding: "utf8", timeout: 5 * 60 * 1000 });
            assert.strictEqual(r.status, 0, `docker ${args.join(" ")} exited ${r.status}\n${r.stderr}`);
            return r.stdout.trim();
        }

        after(function () {
            if (container) {
                spawnSync("docker", ["rm", "--force", container], { env });
            }
        });

        it("runs as uid 65532 with moto_server and python3 + boto3 on PATH", async function () {
            this.timeout(2 * 60 * 1000);
            assert.strictEqual(docker(["image", "inspect", "--format", "{{.Config.User}}", image]), "65532:65532");
            container = docker(["run", "--detach", "--user", "65532:65532", "--publish", "127.0.0.1::4566", image]);
            assert.strictEqual(docker(["exec", container, "id", "-u"]), "65532");
            assert.strictEqual(docker(["exec", container, "sh", "-c", "command -v moto_server"]), "/usr/local/bin/moto_server");
            assert.match(docker(["exec", container, "python3", "-c", "import boto3; print(boto3.__version__)"]), /^\d+\.\d+/);
        });

        it("serves S3 and SQS on its published loopback port", async function () {
            this.timeout(2 * 60 * 1000);
            assert.ok(container, "the container did not start");
            const published = docker(["port", container, "4566/tcp"]).split("\n")[0];
            const m = /^127\.0\.0\.1:(\d+)$/.exec(published);
            assert.ok(m, `published on ${published}, want 127.0.0.1:PORT`);
            const endpoint = `http://127.0.0.1:${m[1]}`;
            await waitFor(`moto in the container on ${endpoint}`, 60, () => answersHttp(`${endpoint}/moto-api/`));
            assertServesS3AndSqs(endpoint, `image-${suffix}`);
        });
    });

    describe("a private instance started with local/emulator/run-moto.sh", function () {
        let child: ChildProcess | undefined;

        after(function () {
            child?.kill("SIGKILL");
        });

        it("serves S3 and SQS on its own port and stops by its pid, leaving the port free", async function () {
            this.timeout(2 * 60 * 1000);
            const port = await freePort();
            const endpoint = `http://127.0.0.1:${port}`;
            child = spawn("bash", [path.join(repoRoot, "local", "emulator", "run-moto.sh"), String(port)], {
                stdio: "ignore",
            });
            await waitFor(`run-moto.sh on ${endpoint}`, 60, () => answersHttp(`${endpoint}/moto-api/`));
            assertServesS3AndSqs(endpoint, `private-${suffix}`);
            const exited = new Promise((resolve) => child?.once("exit", resolve));
            assert.ok(child.pid, "run-moto.sh has no pid");
            process.kill(child.pid, "SIGTERM");
            await exited;
            child = undefined;
            await waitFor(`port ${port} to be free`, 10, () => portFree(port));
        });
    });
});
