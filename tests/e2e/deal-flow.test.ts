// The e2e suite a pipeline runs over a mirror that `prod-mirror up` made: it reads the runner
// variables (`prod-mirror outputs --format dotenv`), reaches the gateway through a port-forward of
// its own on 127.0.0.1, and walks the whole deal flow.
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describeLocalEnvironment } from "../../cli/local-environment";
import { startForwards, stopForwards } from "../../cli/port-forward";
import { walkDealFlow } from "../integration/deal-flow";

const FIX = "export the mirror's variables first: npx prod-mirror outputs --branch B --format dotenv > mirror.env; set -a; . ./mirror.env; set +a";

describe("e2e over the mirror named by PROD_MIRROR_NAMESPACE", function () {
    const namespace = process.env.PROD_MIRROR_NAMESPACE;
    const gatewayUrl = process.env.GATEWAY_URL;
    const forwardKey = `e2e-${crypto.randomBytes(3).toString("hex")}`;
    let runDir: string;
    let logDir: string;

    before(function () {
        assert.ok(namespace, `PROD_MIRROR_NAMESPACE is not set: ${FIX}`);
        assert.ok(gatewayUrl, `GATEWAY_URL is not set: ${FIX}`);
        if (process.env.PROD_MIRROR_TARGET === "external") {
            // A hosted pipeline's job (README "CI"): the mirror is on the target's cluster, which
            // KUBECONFIG names; the local environment's variables would point kubectl elsewhere.
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prod-mirror-e2e-"));
            runDir = path.join(dir, "run");
            logDir = path.join(dir, "logs");
            return;
        }
        const local = describeLocalEnvironment();
        Object.assign(process.env, local.env);
        runDir = path.join(local.mirrorsDir, "run");
        logDir = path.join(local.mirrorsDir, "logs");
    });

    after(() => {
        if (runDir !== undefined) {
            stopForwards(runDir, forwardKey);
        }
    });

    it("creates a deal through the gateway and finds its receipt written by the worker", async function () {
        this.timeout(3 * 60_000);
        // GATEWAY_URL is the in-cluster URL; its port is the Service port to forward.
        const port = Number(new URL(gatewayUrl as string).port || 80);
        const [gateway] = await startForwards({
            runDir,
            logDir,
            stackName: forwardKey,
            namespace: namespace as string,
            services: [{ name: "gateway", port }],
            env: process.env,
        });
        await walkDealFlow(gateway.url, `e2e ${new Date().toISOString()}`);
    });
});
