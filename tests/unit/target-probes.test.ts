import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { externalDefaults } from "../../cli/mirror";
import type { ExternalTarget } from "../../cli/target";
import { backendProblem, bearerChallenge, registryBaseUrl, registryProblem } from "../../cli/target-probes";

/** A registry on a loopback port: Basic auth for `user:pw`, or a Bearer challenge whose realm is /token on the same server. */
async function registry(mode: "basic" | "bearer"): Promise<{ server: string; seen: string[]; close: () => void }> {
    const seen: string[] = [];
    const good = `Basic ${Buffer.from("user:pw").toString("base64")}`;
    const srv = http.createServer((req, res) => {
        seen.push(req.url ?? "");
        const ok = req.headers.authorization === good;
        if (req.url === "/v2/" && mode === "basic") {
            res.writeHead(ok ? 200 : 401, ok ? {} : { "WWW-Authenticate": 'Basic realm="r"' }).end();
        } else if (req.url === "/v2/") {
            const { port } = srv.address() as AddressInfo;
            res.writeHead(401, { "WWW-Authenticate": `Bearer realm="http://127.0.0.1:${port}/token",service="reg"` }).end();
        } else {
            res.writeHead(ok ? 200 : 401).end();
        }
    });
    await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
    return { server: `127.0.0.1:${(srv.address() as AddressInfo).port}`, seen, close: () => srv.close() };
}

const creds = (password: string) => ({ username: "user", password, source: "CI_REGISTRY_USER/CI_REGISTRY_PASSWORD" });

describe("cli: probing an external target", () => {
    it("speaks plain HTTP to a loopback registry only, TLS to every other", () => {
        assert.deepStrictEqual(["127.0.0.1:5000", "localhost:5000", "[::1]:5000", "registry.gitlab.com", "10.0.0.5:5000", "127.example.com"].map(registryBaseUrl), [
            "http://127.0.0.1:5000", "http://localhost:5000", "http://[::1]:5000", "https://registry.gitlab.com", "https://10.0.0.5:5000", "https://127.example.com",
        ]);
    });

    it("reads a Bearer challenge's realm and service, and nothing else", () => {
        assert.deepStrictEqual(bearerChallenge('Bearer realm="https://gitlab.com/jwt/auth",service="container_registry"'), { realm: "https://gitlab.com/jwt/auth", service: "container_registry" });
        assert.strictEqual(bearerChallenge('Basic realm="r"'), undefined);
        assert.strictEqual(bearerChallenge("Bearer service=\"x\""), undefined);
    });

    for (const mode of ["basic", "bearer"] as const) {
        it(`accepts good credentials and names refused ones, on a registry with ${mode} auth`, async () => {
            const r = await registry(mode);
            try {
                assert.strictEqual(await registryProblem(r.server, "CI_REGISTRY", creds("pw")), undefined);
                assert.strictEqual(await registryProblem(r.server, "CI_REGISTRY", creds("wrong")),
                    `the registry ${r.server} (CI_REGISTRY) refused user user (CI_REGISTRY_USER/CI_REGISTRY_PASSWORD): HTTP 401; nothing was created; check CI_REGISTRY_USER/CI_REGISTRY_PASSWORD`);
                assert.deepStrictEqual(r.seen, mode === "basic" ? ["/v2/", "/v2/"] : ["/v2/", "/token?service=reg", "/v2/", "/token?service=reg"]);
            } finally {
                r.close();
            }
        });
    }

    it("names a registry that does not answer, with the URL it asked", async () => {
        const r = await registry("basic");
        r.close();
        assert.strictEqual(await registryProblem(r.server, "PROD_MIRROR_REGISTRY", creds("pw")),
            `the registry ${r.server} (PROD_MIRROR_REGISTRY) does not answer at http://${r.server}/v2/: connect ECONNREFUSED ${r.server}; nothing was created; check PROD_MIRROR_REGISTRY and that the registry runs`);
    });

    it("checks a file backend's directory exists and is one, creating nothing", async () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pm-probe-"));
        try {
            assert.strictEqual(await backendProblem({ kind: "file", url: `file://${tmp}`, dir: tmp }, {}), undefined);
            const missing = path.join(tmp, "state");
            assert.strictEqual(await backendProblem({ kind: "file", url: `file://${missing}`, dir: missing }, {}),
                `the state directory ${missing} (PULUMI_BACKEND_URL) does not exist: nothing was created; create it once (mkdir -p ${missing}) or fix PULUMI_BACKEND_URL`);
            assert.ok(!fs.existsSync(missing));
            fs.writeFileSync(missing, "");
            assert.match(String(await backendProblem({ kind: "file", url: `file://${missing}`, dir: missing }, {})), /is not a directory/);
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });

    describe("what an external target writes into a stack", () => {
        const target = {
            kind: "external",
            registry: { server: "registry.example", serverSource: "CI_REGISTRY", push: creds("pw"), pull: creds("pw") },
        } as unknown as ExternalTarget;
        const cfg = (values: Record<string, string>) => Object.fromEntries(Object.entries(values).map(([k, value]) => [`prod-mirror:${k}`, { value, secret: false }]));

        it("its registry always, the emulator image from PROD_MIRROR_EMULATOR_IMAGE over the stack's", () => {
            assert.deepStrictEqual(externalDefaults(cfg({ registryServer: "127.0.0.1:5000", appFile: "a.yaml", cloudMode: "emulated", emulatorImage: "old/moto:1" }), { ...target, emulatorImage: "new/moto:2" }, "s"),
                { registryServer: "registry.example", emulatorImage: "new/moto:2" });
            assert.deepStrictEqual(externalDefaults(cfg({ appFile: "a.yaml", cloudMode: "emulated", emulatorImage: "old/moto:1" }), target, "s"), { registryServer: "registry.example" });
            assert.deepStrictEqual(externalDefaults(cfg({ cloudMode: "aws" }), target, "s"), { registryServer: "registry.example", appFile: "app/production.yaml" });
        });

        it("the operator group the identity is in, unless the stack names one", () => {
            assert.deepStrictEqual(externalDefaults(cfg({ cloudMode: "aws", appFile: "a.yaml" }), target, "s", "prod-mirror:operators"), { registryServer: "registry.example", operatorGroup: "prod-mirror:operators" });
            assert.deepStrictEqual(externalDefaults(cfg({ cloudMode: "aws", appFile: "a.yaml", operatorGroup: "team:ci" }), target, "s", "prod-mirror:operators"), { registryServer: "registry.example" });
            assert.deepStrictEqual(externalDefaults(cfg({ cloudMode: "aws", appFile: "a.yaml" }), target, "s"), { registryServer: "registry.example" });
        });

        it("refuses an emulated stack with no emulator image, naming both settings", () => {
            assert.throws(() => externalDefaults({}, target, "main-1"), {
                name: "UsageError",
                message: /^stack main-1 runs the AWS emulator \(cloudMode emulated\) but has no emulator image, and an external target has no local one to give: set PROD_MIRROR_EMULATOR_IMAGE=<registry>\/<repository>:<tag> .*or pulumi config set prod-mirror:emulatorImage <image> --stack main-1; nothing was created\n/,
            });
        });
    });
});
