// components/render.ts through the real kubernetes plugin: a program (fixtures/render-program, run from a
// copy in a temporary directory with its own file backend) renders each source fixture and the sample
// app's production overlay against the local cluster and exports the objects, or the error. Any attempt
// to reach the internet goes to a closed port, so "no network, no helm or kustomize binary" is checked.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import type { KubeObject } from "../../components/kube-object";
import type { DeploymentSource } from "../../components/app-spec";
import { asClusterAdmin, ensureLocalEnv, repoRoot } from "./local-env";

const FIXTURES = path.join(repoRoot, "tests", "fixtures", "sources");

const CASES: { name: string; projectDir: string; source: DeploymentSource }[] = [
    // First, so that its duration includes starting and configuring the plugin, as a mirror's first render does.
    { name: "sample-cold", projectDir: repoRoot, source: { kind: "kustomize", directory: "app/deploy/production" } },
    { name: "manifests", projectDir: FIXTURES, source: { kind: "manifests", paths: ["manifests"] } },
    { name: "kustomize", projectDir: FIXTURES, source: { kind: "kustomize", directory: "kustomize/overlay" } },
    {
        name: "helm",
        projectDir: FIXTURES,
        source: { kind: "helm", chart: "helm/web", values: ["helm/web/values-prod.yaml"], set: { "image.tag": "3.1.1" }, releaseName: "shop" },
    },
    { name: "helm-missing-dep", projectDir: FIXTURES, source: { kind: "helm", chart: "helm-missing-dep", values: [], set: {}, releaseName: "cache" } },
    { name: "bad-yaml", projectDir: FIXTURES, source: { kind: "manifests", paths: ["bad-yaml"] } },
    { name: "sample-warm", projectDir: repoRoot, source: { kind: "kustomize", directory: "app/deploy/production" } },
];

type Results = Record<string, { ms: number; objects?: KubeObject[]; error?: string }>;

const ids = (objects: KubeObject[] | undefined) => (objects ?? []).map((o) => `${o.kind}/${o.metadata.name}`);
const find = (objects: KubeObject[] | undefined, id: string): any => {
    const found = (objects ?? []).find((o) => `${o.kind}/${o.metadata.name}` === id);
    assert.ok(found, `${id} not rendered; got ${ids(objects).join(", ")}`);
    return found;
};

describe("local environment: rendering deployment sources through the kubernetes plugin", function () {
    let dir: string;
    let env: NodeJS.ProcessEnv;
    let results: Results;
    let upSeconds: number;
    let preview: string;
    const stack = `render-${process.pid}`;

    function run(args: string[]) {
        const r = spawnSync("pulumi", args, { env, cwd: path.join(dir, "program"), encoding: "utf8", timeout: 10 * 60 * 1000 });
        if (r.error) {
            throw r.error;
        }
        assert.strictEqual(r.status, 0, `pulumi ${args.join(" ")} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
        return r.stdout;
    }

    before(function () {
        this.timeout(90 * 60 * 1000);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "pm-render-"));
        const program = path.join(dir, "program");
        fs.cpSync(path.join(__dirname, "fixtures", "render-program"), program, { recursive: true });
        fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(program, "node_modules"));
        // As cluster-admin: this checks the renderer on plain namespaces, not a mirror's rights.
        const { PULUMI_CONFIG_PASSPHRASE_FILE: _personal, ...local } = asClusterAdmin(ensureLocalEnv());
        env = {
            ...local,
            // A backend of this run only: never a person's stacks, and nothing left behind.
            PULUMI_BACKEND_URL: `file://${path.join(dir, "backend")}`,
            PULUMI_CONFIG_PASSPHRASE: "render-test",
            PULUMI_NODEJS_TRANSPILE_ONLY: "true",
            PULUMI_SKIP_UPDATE_CHECK: "1",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            HTTP_PROXY: "http://127.0.0.1:9",
            HTTPS_PROXY: "http://127.0.0.1:9",
            NO_PROXY: "127.0.0.1,localhost",
            PM_REPO_ROOT: repoRoot,
            PM_RENDER_CASES: JSON.stringify(CASES),
        };
        fs.mkdirSync(path.join(dir, "backend"));
        run(["stack", "init", stack, "--non-interactive"]);
        preview = run(["preview", "--non-interactive", "--stack", stack]);
        const start = Date.now();
        run(["up", "--yes", "--skip-preview", "--non-interactive", "--stack", stack]);
        upSeconds = (Date.now() - start) / 1000;
        results = (JSON.parse(run(["stack", "output", "--json", "--stack", stack])) as { results: Results }).results;
        const timings = Object.entries(results).map(([name, r]) => `${name} ${r.ms} ms`);
        process.stdout.write(`      pulumi up ${upSeconds.toFixed(1)} s; renders: ${timings.join(", ")}\n`);
    });

    after(function () {
        this.timeout(5 * 60 * 1000);
        if (dir !== undefined) {
            // The program made nothing in the cluster (a provider is no object there): the backend goes with the directory.
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("ran with no helm or kustomize binary on the program's PATH", function () {
        const r = spawnSync("sh", ["-c", "command -v helm || command -v kustomize"], { env, encoding: "utf8" });
        assert.notStrictEqual(r.status, 0, `found ${r.stdout}`);
    });

    it("renders in preview too, with a provider that does not exist yet", function () {
        // Preview prints the stack outputs as text (its --json form leaves them out): the objects' own values are there.
        for (const svc of ["api", "worker", "gateway"]) {
            assert.ok(preview.includes(`"registry.example.com/deals/${svc}:1.4.2"`), `no ${svc} image in the preview:\n${preview}`);
        }
        assert.ok(preview.includes("- bad-yaml/20-broken.yaml could not be decoded by the kubernetes provider"), preview);
    });

    it("renders the sample app's production overlay: every object, namespaced to deals but the PriorityClass", function () {
        const objects = results["sample-cold"].objects;
        assert.strictEqual(results["sample-cold"].error, undefined);
        assert.deepStrictEqual(ids(objects), [
            "ServiceAccount/deals",
            "ConfigMap/deals-aws",
            "Service/api",
            "Service/gateway",
            "Service/worker",
            "PriorityClass/deals-critical",
            "Deployment/api",
            "Deployment/gateway",
            "Deployment/worker",
            "PodDisruptionBudget/gateway",
            "HorizontalPodAutoscaler/gateway",
            "Ingress/deals",
        ]);
        for (const o of objects ?? []) {
            assert.strictEqual(o.metadata.namespace, o.kind === "PriorityClass" ? undefined : "deals", `${o.kind}/${o.metadata.name}`);
            assert.strictEqual((o.metadata.labels as Record<string, string>)["app.kubernetes.io/part-of"], "deals", `${o.kind}/${o.metadata.name}`);
        }
        assert.deepStrictEqual(results["sample-warm"].objects, objects, "two renders of one overlay differ");
    });

    it("gives the sample's workloads production's images, replicas, identity, priority and restricted security", function () {
        const objects = results["sample-cold"].objects;
        const expected: Record<string, [number, number]> = { api: [3, 8080], worker: [2, 8081], gateway: [2, 8000] };
        for (const [svc, [replicas, port]] of Object.entries(expected)) {
            const d = find(objects, `Deployment/${svc}`);
            const pod = d.spec.template.spec;
            const [c] = pod.containers;
            assert.strictEqual(d.spec.replicas, replicas, svc);
            assert.strictEqual(c.image, `registry.example.com/deals/${svc}:1.4.2`);
            assert.deepStrictEqual(c.ports, [{ name: "http", containerPort: port }]);
            assert.deepStrictEqual(c.readinessProbe.httpGet, { path: "/healthz", port: "http" });
            assert.strictEqual(pod.serviceAccountName, "deals");
            assert.strictEqual(pod.priorityClassName, "deals-critical");
            assert.deepStrictEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } });
            assert.deepStrictEqual(c.securityContext, {
                runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" },
            });
            assert.deepStrictEqual(c.volumeMounts, [{ name: "tmp", mountPath: "/tmp" }]);
            assert.deepStrictEqual(pod.volumes, [{ name: "tmp", emptyDir: { sizeLimit: "256Mi" } }]);
            assert.deepStrictEqual(c.env.slice(0, 2), [{ name: "PORT", value: String(port) }, { name: "HOME", value: "/tmp" }]);
        }
        const api = find(objects, "Deployment/api").spec.template.spec.containers[0];
        assert.deepStrictEqual(api.envFrom, [{ configMapRef: { name: "deals-aws" } }]);
        assert.deepStrictEqual(api.env[2], { name: "DEAL_SIGNING_KEY", valueFrom: { secretKeyRef: { name: "deal-signing", key: "key" } } });
        const worker = find(objects, "Deployment/worker").spec.template.spec.containers[0];
        assert.deepStrictEqual(worker.env.slice(2).map((e: any) => [e.name, e.valueFrom.configMapKeyRef]), [
            ["AWS_REGION", { name: "deals-aws", key: "AWS_REGION" }],
            ["DEAL_EVENTS_QUEUE_URL", { name: "deals-aws", key: "DEAL_EVENTS_QUEUE_URL" }],
            ["RECEIPTS_BUCKET", { name: "deals-aws", key: "RECEIPTS_BUCKET" }],
        ]);
        const gateway = find(objects, "Deployment/gateway").spec.template.spec.containers[0];
        assert.deepStrictEqual(gateway.env.slice(2), [{ name: "API_URL", value: "http://api:8080" }, { name: "WORKER_URL", value: "http://worker:8081" }]);
        assert.deepStrictEqual(find(objects, "ConfigMap/deals-aws").data, {
            AWS_REGION: "eu-west-1",
            DEALS_TABLE: "acme-deals",
            DEAL_EVENTS_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/210987654321/deal-events",
            RECEIPTS_BUCKET: "acme-deal-receipts",
        });
        assert.deepStrictEqual(find(objects, "ServiceAccount/deals").metadata.annotations, { "eks.amazonaws.com/role-arn": "arn:aws:iam::210987654321:role/deals" });
        const ingress = find(objects, "Ingress/deals").spec;
        assert.deepStrictEqual(ingress.tls, [{ hosts: ["deals.example.com"], secretName: "deals-example-com-tls" }]);
        assert.strictEqual(ingress.rules[0].host, "deals.example.com");
        assert.deepStrictEqual(ingress.rules[0].http.paths[0].backend, { service: { name: "gateway", port: { name: "http" } } });
        const hpa = find(objects, "HorizontalPodAutoscaler/gateway").spec;
        assert.deepStrictEqual([hpa.scaleTargetRef.name, hpa.minReplicas, hpa.maxReplicas], ["gateway", 2, 6]);
        assert.deepStrictEqual(find(objects, "PodDisruptionBudget/gateway").spec, { minAvailable: 1, selector: { matchLabels: { "app.kubernetes.io/name": "gateway" } } });
        // No Secret ships with production's manifests: deal-signing and the TLS certificate live elsewhere.
        assert.deepStrictEqual(ids(objects).filter((id) => id.startsWith("Secret/")), []);
    });

    it("gives the sample pods that Pod Security restricted admits as they are, in a namespace that enforces it", function () {
        this.timeout(2 * 60 * 1000);
        const namespace = `pm-render-psa-${process.pid}`;
        const kubectl = (args: string[], input?: string) => spawnSync("kubectl", args, { env, input, encoding: "utf8", timeout: 60 * 1000 });
        const created = kubectl(["create", "-f", "-"], JSON.stringify({
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name: namespace, labels: { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest" } },
        }));
        assert.strictEqual(created.status, 0, created.stderr);
        try {
            // Pods from the templates, server-side dry run: admitted or refused, nothing created. The
            // ServiceAccount and the (cluster-scoped) PriorityClass do not exist here, and admission would
            // refuse the pods for that alone; neither has a bearing on Pod Security.
            const pods = (results["sample-cold"].objects ?? []).filter((o) => o.kind === "Deployment").map((d: any) => {
                const { serviceAccountName: _sa, priorityClassName: _pc, ...spec } = d.spec.template.spec;
                return { apiVersion: "v1", kind: "Pod", metadata: { name: d.metadata.name, namespace }, spec };
            });
            const admitted = kubectl(["create", "--dry-run=server", "-o", "name", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: pods }));
            assert.strictEqual(admitted.status, 0, admitted.stderr);
            assert.deepStrictEqual(admitted.stdout.trim().split("\n"), ["pod/api", "pod/gateway", "pod/worker"]);
            // The namespace does enforce: the same pod without runAsNonRoot is refused.
            const loose = JSON.parse(JSON.stringify(pods[0]));
            delete loose.spec.securityContext.runAsNonRoot;
            delete loose.spec.containers[0].securityContext.runAsNonRoot;
            loose.spec.securityContext.runAsUser = 0;
            delete loose.spec.containers[0].securityContext.runAsUser;
            const refused = kubectl(["create", "--dry-run=server", "-o", "name", "-f", "-"], JSON.stringify(loose));
            assert.notStrictEqual(refused.status, 0, refused.stdout);
            assert.match(refused.stderr, /violates PodSecurity "restricted:latest"/);
        } finally {
            kubectl(["delete", "namespace", namespace, "--wait=false"]);
        }
    });

    it("decodes plain manifests file by file, in name order, flattening the List and skipping empty documents", function () {
        const objects = results.manifests.objects;
        assert.deepStrictEqual(ids(objects), ["Deployment/web", "Service/web", "ConfigMap/web-settings", "ServiceAccount/web", "PodDisruptionBudget/web"]);
        const web = find(objects, "Deployment/web");
        assert.strictEqual(web.spec.replicas, 2);
        assert.strictEqual(web.spec.template.spec.containers[0].image, "registry.example.com/shop/web:3.1.0");
        // The decode is given no namespace: production's objects come back as written.
        assert.strictEqual(web.metadata.namespace, undefined);
    });

    it("builds the kustomize overlay: replicas patched, image renamed and retagged, namespace set", function () {
        const objects = results.kustomize.objects;
        assert.deepStrictEqual(ids(objects), ["Service/shop", "Deployment/shop"]);
        const shop = find(objects, "Deployment/shop");
        assert.strictEqual(shop.spec.replicas, 4);
        assert.strictEqual(shop.spec.template.spec.containers[0].image, "registry.example.com/shop/shop:7.2.0");
        assert.deepStrictEqual(objects?.map((o) => o.metadata.namespace), ["shop-prod", "shop-prod"]);
    });

    it("templates the chart with its vendored subchart, values-prod over values.yaml, then set, in the given namespace", function () {
        const objects = results.helm.objects;
        assert.strictEqual(results.helm.error, undefined);
        // Helm's install order (kinds, not files).
        assert.deepStrictEqual(ids(objects), ["ConfigMap/shop-settings", "Service/shop-web", "Deployment/shop-web"]);
        const web = find(objects, "Deployment/shop-web");
        assert.strictEqual(web.spec.replicas, 3);
        assert.strictEqual(web.spec.template.spec.containers[0].image, "registry.example.com/shop/web:3.1.1");
        assert.strictEqual(web.spec.template.spec.containers[0].imagePullPolicy, "IfNotPresent");
        assert.deepStrictEqual(find(objects, "ConfigMap/shop-settings").data, { LOG_LEVEL: "warn" });
        assert.deepStrictEqual(objects?.map((o) => o.metadata.namespace), ["pm-render", "pm-render", "pm-render"]);
    });

    it("refuses the chart whose dependency is not vendored, before any invoke, naming it", function () {
        assert.strictEqual(results["helm-missing-dep"].objects, undefined);
        assert.strictEqual(
            results["helm-missing-dep"].error,
            "1 problem with production's deployment:\n" +
                '- deployment.helm.chart "helm-missing-dep" depends on redis 17.3.0, which is not vendored under helm-missing-dep/charts/ (as a directory or a .tgz): run `helm dependency build helm-missing-dep` and commit helm-missing-dep/charts/, so that rendering needs no network',
        );
    });

    it("names the file that does not parse, with the provider's reason, and not the one that does", function () {
        const error = results["bad-yaml"].error ?? "";
        assert.strictEqual(results["bad-yaml"].objects, undefined);
        assert.match(error, /^1 problem with production's deployment:\n- bad-yaml\/20-broken\.yaml could not be decoded by the kubernetes provider: .*line \d+.*; fix the file's YAML$/s);
        assert.doesNotMatch(error, /10-good|unclosed/);
    });
});
