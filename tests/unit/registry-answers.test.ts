// checkRegistryAnswers against real sockets on loopback: a registry that answers (even 401), a port
// nothing listens on, and one that accepts the connection but never answers. The exact texts are what
// `up` prints when the registry is down (tests/integration/registry-down.test.ts sees it for real).
import * as assert from "assert";
import * as http from "http";
import * as net from "net";
import { checkAwsEndpointAnswers, checkRegistryAnswers, registryDownMessage } from "../../cli/registry-api";

/** A loopback port nothing listens on: bound by us, then closed. */
async function freePort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
}

async function listening(server: net.Server): Promise<number> {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as net.AddressInfo).port;
}

describe("checkRegistryAnswers: the registry step before any build", () => {
    const servers: net.Server[] = [];
    afterEach(async () => {
        for (const s of servers.splice(0)) {
            await new Promise<void>((resolve) => s.close(() => resolve()));
        }
    });

    it("accepts any HTTP answer to GET /v2/, a 401 without credentials included", async () => {
        const paths: string[] = [];
        const server = http.createServer((req, res) => {
            paths.push(`${req.method} ${req.url}`);
            res.writeHead(401, { "WWW-Authenticate": 'Basic realm="registry"' });
            res.end();
        });
        servers.push(server);
        const port = await listening(server);
        await checkRegistryAnswers(`127.0.0.1:${port}`, { kind: "stack", stackName: "feature-x" });
        assert.deepStrictEqual(paths, ["GET /v2/"]);
    });

    it("refuses a port nothing listens on, naming the endpoint, the stack's setting and the fix", async () => {
        const port = await freePort();
        const server = `127.0.0.1:${port}`;
        await assert.rejects(checkRegistryAnswers(server, { kind: "stack", stackName: "feature-x" }), {
            message:
                `the registry ${server} (prod-mirror:registryServer of stack feature-x) does not answer at http://${server}/v2/: connect ECONNREFUSED ${server}; ` +
                "nothing was built, pushed or deployed; start it, or point the stack at one that answers: " +
                "pulumi config set prod-mirror:registryServer HOST:PORT --stack feature-x, then run up again",
        });
    });

    it("gives up on a registry that accepts but never answers, within its bound", async () => {
        const sockets: net.Socket[] = [];
        const server = net.createServer((socket) => sockets.push(socket));
        servers.push(server);
        const port = await listening(server);
        const started = Date.now();
        try {
            await assert.rejects(checkRegistryAnswers(`127.0.0.1:${port}`, { kind: "local" }, 300), {
                message:
                    `the registry 127.0.0.1:${port} (the local default, the registry local/env.sh runs) does not answer at http://127.0.0.1:${port}/v2/: no answer within 300 ms; ` +
                    "nothing was built, pushed or deployed; start it with 'npm run local:up' (bash local/env.sh up), then run up again",
            });
        } finally {
            sockets.forEach((s) => s.destroy());
        }
        const took = Date.now() - started;
        assert.ok(took >= 300 && took < 2_000, `took ${took} ms`);
    });

    it("never puts anything but the endpoint and the reason in the message", () => {
        assert.strictEqual(
            registryDownMessage("registry.example.invalid:443", { kind: "stack", stackName: "pr-7" }, "getaddrinfo ENOTFOUND registry.example.invalid"),
            "the registry registry.example.invalid:443 (prod-mirror:registryServer of stack pr-7) does not answer at http://registry.example.invalid:443/v2/: " +
                "getaddrinfo ENOTFOUND registry.example.invalid; nothing was built, pushed or deployed; start it, or point the stack at one that answers: " +
                "pulumi config set prod-mirror:registryServer HOST:PORT --stack pr-7, then run up again",
        );
    });
});

describe("checkAwsEndpointAnswers: an aws-mode endpoint before any build", () => {
    it("accepts any HTTP answer, and refuses a port nothing listens on naming the endpoint, the setting and the fix", async () => {
        const server = http.createServer((_req, res) => {
            res.writeHead(404);
            res.end();
        });
        const port = await listening(server);
        try {
            await checkAwsEndpointAnswers(`http://127.0.0.1:${port}`, "feature-x");
        } finally {
            await new Promise<void>((resolve) => server.close(() => resolve()));
        }
        const dead = `127.0.0.1:${await freePort()}`;
        await assert.rejects(checkAwsEndpointAnswers(`http://${dead}`, "feature-x"), {
            message:
                `the AWS endpoint http://${dead} (prod-mirror:awsEndpoint of stack feature-x) does not answer: connect ECONNREFUSED ${dead}; ` +
                "nothing was built, pushed or deployed; start it, or point the stack at one that answers: pulumi config set prod-mirror:awsEndpoint URL --stack feature-x " +
                "(pulumi config rm prod-mirror:awsEndpoint --stack feature-x for real AWS), then run up again",
        });
    });

    it("takes an https endpoint too (http.request alone refuses the protocol), naming it when refused", async () => {
        const dead = `127.0.0.1:${await freePort()}`;
        await assert.rejects(checkAwsEndpointAnswers(`https://${dead}`, "s"), new RegExp(`^Error: the AWS endpoint https://${dead.replace(/\./g, "\\.")} .* connect ECONNREFUSED ${dead.replace(/\./g, "\\.")};`));
    });
});
