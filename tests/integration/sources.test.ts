// Production's own deployment, from each kind of source, through the real program on the local
// environment: a Helm chart with a vendored subchart and a kustomize overlay are each mirrored by a
// `pulumi up` of their own stack (their pods Ready, from the branch's image), proven to be production's
// objects plus exactly the reported changes, and destroyed leaving nothing. Then bad input, one case
// after another on one throwaway stack: each `pulumi up` fails fast, says which input is wrong and how
// to fix it, and leaves nothing in the cluster or the stack's state but the provider.
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import type { UpResult } from "@pulumi/pulumi/automation";
import { repoRoot, type LocalEnvironment } from "../../cli/local-environment";
import { destroyMirror, prepareMirror, useLocalEnvironment, type PreparedMirror } from "../../cli/mirror";
import { findStack, openStack } from "../../cli/stack";
import { DEFAULT_NAME_PREFIX } from "../../components/app-spec";
import { PROJECT } from "../../components/config-error";
import type { KubeObject } from "../../components/kube-object";
import { KEYS } from "../../components/manifests";
import { cloudResourceName, imageTag, labelValue, namespaceName, stackName as stackNameFor } from "../../components/naming";
import type { FidelityReport } from "../../components/rewrite";
import { kubectl, kubectlJson } from "./cluster";
import { assertLiveEqualsProductionPlusReport, renderWithKubectl } from "./fidelity";
import { asClusterAdmin } from "../local/local-env";

const log = (line: string): void => {
    process.stderr.write(`      ${line}\n`);
};
const quiet = { onOutput: (): void => undefined };
const FIXTURES = path.join("tests", "fixtures", "sources");
const DESCRIPTIONS = path.join(FIXTURES, "descriptions");

type Change = FidelityReport["objects"][number]["changes"][number];

/** The report's changes of one object, as `rule pointer` lines (labels left out: one per label). */
function changesOf(report: FidelityReport, object: string): string[] {
    const entry = report.objects.find((o) => o.object === object);
    assert.ok(entry, `${object} is not in the report: ${report.objects.map((o) => o.object).join(", ")}`);
    return entry.changes.filter((c) => c.rule !== "labels").map((c) => `${c.rule} ${c.path}`);
}

function change(report: FidelityReport, object: string, pointer: string): Change {
    const found = report.objects.find((o) => o.object === object)?.changes.find((c) => c.path === pointer);
    assert.ok(found, `no reported change of ${object} ${pointer}`);
    return found;
}

/** Everything labelled with the stack, and the namespace its mirror would have, if either exists. */
function leftInCluster(env: NodeJS.ProcessEnv, stackName: string, namespace: string): string[] {
    const selector = `${KEYS.stack}=${labelValue(stackName)}`;
    const labelled = kubectl(asClusterAdmin(env), "get", "all,secrets,configmaps,serviceaccounts,networkpolicies,resourcequotas,limitranges,jobs,namespaces",
        "--all-namespaces", "-l", selector, "-o", "name").split("\n").filter((l) => l !== "");
    const ns = kubectl(env, "get", "namespace", namespace, "--ignore-not-found", "-o", "name").trim();
    return [...labelled, ...(ns === "" || labelled.includes(ns) ? [] : [ns])];
}

/** A branch's stack, reading production's description from `appFile`, with its config and images ready (the CLI's own step). */
async function prepare(branch: string, commit: string, appFile: string, local: LocalEnvironment): Promise<PreparedMirror> {
    // Set before prepareMirror, which gives a stack without an appFile the sample's.
    const stack = await openStack(stackNameFor(branch));
    await stack.setConfig(`${PROJECT}:appFile`, { value: appFile });
    return prepareMirror({ branch, commit }, 1, local, log);
}

interface SourceCase {
    title: string;
    branch: string;
    appFile: string;
    /** The image rule's service: the branch's image is <registry>/prod-mirror/<service>:<tag>. */
    service: string;
    /** Production's objects, rendered without the program's renderer. */
    production: (env: NodeJS.ProcessEnv, namespace: string) => KubeObject[];
    objects: string[];
    workload: string;
    replicas: number;
    productionImage: string;
    /** Production's AWS names in the workload's env (index 2 and 3), and the cloud entries' names. */
    table: { production: string; name: string };
    queue: { production: string; name: string };
}

describe("production's own deployment, from each source kind", function () {
    const suffix = crypto.randomBytes(3).toString("hex");
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).trim();
    const timings: Array<[string, number]> = [];
    let local: LocalEnvironment;
    let env: NodeJS.ProcessEnv;
    const cases: SourceCase[] = [
        {
            title: "a Helm chart with a vendored subchart",
            branch: `it/sources-helm-${suffix}`,
            appFile: path.join(DESCRIPTIONS, "helm.yaml"),
            service: "web",
            // No Helm here but the program's: production is the chart's output written out by hand.
            production: (_env, namespace) =>
                yaml.loadAll(fs.readFileSync(path.join(repoRoot, FIXTURES, "helm", "shop.rendered.yaml"), "utf8").replace(/NAMESPACE/g, namespace)) as KubeObject[],
            // Helm's install order; the ConfigMap is the subchart's.
            objects: ["ConfigMap/shop-settings", "Service/shop-web", "Deployment/shop-web"],
            workload: "shop-web",
            replicas: 3,
            productionImage: "registry.example.com/shop/web:3.1.1",
            table: { production: "acme-shop-deals", name: "shop-deals" },
            queue: { production: "https://sqs.eu-west-1.amazonaws.com/210987654321/shop-events", name: "shop-events" },
        },
        {
            title: "a kustomize overlay",
            branch: `it/sources-kustomize-${suffix}`,
            appFile: path.join(DESCRIPTIONS, "kustomize.yaml"),
            service: "shop",
            production: (e) => renderWithKubectl(e, path.join(repoRoot, FIXTURES, "kustomize", "overlay")),
            objects: ["Service/shop", "Deployment/shop"],
            workload: "shop",
            replicas: 4,
            productionImage: "registry.example.com/shop/shop:7.2.0",
            table: { production: "acme-shop-orders", name: "shop-orders" },
            queue: { production: "https://sqs.eu-west-1.amazonaws.com/210987654321/shop-orders", name: "shop-orders" },
        },
    ];
    const badBranch = `it/sources-bad-${suffix}`;
    const mirrors = new Map<string, PreparedMirror>();
    const ups = new Map<string, Promise<UpResult>>();
    const destroyed = new Set<string>();

    before(function () {
        this.timeout(10 * 60_000);
        local = useLocalEnvironment();
        env = process.env;
    });

    after(async function () {
        this.timeout(15 * 60_000);
        log(`sources timings: ${timings.map(([s, t]) => `${s} ${t.toFixed(1)}s`).join(", ")}`);
        // An up still running would hold the stack's lock: let it end, whatever it did.
        await Promise.allSettled([...ups.values()]);
        for (const branch of [...cases.map((c) => c.branch), badBranch]) {
            if (destroyed.has(branch)) {
                continue;
            }
            try {
                const result = await destroyMirror(branch, local, log);
                if (result.existed) {
                    log(`cleaned up ${branch} after a failure; survivors: ${result.survivors.join(", ") || "none"}`);
                }
            } catch (err) {
                log(`could not clean up ${branch}: ${String(err)}`);
            }
        }
    });

    describe("bad input creates nothing", function () {
        const stackName = stackNameFor(badBranch);
        const namespace = namespaceName(badBranch, DEFAULT_NAME_PREFIX);
        let mirror: PreparedMirror;

        before(async function () {
            this.timeout(10 * 60_000);
            mirror = await prepare(badBranch, commit, path.join(DESCRIPTIONS, "bad-yaml.yaml"), local);
        });

        after(async function () {
            this.timeout(10 * 60_000);
            if (mirror === undefined) {
                return;
            }
            const started = Date.now();
            assert.deepStrictEqual(await destroyMirror(badBranch, local, log), { existed: true, survivors: [] });
            timings.push(["bad-input stack destroy + rm", (Date.now() - started) / 1000]);
            destroyed.add(badBranch);
            assert.strictEqual(await findStack(stackName), undefined, "the throwaway stack is still on the backend");
        });

        const BAD: Array<{ title: string; appFile: string; expected: RegExp[] }> = [
            {
                title: "YAML that does not parse: the file and the line",
                appFile: "bad-yaml.yaml",
                expected: [/- tests\/fixtures\/sources\/bad-yaml\/20-broken\.yaml could not be decoded by the kubernetes provider: [^\n]*line 5[^\n]*; fix the file's YAML/],
            },
            {
                title: "a document without kind: the file and the document",
                appFile: "no-kind.yaml",
                expected: [
                    /the app description's deployment cannot be rendered:/,
                    /- tests\/fixtures\/sources\/no-kind\/settings\.yaml document 2 has no kind or no apiVersion: the kubernetes provider would drop it silently; add both, or delete the document/,
                ],
            },
            {
                title: "a Helm values file that does not exist",
                appFile: "missing-values.yaml",
                expected: [
                    /- deployment\.helm\.values\[0\] "tests\/fixtures\/sources\/helm\/web\/values-staging\.yaml" does not exist under the project directory [^\n]+: give a path relative to it/,
                ],
            },
            {
                title: "a chart dependency that is not vendored: the dependency",
                appFile: "missing-dependency.yaml",
                expected: [
                    new RegExp(escapeRegExp(
                        '- deployment.helm.chart "tests/fixtures/sources/helm-missing-dep" depends on redis 17.3.0, which is not vendored under tests/fixtures/sources/helm-missing-dep/charts/ (as a directory or a .tgz): ' +
                            "run `helm dependency build tests/fixtures/sources/helm-missing-dep` and commit tests/fixtures/sources/helm-missing-dep/charts/, so that rendering needs no network",
                    )),
                ],
            },
            {
                title: "a Secret reference with no stand-in: the object, the field and the entry to add",
                appFile: "secret-without-stand-in.yaml",
                expected: [
                    /ProductionMirror mirror: 1 problem in production's objects:/,
                    new RegExp(escapeRegExp(
                        '- Deployment/payments: /spec/template/spec/containers/0/env/0/valueFrom/secretKeyRef references Secret "psp-credentials", which production\'s objects do not ship and which is not a stand-in: ' +
                            "add it under standIns in the app description (standIns: { secrets: [{ name: psp-credentials, keys: [token] }] }) or mark the reference optional: true",
                    )),
                ],
            },
            {
                title: "an unknown custom resource kind: the object and the entry to add",
                appFile: "unknown-kind.yaml",
                expected: [
                    /ProductionMirror mirror: 1 problem in production's objects:/,
                    new RegExp(escapeRegExp(
                        "- Widget/storefront: /apiVersion widgets.example.com/v1 (kind Widget) is not built into Kubernetes and not listed under customResourceKinds: " +
                            "if the mirror's cluster has its CustomResourceDefinition, add { apiVersion: widgets.example.com/v1, kind: Widget, namespaced: true } " +
                            "(false if cluster-scoped) under customResourceKinds in the app description; otherwise remove the object from production's deployment",
                    )),
                ],
            },
        ];

        for (const bad of BAD) {
            it(`refuses ${bad.title}, within seconds, and creates nothing`, async function () {
                this.timeout(3 * 60_000);
                await mirror.stack.setConfig(`${PROJECT}:appFile`, { value: path.join(DESCRIPTIONS, bad.appFile) });
                const started = Date.now();
                const run = spawnSync("pulumi", ["up", "--yes", "--non-interactive", "--stack", mirror.stack.name], { cwd: repoRoot, env, encoding: "utf8", timeout: 2 * 60_000 });
                const seconds = (Date.now() - started) / 1000;
                timings.push([`bad input ${bad.appFile}`, seconds]);
                log(`pulumi up with ${bad.appFile} failed after ${seconds.toFixed(1)}s`);
                const output = `${run.stdout}\n${run.stderr}`;
                assert.notStrictEqual(run.status, 0, `pulumi up succeeded with ${bad.appFile}:\n${output}`);
                assert.strictEqual(run.signal, null, `pulumi up was killed (${run.signal}) after ${seconds.toFixed(1)}s`);
                for (const expected of bad.expected) {
                    assert.match(output, expected);
                }
                // The message alone, as the program's input errors are (RunError): no crash report, no stack trace.
                assert.doesNotMatch(output, /failed with an unhandled exception|^\s+at \S+ \(\S+:\d+:\d+\)/m);
                log(`  ${(output.match(bad.expected[bad.expected.length - 1]) as RegExpMatchArray)[0].slice(0, 160)}…`);
                assert.ok(seconds < 60, `${seconds.toFixed(1)}s to refuse ${bad.appFile}`);
                assert.deepStrictEqual(leftInCluster(env, stackName, namespace), [], `${bad.appFile} left objects in the cluster`);
                // Nothing declared either: the state holds at most the stack and the kubernetes provider.
                const exported = JSON.parse(execFileSync("pulumi", ["stack", "export", "--stack", mirror.stack.name], { cwd: repoRoot, env, encoding: "utf8" }));
                const types = ((exported.deployment?.resources ?? []) as Array<{ type: string }>).map((r) => r.type);
                assert.deepStrictEqual(types.filter((t) => t !== "pulumi:pulumi:Stack" && t !== "pulumi:providers:kubernetes"), [], `${bad.appFile} left resources in the state`);
            });
        }
    });

    describe("a Helm chart with a vendored subchart, and a kustomize overlay, each mirrored", function () {
        before(async function () {
            this.timeout(20 * 60_000);
            for (const c of cases) {
                const started = Date.now();
                mirrors.set(c.branch, await prepare(c.branch, commit, c.appFile, local));
                timings.push([`prepare ${c.service} (config + image)`, (Date.now() - started) / 1000]);
            }
            // Both at once: most of an up is waiting for pods.
            for (const c of cases) {
                const started = Date.now();
                const up = (mirrors.get(c.branch) as PreparedMirror).stack.up(quiet);
                ups.set(c.branch, up);
                up.then(() => timings.push([`up ${c.service}`, (Date.now() - started) / 1000]), () => undefined);
            }
        });

        for (const c of cases) {
            describe(c.title, function () {
                let up: UpResult;
                let namespace: string;
                let report: FidelityReport;
                let mirrorImage: string;

                it("is created by up, every pod Ready and running the branch's image", async function () {
                    this.timeout(15 * 60_000);
                    up = await (ups.get(c.branch) as Promise<UpResult>);
                    assert.strictEqual(up.summary.result, "succeeded");
                    namespace = String(up.outputs.namespace.value);
                    assert.strictEqual(namespace, namespaceName(c.branch, DEFAULT_NAME_PREFIX));
                    report = up.outputs.fidelity.value as FidelityReport;
                    mirrorImage = String((up.outputs.images.value as Record<string, string>)[c.service]);
                    assert.ok(mirrorImage.startsWith(`${local.registry.server}/prod-mirror/${c.service}:${imageTag(c.branch, commit)}`), mirrorImage);
                    const pods = kubectlJson(env, "get", "pods", "-n", namespace, "-l", c.service === "web" ? "app.kubernetes.io/instance=shop" : "app=shop").items;
                    assert.strictEqual(pods.length, c.replicas, `${pods.length} pods of ${c.workload}`);
                    for (const pod of pods) {
                        assert.ok(pod.status.conditions?.some((x: { type: string; status: string }) => x.type === "Ready" && x.status === "True"), `pod ${pod.metadata.name} is not Ready`);
                        assert.strictEqual(pod.spec.containers[0].image, mirrorImage);
                    }
                });

                it("reports every object production renders, with production's replicas and the branch's image and cloud names", function () {
                    assert.ok(report, "no report: up failed");
                    assert.deepStrictEqual(report.objects.map((o) => o.object), c.objects);
                    assert.deepStrictEqual([report.skipped, report.standIns, report.imagesKept], [[], [], []]);
                    const workload = `Deployment/${c.workload}`;
                    const container = "/spec/template/spec/containers/0";
                    // The kustomize overlay moves its objects to production's namespace; Helm renders into the release's, the mirror's.
                    const moved = c.service === "shop" ? ["namespace /metadata/namespace"] : [];
                    assert.deepStrictEqual(changesOf(report, workload).sort(), [
                        ...moved,
                        `image ${container}/image`,
                        `pull-secret /spec/template/spec/imagePullSecrets`,
                        `service-account /spec/template/spec/serviceAccountName`,
                        `cloud-name ${container}/env/2/value`,
                        `cloud-name ${container}/env/3/value`,
                        ...[4, 5, 6, 7, 8].map((i) => `cloud-env ${container}/env/${i}`),
                        `probe-period ${container}/startupProbe`,
                    ].sort());
                    // Production's 2 s readiness probe stays; a startup probe checks the same every second until it passes.
                    const startup = change(report, workload, `${container}/startupProbe`).mirror as Record<string, unknown>;
                    assert.deepStrictEqual([startup.periodSeconds, startup.failureThreshold, startup.httpGet === undefined], [1, 86_400, false]);
                    assert.deepStrictEqual(change(report, workload, `${container}/image`), { path: `${container}/image`, production: c.productionImage, mirror: mirrorImage, rule: "image" });
                    const table = change(report, workload, `${container}/env/2/value`);
                    assert.deepStrictEqual([table.production, table.mirror], [c.table.production, cloudResourceName("table", DEFAULT_NAME_PREFIX, c.branch, c.table.name)]);
                    const queue = change(report, workload, `${container}/env/3/value`);
                    assert.strictEqual(queue.production, c.queue.production);
                    assert.match(String(queue.mirror), new RegExp(`^http://aws-emulator\\.${namespace}\\.svc\\.cluster\\.local:4566/\\d+/${cloudResourceName("queue", DEFAULT_NAME_PREFIX, c.branch, c.queue.name)}$`));
                    // The workload's await covers its Service's pods: no 10 s of endpoint settling.
                    const skipAwait = "skip-await /metadata/annotations/pulumi.com~1skipAwait";
                    for (const other of c.objects.filter((o) => o !== workload)) {
                        assert.deepStrictEqual(changesOf(report, other), other.startsWith("Service/") ? [...moved, skipAwait] : moved, other);
                    }
                    // Production's replicas (values-prod.yaml, the overlay's patch), live: no rule changed them.
                    assert.strictEqual(kubectlJson(env, "get", "deployment", c.workload, "-n", namespace).spec.replicas, c.replicas);
                    if (c.service === "web") {
                        // The subchart's ConfigMap, with the value production's values file gives it (over both charts' defaults).
                        assert.deepStrictEqual(kubectlJson(env, "get", "configmap", "shop-settings", "-n", namespace).data, { LOG_LEVEL: "warn" });
                    }
                });

                it("is production's objects plus exactly the reported changes, live", function () {
                    this.timeout(3 * 60_000);
                    assert.ok(report, "no report: up failed");
                    const production = c.production(env, namespace);
                    const compared = assertLiveEqualsProductionPlusReport(env, production, report, namespace);
                    log(`${c.title}: ${compared} fields of ${report.objects.length} objects compared, ${report.objects.reduce((n, o) => n + o.changes.length, 0)} reported changes`);
                    // The check can fail: a report that leaves out the table's change is caught.
                    const pointer = "/spec/template/spec/containers/0/env/2/value";
                    const without = { ...report, objects: report.objects.map((o) => ({ ...o, changes: o.changes.filter((x) => x.path !== pointer) })) };
                    assert.throws(() => assertLiveEqualsProductionPlusReport(env, production, without, namespace), new RegExp(`Deployment/${c.workload} ${pointer}: live "pm-`));
                });
            });
        }

        // In a suite of its own: mocha runs a suite's tests before those of the suites inside it.
        describe("both, when done", function () {
            it("destroys both mirrors and removes their stacks, leaving nothing", async function () {
                this.timeout(15 * 60_000);
                await Promise.allSettled([...ups.values()]);
                const started = Date.now();
                const results = await Promise.all(cases.map((c) => destroyMirror(c.branch, local, log)));
                timings.push(["destroy + stack rm (both)", (Date.now() - started) / 1000]);
                assert.deepStrictEqual(results, cases.map(() => ({ existed: true, survivors: [] })));
                for (const c of cases) {
                    destroyed.add(c.branch);
                    const stackName = stackNameFor(c.branch);
                    assert.strictEqual(await findStack(stackName), undefined, `stack ${stackName} is still on the backend`);
                    assert.deepStrictEqual(leftInCluster(env, stackName, namespaceName(c.branch, DEFAULT_NAME_PREFIX)), []);
                }
            });
        });
    });
});

function escapeRegExp(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
