import * as assert from "assert";
import { appProblems, type AppSpec } from "../../components/app-spec";
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
