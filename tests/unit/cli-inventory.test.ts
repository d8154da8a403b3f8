import * as assert from "assert";
import type { StackSummary } from "@pulumi/pulumi/automation";
import { formatDoctorReport, runChecks } from "../../cli/doctor";
import { formatMirrorTable, humanDuration, mirrorRow } from "../../cli/inventory";
import { servicePorts } from "../../cli/mirror";
import { entryServiceOf } from "../../components/production-mirror";
import type { KubeObject } from "../../components/kube-object";
import { TAGS } from "../../cli/stack";
import type { AppSpec, ServiceSpec } from "../../components/app-spec";

const now = new Date("2026-11-25T12:00:00Z");
const summary = (over: Partial<StackSummary> = {}): StackSummary => ({
    name: "pm-feature-x",
    current: false,
    lastUpdate: "2026-11-25T11:30:00.000Z",
    updateInProgress: false,
    resourceCount: 31,
    ...over,
});
const tags = {
    [TAGS.branch]: "feature/x",
    [TAGS.createdAt]: "2026-11-23T09:00:00Z",
    [TAGS.expiresAt]: "2026-11-26T14:30:00Z",
    [TAGS.entryUrl]: "http://127.0.0.1:41234",
};

describe("cli: ls", () => {
    it("reads a live mirror's row from its summary and tags", () => {
        assert.deepStrictEqual(mirrorRow(summary(), tags, now), {
            stack: "pm-feature-x",
            branch: "feature/x",
            createdAt: "2026-11-23T09:00:00Z",
            expiresAt: "2026-11-26T14:30:00Z",
            lastUpdate: "2026-11-25T11:30:00.000Z",
            status: "live",
            entryUrl: "http://127.0.0.1:41234",
            resourceCount: 31,
        });
    });

    it("calls a mirror updating, expired or empty, in that order of precedence", () => {
        assert.strictEqual(mirrorRow(summary({ updateInProgress: true }), { ...tags, [TAGS.expiresAt]: "2026-11-01T00:00:00Z" }, now).status, "updating");
        assert.strictEqual(mirrorRow(summary(), { ...tags, [TAGS.expiresAt]: "2026-11-25T12:00:00Z" }, now).status, "expired");
        assert.strictEqual(mirrorRow(summary({ resourceCount: 0 }), tags, now).status, "empty");
        assert.strictEqual(mirrorRow(summary(), {}, now).branch, "?");
        assert.strictEqual(mirrorRow(summary(), { ...tags, [TAGS.expiresAt]: "2026-11-25T12:00:01Z" }, now).status, "live", "a mirror a second before its expiry");
        assert.strictEqual(mirrorRow(summary({ resourceCount: 0 }), { ...tags, [TAGS.expiresAt]: "2026-11-25T12:00:01Z" }, now).status, "empty");
    });

    it("writes durations in days+hours, hours+minutes or minutes", () => {
        assert.strictEqual(humanDuration("2026-11-23T09:00:00Z", now), "2d3h");
        assert.strictEqual(humanDuration("2026-11-25T14:30:00Z", now), "2h30m");
        assert.strictEqual(humanDuration("2026-11-25T11:53:10Z", now), "6m");
        assert.strictEqual(humanDuration(undefined, now), "-");
        assert.strictEqual(humanDuration("not a date", now), "-");
    });

    it("prints an aligned table with age, time left and the entry URL", () => {
        const rows = [mirrorRow(summary(), tags, now), mirrorRow(summary({ name: "pm-main" }), { [TAGS.branch]: "main", [TAGS.expiresAt]: "2026-11-20T00:00:00Z" }, now)];
        assert.strictEqual(
            formatMirrorTable(rows, now),
            [
                "BRANCH     STACK         AGE   EXPIRES IN  LAST UPDATE  STATUS   ENTRY",
                "feature/x  pm-feature-x  2d3h  1d2h        30m ago      live     http://127.0.0.1:41234",
                "main       pm-main       -     expired     30m ago      expired  -",
                "",
            ].join("\n"),
        );
        assert.strictEqual(formatMirrorTable([], now), "no mirrors on this backend\n");
    });

    it("prints - for what a stack made elsewhere lacks, and expired from the very second of expiry", () => {
        const rows = [
            mirrorRow(summary({ name: "pm-bare", lastUpdate: undefined }), {}, now),
            mirrorRow(summary({ name: "pm-due" }), { [TAGS.branch]: "due", [TAGS.createdAt]: "2026-11-25T11:59:00Z", [TAGS.expiresAt]: "2026-11-25T12:00:00Z" }, now),
            mirrorRow(summary({ name: "pm-soon" }), { [TAGS.branch]: "soon", [TAGS.expiresAt]: "2026-11-25T12:00:59Z" }, now),
        ];
        assert.strictEqual(
            formatMirrorTable(rows, now),
            [
                "BRANCH  STACK    AGE  EXPIRES IN  LAST UPDATE  STATUS   ENTRY",
                "?       pm-bare  -    -           -            live     -",
                "due     pm-due   1m   expired     30m ago      expired  -",
                "soon    pm-soon  -    0m          30m ago      live     -",
                "",
            ].join("\n"),
        );
    });
});

describe("cli: entry service", () => {
    const service = (name: string, calls: string[] = []): ServiceSpec =>
        ({ name, port: 8080, env: {}, replicas: 1, uses: { queues: [], buckets: [], tables: [], services: calls } }) as unknown as ServiceSpec;

    it("is the first service no other service calls", () => {
        const app = { services: [service("api"), service("worker"), service("gateway", ["api", "worker"])] } as unknown as AppSpec;
        assert.strictEqual(entryServiceOf([], app), "gateway");
    });

    it("is the Service production's Ingress routes to, when there is one", () => {
        const svc = (name: string): KubeObject => ({ apiVersion: "v1", kind: "Service", metadata: { name } });
        const ingress = (spec: object): KubeObject => ({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "web" }, spec });
        const none = { services: [] } as unknown as AppSpec;
        assert.strictEqual(entryServiceOf([svc("api"), svc("gateway"), ingress({ rules: [{ host: "x", http: { paths: [{ path: "/", backend: { service: { name: "gateway" } } }] } }] })], none), "gateway");
        assert.strictEqual(entryServiceOf([svc("api"), ingress({ rules: [{ host: "x" }], defaultBackend: { service: { name: "web" } } })], none), "web");
        assert.strictEqual(entryServiceOf([svc("api"), svc("gateway")], none), "api");
        assert.strictEqual(entryServiceOf([], none), undefined);
    });

    it("forwards each Service on the port its URL names", () => {
        assert.deepStrictEqual(servicePorts({ api: "http://api.pm-x.svc.cluster.local:8080", gateway: "http://gateway.pm-x.svc.cluster.local:8000" }), [
            { name: "api", port: 8080 },
            { name: "gateway", port: 8000 },
        ]);
    });

    it("falls back to the first service when every service is called (a cycle)", () => {
        const app = { services: [service("a", ["b"]), service("b", ["a"])] } as unknown as AppSpec;
        assert.strictEqual(entryServiceOf([], app), "a");
    });
});

describe("cli: doctor", () => {
    it("runs every check after a failure, counts a throwing check as failed and prints each fix", async () => {
        const ran: string[] = [];
        const report = await runChecks([
            { name: "pulumi CLI", run: () => (ran.push("cli"), Promise.resolve({ ok: true, detail: "v3.274.1" })) },
            { name: "registry credentials", run: () => (ran.push("registry"), Promise.resolve({ ok: false, detail: "nothing answers on 127.0.0.1:5000", fix: "npm run local:up" })) },
            { name: "kubernetes cluster", run: () => (ran.push("kube"), Promise.reject(new Error("kubectl: not found"))) },
        ]);
        assert.deepStrictEqual(ran, ["cli", "registry", "kube"]);
        assert.strictEqual(report.ok, false);
        assert.strictEqual(
            formatDoctorReport(report),
            [
                "ok    pulumi CLI            v3.274.1",
                "FAIL  registry credentials  nothing answers on 127.0.0.1:5000",
                "                            fix: npm run local:up",
                "FAIL  kubernetes cluster    kubectl: not found",
                "                            fix: see the detail",
                "2 check(s) failed",
                "",
            ].join("\n"),
        );
    });

    it("is ok only when every check is", async () => {
        const report = await runChecks([{ name: "a", run: () => Promise.resolve({ ok: true, detail: "fine" }) }]);
        assert.strictEqual(report.ok, true);
        assert.match(formatDoctorReport(report), /everything a mirror needs answers\n$/);
    });
});
