import * as assert from "assert";
import { appProblems, defaultReleaseName, type AppSpec } from "../../components/app-spec";
import { ConfigError } from "../../components/config-error";
import { pathText } from "../../components/env-contract";
import { parseSettings } from "../../components/settings";
import { sampleApp } from "./fixtures";

/** Descriptions that break one rule each, as a program could build them. */
const BROKEN: Array<[string, (app: AppSpec) => void]> = [
    ["a service named like the emulator", (app) => (app.services[0].name = "aws-emulator")],
    ["a service named kubernetes", (app) => (app.services[2].name = "kubernetes")],
    ["a service name no layer accepts", (app) => (app.services[1].name = "Worker")],
    ["a privileged port", (app) => (app.services[1].port = 443)],
    ["neither image nor build", (app) => delete app.services[0].image],
    ["a queue name no layer accepts", (app) => (app.cloud.queues[0].name = "deal_events")],
    ["a service declared twice", (app) => app.services.push({ ...app.services[0] })],
    ["a table declared twice", (app) => app.cloud.tables.push({ ...app.cloud.tables[0] })],
    ["an undeclared use", (app) => app.services[0].uses.buckets.push("ledger")],
    ["an env variable set twice", (app) => (app.services[0].env.HOME = "/root")],
    ["no service", (app) => (app.services = [])],
    ["services besides production's deployment", (app) => (app.deployment = { kind: "manifests", paths: ["app/deploy"] })],
    ["an image named like the emulator", (app) => (app.images = [{ production: "registry.example.com/deals/api", service: "aws-emulator" }])],
    ["an image repository with a tag", (app) => (app.images = [{ production: "registry.example.com/deals/api:1.4", service: "api" }])],
    ["two images of one repository", (app) => (app.images = [{ production: "r.example.com/a", service: "a" }, { production: "r.example.com/a", service: "b" }])],
    ["a stand-in secret without keys", (app) => (app.standIns = { secrets: [{ name: "deal-signing", keys: [] }] })],
    ["a stand-in key listed twice", (app) => (app.standIns = { secrets: [{ name: "deal-signing", keys: ["key", "key"] }] })],
    ["a custom kind of a built-in group", (app) => (app.customResourceKinds = [{ apiVersion: "apps/v1", kind: "Widget", namespaced: true }])],
    ["a queue's production name SQS refuses", (app) => (app.cloud.queues[0].production = { name: "deal events" })],
    ["a bucket's production name S3 refuses", (app) => (app.cloud.buckets[0].production = "Acme_Receipts")],
];

describe("app-spec: one list of rules for the parser and the components", () => {
    it("finds nothing wrong with the sample description", () => {
        assert.deepStrictEqual(appProblems(sampleApp()), []);
    });

    it("lists every problem, in the parser's order, not only the first", () => {
        const app = sampleApp();
        app.services[1].port = 80;
        app.services[0].name = "kubernetes";
        assert.deepStrictEqual(
            appProblems(app).map((p) => pathText(p.at)),
            ["services[0].name", "services[1].port", "services[2].uses.services[0]"],
        );
    });

    it("words each problem for a program that built the description", () => {
        const app = sampleApp();
        app.services = [];
        app.deployment = { kind: "helm", chart: "charts/deals", values: [], set: {}, releaseName: "Deals" };
        app.images = [{ production: "registry.example.com/deals/api", service: "kubernetes" }];
        app.standIns = { secrets: [{ name: "deal-signing", keys: [] }] };
        assert.deepStrictEqual(
            appProblems(app).map((p) => p.message),
            [
                'deployment.helm.releaseName: expected a Helm release name: at most 53 of [a-z0-9-.], starting and ending with a letter or digit, got "Deals"',
                "images[0].service: a name not taken in the namespace (kubernetes: its service links would replace KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT in every pod), got \"kubernetes\"",
                "standIns.secrets[0].keys: expected a non-empty list of the Secret's keys (those production's objects read), got []",
            ],
        );
    });

    it("takes a description from production's deployment without services", () => {
        const app = sampleApp();
        app.services = [];
        app.deployment = { kind: "kustomize", directory: "app/deploy/production" };
        assert.deepStrictEqual(appProblems(app), []);
    });

    it("names a Helm release after its chart's directory unless told", () => {
        assert.strictEqual(defaultReleaseName("charts/deals"), "deals");
        assert.strictEqual(defaultReleaseName("charts/deals/"), "deals");
        assert.strictEqual(defaultReleaseName("./deals"), "deals");
        assert.strictEqual(defaultReleaseName("deals"), "deals");
    });

    for (const [what, edit] of BROKEN) {
        it(`the parser refuses ${what} at the same path and for the same reason`, () => {
            const app = sampleApp();
            edit(app);
            const [first] = appProblems(app);
            assert.ok(first !== undefined, "appProblems must find it");
            assert.throws(
                () => parseSettings({ registryUsername: "ci", app: JSON.stringify(app) }, { stack: "dev", readFile: () => "" }),
                (err: Error) => {
                    assert.ok(err instanceof ConfigError, String(err));
                    assert.ok(
                        err.message.startsWith(`prod-mirror:app.${pathText(first.at)} in Pulumi.dev.yaml is invalid: ${first.expected}`),
                        `${err.message}\ndoes not start with the problem appProblems gives: ${pathText(first.at)}: ${first.expected}`,
                    );
                    return true;
                },
            );
        });
    }
});
