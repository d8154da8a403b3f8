// Pulumi's integration-test lifecycle on the real local environment, for one fresh branch stack:
// preview, up, assert the live objects, the e2e flow, up again and refresh with no changes,
// destroy and stack rm leaving nothing behind.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { OutputMap, UpResult } from "@pulumi/pulumi/automation";
import { repoRoot } from "../../cli/local-environment";
import { destroyMirror, forwardServices, prepareMirror, useLocalEnvironment, type PreparedMirror } from "../../cli/mirror";
import { startForwards, stopForwards } from "../../cli/port-forward";
import { findStack } from "../../cli/stack";
import { DEFAULT_NAME_PREFIX } from "../../components/app-spec";
import { PROJECT } from "../../components/config-error";
import { parseSettings } from "../../components/settings";
import { awsTagValue, cloudResourceName, labelValue } from "../../components/naming";
import type { FidelityReport } from "../../components/rewrite";
import { eventually, kubectl, kubectlJson } from "./cluster";
import { assertLiveEqualsProductionPlusReport, renderWithKubectl } from "./fidelity";
import { walkDealFlow } from "./deal-flow";
import { asClusterAdmin } from "../local/local-env";

const timings: Array<[string, number]> = [];
async function timed<T>(step: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    try {
        return await fn();
    } finally {
        timings.push([step, (Date.now() - started) / 1000]);
    }
}

const log = (line: string): void => {
    process.stderr.write(`      ${line}\n`);
};
const quiet = { onOutput: (): void => undefined };

function nonSameChanges(summary: { resourceChanges?: Record<string, number> }): Record<string, number> {
    return Object.fromEntries(Object.entries(summary.resourceChanges ?? {}).filter(([op, n]) => op !== "same" && n > 0));
}

describe("mirror lifecycle on the local environment", function () {
    const branch = `it/lifecycle-${crypto.randomBytes(3).toString("hex")}`;
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).trim();
    let env: NodeJS.ProcessEnv;
    let mirror: PreparedMirror;
    let up: UpResult;
    let outputs: OutputMap;
    let namespace: string;
    let destroyed = false;

    before(async function () {
        this.timeout(90 * 60_000);
        const local = useLocalEnvironment();
        env = process.env;
        mirror = await timed("prepare (config + images)", () => prepareMirror({ branch, commit }, 1, local, log));
    });

    after(async function () {
        this.timeout(15 * 60_000);
        log(`lifecycle timings: ${timings.map(([s, t]) => `${s} ${t.toFixed(1)}s`).join(", ")}`);
        if (!destroyed && mirror !== undefined) {
            // A failed step must not leave a mirror behind: say what was there, then remove it.
            const left = namespace ? kubectl(env, "get", "all", "-n", namespace, "--ignore-not-found").trim() : "";
            log(`cleaning up after a failure; left in ${namespace}:\n${left}`);
            await destroyMirror(branch, mirror.local, log);
        }
    });

    it("previews the mirror it is about to create", async function () {
        this.timeout(10 * 60_000);
        const preview = await timed("preview", () => mirror.stack.preview(quiet));
        assert.ok((preview.changeSummary.create ?? 0) >= 20, `preview plans to create ${JSON.stringify(preview.changeSummary)}`);
    });

    it("creates it with up", async function () {
        this.timeout(20 * 60_000);
        up = await timed("up", () => mirror.stack.up(quiet));
        assert.strictEqual(up.summary.result, "succeeded");
        outputs = up.outputs;
        namespace = String(outputs.namespace.value);
        assert.match(namespace, /^pm-it-lifecycle-[0-9a-f]{6}/);
    });

    it("labels the namespace and enforces Pod Security restricted", function () {
        const ns = kubectlJson(env, "get", "namespace", namespace);
        assert.strictEqual(ns.metadata.labels["app.kubernetes.io/managed-by"], "prod-mirror");
        assert.strictEqual(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
        assert.strictEqual(ns.metadata.labels["prod-mirror.dev/commit"], commit);
        assert.strictEqual(ns.metadata.annotations["prod-mirror.dev/branch"], branch);
        const privileged = JSON.stringify({
            apiVersion: "v1", kind: "Pod", metadata: { name: "privileged", namespace },
            spec: { containers: [{ name: "c", image: "127.0.0.1:5000/prod-mirror/debian:bookworm", securityContext: { privileged: true } }] },
        });
        const file = path.join(fs.mkdtempSync("/tmp/pm-it-"), "pod.json");
        fs.writeFileSync(file, privileged);
        assert.throws(() => kubectl(env, "create", "--dry-run=server", "-f", file), /violates PodSecurity "restricted:latest"/);
    });

    it("has a dockerconfigjson pull secret with exactly the registry credentials, bound to the workloads", function () {
        const secrets = kubectlJson(env, "get", "secrets", "-n", namespace).items.filter((s: { type: string }) => s.type === "kubernetes.io/dockerconfigjson");
        assert.strictEqual(secrets.length, 1);
        const config = JSON.parse(Buffer.from(secrets[0].data[".dockerconfigjson"], "base64").toString("utf8"));
        const { server, username, password } = mirror.local.registry;
        assert.strictEqual(username, "prod-mirror-pull", "the pull secret must carry the pull-only user");
        assert.deepStrictEqual(Object.keys(config.auths), [server]);
        assert.strictEqual(config.auths[server].username, username);
        assert.strictEqual(config.auths[server].password, password);
        assert.strictEqual(config.auths[server].auth, Buffer.from(`${username}:${password}`).toString("base64"));
        assert.ok(!JSON.stringify(secrets[0].metadata.annotations ?? {}).includes(password), "the password leaked into an annotation");

        // Bound: the workloads' ServiceAccount and every pod (services, emulator) name
        // pull secrets that exist here as dockerconfigjson, so the kubelet really has the credentials.
        const types = new Map<string, string>(kubectlJson(env, "get", "secrets", "-n", namespace).items.map((s: { metadata: { name: string }; type: string }) => [s.metadata.name, s.type]));
        const problems: string[] = [];
        const checkPullSecrets = (what: string, refs: Array<{ name: string }> | undefined): void => {
            if (refs === undefined || refs.length === 0) {
                problems.push(`${what} names no pull secret`);
            }
            for (const { name } of refs ?? []) {
                if (types.get(name) !== "kubernetes.io/dockerconfigjson") {
                    problems.push(`${what} names pull secret ${name}, ${types.has(name) ? `of type ${types.get(name)}` : "which is not in the namespace"}`);
                }
            }
        };
        // Two accounts: the mirror's, which the workloads run as, and production's own (applied, but
        // without production's cloud identity).
        const accounts = kubectlJson(env, "get", "serviceaccounts", "-n", namespace, "-l", `prod-mirror.dev/stack=${labelValue(mirror.stackName)}`).items;
        const ours = accounts.filter((a: { imagePullSecrets?: unknown[] }) => a.imagePullSecrets !== undefined);
        assert.strictEqual(ours.length, 1, "the stack should make exactly one ServiceAccount with the pull secret");
        const account = ours[0].metadata.name as string;
        checkPullSecrets(`serviceaccount/${account}`, ours[0].imagePullSecrets);
        const production = accounts.find((a: { metadata: { name: string } }) => a.metadata.name === "deals");
        assert.ok(production !== undefined, "production's ServiceAccount deals is not applied");
        assert.deepStrictEqual(production.metadata.annotations?.["eks.amazonaws.com/role-arn"], undefined, "production's IRSA role reached the mirror");
        const pods = kubectlJson(env, "get", "pods", "-n", namespace).items;
        assert.ok(pods.length >= 5, `only ${pods.length} pods: 4 of the services and the emulator's expected`);
        for (const pod of pods) {
            checkPullSecrets(`pod/${pod.metadata.name}`, pod.spec.imagePullSecrets);
            if (pod.spec.serviceAccountName !== account) {
                problems.push(`pod/${pod.metadata.name} runs as ${pod.spec.serviceAccountName}, not ${account}`);
            }
        }
        assert.deepStrictEqual(problems, []);
    });

    it("runs every pod Ready, from images in the authenticated registry, with the pull secret", async function () {
        this.timeout(5 * 60_000);
        const pods = await eventually("every pod Running and Ready", 180_000, () => {
            const items = kubectlJson(env, "get", "pods", "-n", namespace).items.filter((p: { status: { phase: string } }) => p.status.phase !== "Succeeded");
            const ready = items.every((p: { status: { conditions?: Array<{ type: string; status: string }> } }) =>
                p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
            return items.length >= 4 && ready ? items : undefined;
        });
        for (const pod of pods) {
            assert.ok(pod.spec.imagePullSecrets?.length > 0, `pod ${pod.metadata.name} has no imagePullSecrets`);
            for (const c of pod.spec.containers) {
                assert.ok(c.image.startsWith("127.0.0.1:5000/"), `${pod.metadata.name} runs ${c.image}`);
            }
        }
    });

    it("is production's own objects plus exactly the reported changes (fidelity), and `diff` shows them", async function () {
        this.timeout(3 * 60_000);
        const report = outputs.fidelity.value as FidelityReport;
        // Production's objects, rendered by kubectl's own kustomize: independent of the program's renderer.
        // As cluster-admin: the check also looks for production's cluster-scoped objects, which the mirror must not have made.
        const production = renderWithKubectl(env, path.join(repoRoot, "app", "deploy", "production"));
        const compared = assertLiveEqualsProductionPlusReport(asClusterAdmin(env), production, report, namespace);
        log(`fidelity: ${compared} fields of ${report.objects.length} objects compared, ${report.objects.reduce((n, o) => n + o.changes.length, 0)} reported changes, ${report.skipped.length} skipped`);
        assert.deepStrictEqual(report.skipped.map((s) => s.object), ["PriorityClass/deals-critical"]);
        assert.deepStrictEqual(report.standIns.map((s) => [s.secret, s.referencedBy]), [["deal-signing", ["Deployment/api"]]]);
        // The check can fail: a report that leaves out one change it made is caught.
        const image = report.objects.find((o) => o.object === "Deployment/api") as FidelityReport["objects"][number];
        const withoutImage = { ...report, objects: report.objects.map((o) => (o === image ? { ...o, changes: o.changes.filter((c) => c.rule !== "image") } : o)) };
        assert.throws(() => assertLiveEqualsProductionPlusReport(asClusterAdmin(env), production, withoutImage, namespace), /Deployment\/api \/spec\/template\/spec\/containers\/0\/image/);
        // The stand-in is the mirror's own: a generated value, not production's (which the mirror never sees).
        const standIn = kubectlJson(env, "get", "secret", "deal-signing", "-n", namespace);
        assert.match(Buffer.from(standIn.data.key, "base64").toString("utf8"), /^[A-Za-z0-9_-]{43}$/);
        const table = execFileSync(process.execPath, [path.join(repoRoot, "bin", "prod-mirror.js"), "diff", "--branch", branch], { cwd: repoRoot, env, encoding: "utf8" });
        assert.match(table, /Deployment\/api\s+\/spec\/template\/spec\/containers\/0\/image\s+"registry\.example\.com\/deals\/api:1\.4\.2" → "127\.0\.0\.1:5000\/prod-mirror\/api:/);
        assert.match(table, /PriorityClass\/deals-critical/);
    });

    it("runs the emulator pinned by digest, the one the registry has for moto's tag", function () {
        const deployment = kubectlJson(env, "get", "deployment", "aws-emulator", "-n", namespace);
        const [container] = deployment.spec.template.spec.containers;
        assert.match(container.image, /^127\.0\.0\.1:5000\/prod-mirror\/moto@sha256:[0-9a-f]{64}$/);
    });

    it("labels every object it made with the stack, so a leftover can be found", function () {
        const labelled = kubectl(asClusterAdmin(env), "get", "all,secrets,serviceaccounts,networkpolicies,resourcequotas,limitranges,namespaces",
            "--all-namespaces", "-l", `prod-mirror.dev/stack=${labelValue(mirror.stackName)}`, "-o", "name").split("\n").filter((l) => l !== "");
        for (const kind of ["namespace/", "deployment.apps/", "service/", "secret/", "serviceaccount/", "networkpolicy.networking.k8s.io/", "resourcequota/", "limitrange/"]) {
            assert.ok(labelled.some((l) => l.startsWith(kind)), `no ${kind} labelled with the stack among:\n${labelled.join("\n")}`);
        }
        const unlabelled = kubectlJson(env, "get", "deployments,services,secrets,serviceaccounts,networkpolicies", "-n", namespace).items
            .filter((o: { kind: string; metadata: { name: string; labels?: Record<string, string> } }) =>
                !(o.kind === "ServiceAccount" && o.metadata.name === "default") && !(o.kind === "Secret" && o.metadata.name.startsWith("default-token")) &&
                o.metadata.labels?.["prod-mirror.dev/stack"] !== labelValue(mirror.stackName))
            .map((o: { kind: string; metadata: { name: string } }) => `${o.kind}/${o.metadata.name}`);
        assert.deepStrictEqual(unlabelled, []);
    });

    it("has the quota, the limit range and the network policies", function () {
        assert.strictEqual(kubectlJson(env, "get", "resourcequota", "-n", namespace).items.length, 1);
        assert.strictEqual(kubectlJson(env, "get", "limitrange", "-n", namespace).items.length, 1);
        const policies = kubectlJson(env, "get", "networkpolicy", "-n", namespace).items;
        assert.ok(policies.some((p: { spec: { podSelector: object; policyTypes: string[] } }) =>
            Object.keys(p.spec.podSelector).length === 0 && p.spec.policyTypes.includes("Ingress") && p.spec.policyTypes.includes("Egress")),
            "no default-deny policy");
        assert.ok(policies.length >= 3, `only ${policies.length} network policies`);
    });

    it("has the real API server refuse a pod over the quota and a pod that is not restricted, creating neither", function () {
        // A pod that passes Pod Security restricted (the quota is checked after it) and asks for cpu=5
        // against the default quota's requests.cpu=4 (components/app-spec DEFAULT_QUOTA); its limit of 5
        // on top of the mirror's own 4500m of limits exceeds limits.cpu=8 as well, so the refusal names both.
        const restricted = (name: string, cpu: string, security: Record<string, unknown>): string => {
            const pod = {
                apiVersion: "v1", kind: "Pod", metadata: { name, namespace },
                spec: {
                    securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } },
                    containers: [{
                        name: "c", image: "127.0.0.1:5000/prod-mirror/debian:bookworm",
                        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, ...security },
                        resources: { requests: { cpu, memory: "64Mi" }, limits: { cpu, memory: "64Mi" } },
                    }],
                },
            };
            const file = path.join(fs.mkdtempSync("/tmp/pm-it-"), `${name}.json`);
            fs.writeFileSync(file, JSON.stringify(pod));
            return file;
        };
        const refusal = (file: string): string => {
            try {
                kubectl(env, "create", "-f", file);
            } catch (err) {
                return String((err as { stderr?: string }).stderr);
            }
            return "(created)";
        };
        // The control: the same pod with a small request is admitted, so the refusals below are the quota's and Pod Security's alone.
        assert.match(kubectl(env, "create", "--dry-run=server", "-f", restricted("pm-fits", "100m", {})), /^pod\/pm-fits created \(server dry run\)$/m);

        const overQuota = refusal(restricted("pm-over-quota", "5", {}));
        assert.match(overQuota, /pods "pm-over-quota" is forbidden: exceeded quota: [a-z0-9-]+, requested: limits\.cpu=5,requests\.cpu=5, used: limits\.cpu=[0-9]+m,requests\.cpu=[0-9]+m, limited: limits\.cpu=8,requests\.cpu=4\n/);
        // The pod-level runAsNonRoot is dropped and the container sets none: restricted requires it.
        const rootAllowed = restricted("pm-may-run-as-root", "100m", {});
        const pod = JSON.parse(fs.readFileSync(rootAllowed, "utf8"));
        delete pod.spec.securityContext.runAsNonRoot;
        fs.writeFileSync(rootAllowed, JSON.stringify(pod));
        assert.match(refusal(rootAllowed), /pods "pm-may-run-as-root" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true \(pod or container "c" must set securityContext\.runAsNonRoot=true\)/);
        // Privileged needs privilege escalation allowed too, or validation refuses it before Pod Security sees it.
        const privileged = refusal(restricted("pm-privileged", "100m", { privileged: true, allowPrivilegeEscalation: true }));
        assert.match(privileged, /pods "pm-privileged" is forbidden: violates PodSecurity "restricted:latest": /);
        assert.match(privileged, /privileged \(container "c" must not set securityContext\.privileged=true\)/);
        assert.match(privileged, /allowPrivilegeEscalation != false \(container "c" must set securityContext\.allowPrivilegeEscalation=false\)/);

        const created = kubectl(env, "get", "pods", "-n", namespace, "-o", "name").split("\n").filter((l) => l.startsWith("pod/pm-"));
        assert.deepStrictEqual(created, [], "a refused pod exists");
        log(`figure: the API server refused a pod over the quota ("${overQuota.slice(overQuota.indexOf("pods ")).trim()}") and two pods not restricted`);
    });

    it("creates every declared AWS resource in the namespace's emulator, tagged with branch and stack", async function () {
        this.timeout(2 * 60_000);
        const [forward] = await startForwards({
            runDir: path.join(mirror.local.mirrorsDir, "run"), logDir: path.join(mirror.local.mirrorsDir, "logs"),
            stackName: `${mirror.stackName}-emulator`, namespace, services: [{ name: "aws-emulator", port: 4566 }], env,
        });
        try {
            const python = path.join(env.PROD_MIRROR_CACHE as string, "moto", fs.readFileSync(path.join(repoRoot, "local", "versions.env"), "utf8").match(/^MOTO_VERSION=(\S+)/m)![1], "bin", "python3");
            const inventory = JSON.parse(execFileSync(python, [path.join(__dirname, "fixtures", "aws_inventory.py"), forward.url], { encoding: "utf8" }));
            // What should exist comes from production's description (the file this stack names) and
            // the naming rule, not from the program's outputs, which a naming bug would change too.
            const appFile = (await mirror.stack.getConfig(`${PROJECT}:appFile`)).value;
            const emulatorImage = (await mirror.stack.getConfig(`${PROJECT}:emulatorImage`)).value;
            const { cloud } = parseSettings({ registryUsername: "unused", appFile, emulatorImage }, { stack: mirror.stackName, readFile: (f) => fs.readFileSync(path.join(repoRoot, f), "utf8") }).app;
            const declared = { queues: cloud.queues.map((q) => q.name), buckets: cloud.buckets.map((b) => b.name), tables: cloud.tables.map((t) => t.name) };
            const kinds = { queues: "queue", buckets: "bucket", tables: "table" } as const;
            for (const kind of ["queues", "buckets", "tables"] as const) {
                assert.ok(declared[kind].length > 0, `${appFile} declares no ${kind}`);
                const expected = declared[kind].map((n) => cloudResourceName(kinds[kind], DEFAULT_NAME_PREFIX, branch, n)).sort();
                assert.deepStrictEqual(Object.keys(inventory[kind]).sort(), expected, `the ${kind} in the namespace's emulator`);
                for (const name of expected) {
                    const tags = inventory[kind][name];
                    assert.deepStrictEqual({ branch: tags["prod-mirror:branch"], stack: tags["prod-mirror:stack"] }, { branch: awsTagValue(branch), stack: awsTagValue(mirror.stackName) }, `${kind} ${name} tags`);
                }
            }
        } finally {
            stopForwards(path.join(mirror.local.mirrorsDir, "run"), `${mirror.stackName}-emulator`);
        }
    });

    it("serves the whole deal flow through the gateway (e2e)", async function () {
        this.timeout(3 * 60_000);
        const forwards = await forwardServices(mirror, namespace, outputs.serviceUrls.value as Record<string, string>);
        const gateway = forwards.find((f) => f.service === "gateway");
        assert.ok(gateway, "no gateway service to forward to");
        await timed("e2e flow", () => walkDealFlow(gateway.url, `lifecycle ${branch}`));
    });

    it("changes nothing on a second up", async function () {
        this.timeout(10 * 60_000);
        const again = await timed("up (no-op)", () => mirror.stack.up(quiet));
        assert.deepStrictEqual(nonSameChanges(again.summary), {});
    });

    it("finds no drift on refresh", async function () {
        this.timeout(10 * 60_000);
        const refreshed = await timed("refresh", () => mirror.stack.refresh(quiet));
        assert.deepStrictEqual(nonSameChanges(refreshed.summary), {});
    });

    it("leaves every namespaced object to the namespace's deletion, so destroy deletes the namespace alone", async function () {
        const { deployment } = await mirror.stack.exportStack();
        const resources = deployment.resources as Array<{ urn: string; type: string; custom?: boolean; inputs?: { metadata?: { namespace?: string } }; deletedWith?: string }>;
        const ns = resources.filter((r) => r.type === "kubernetes:core/v1:Namespace");
        assert.strictEqual(ns.length, 1, `namespaces in the state: ${ns.map((r) => r.urn).join(", ")}`);
        const namespaced = resources.filter((r) => r.custom === true && r.type.startsWith("kubernetes:") && r.inputs?.metadata?.namespace !== undefined);
        assert.ok(namespaced.length >= 20, `only ${namespaced.length} namespaced objects in the state`);
        const elsewhere = namespaced.filter((r) => r.deletedWith !== ns[0].urn).map((r) => `${r.urn} (deletedWith ${r.deletedWith ?? "none"})`);
        assert.deepStrictEqual(elsewhere, []);
        assert.strictEqual(ns[0].deletedWith, undefined);
    });

    it("destroys it and removes the stack, leaving nothing behind", async function () {
        this.timeout(15 * 60_000);
        assert.deepStrictEqual(await timed("destroy + stack rm", () => destroyMirror(branch, mirror.local, log)), { existed: true, survivors: [] });
        destroyed = true;
        assert.strictEqual(await findStack(mirror.stackName), undefined, "the stack is still on the backend");
        assert.strictEqual(kubectl(env, "get", "namespace", namespace, "--ignore-not-found").trim(), "", "the namespace is still there");
        const labelled = kubectl(asClusterAdmin(env), "get", "all,secrets,configmaps,serviceaccounts,networkpolicies,resourcequotas,limitranges,namespaces",
            "--all-namespaces", "-l", `prod-mirror.dev/stack=${labelValue(mirror.stackName)}`, "-o", "name").trim();
        assert.strictEqual(labelled, "", `objects labelled with the stack remain:\n${labelled}`);
        assert.ok(!fs.existsSync(path.join(mirror.local.mirrorsDir, "run", "forwards", mirror.stackName)), "port-forwards of the stack are still recorded");
    });
});
