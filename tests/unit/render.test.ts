import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { DeploymentSource } from "../../components/app-spec";
import { flattenLists, helmValues, INVOKE, RenderError, renderSource, setKeyPath, SourceFs, sourceProblems } from "../../components/render";
import { RecordingMocks, repoRoot, settle } from "./mocks";

const PROJECT = "/proj";
const FIXTURES = path.join(repoRoot, "tests", "fixtures", "sources");

/**
 * An in-memory project: file paths (relative to PROJECT) → text; directories are implied by the files.
 * `links` maps a path (relative to PROJECT) to where a symbolic link there really leads (absolute).
 */
function memFs(files: Record<string, string>, links: Record<string, string> = {}): SourceFs {
    const abs = new Map(Object.entries(files).map(([rel, text]) => [path.join(PROJECT, rel), text]));
    const isDir = (p: string) => [...abs.keys()].some((f) => f.startsWith(`${p}/`));
    return {
        kind: (p) => (abs.has(p) ? "file" : isDir(p) ? "directory" : undefined),
        read(p) {
            const text = abs.get(p);
            if (text === undefined) {
                throw new Error(`memFs: no file ${p}`);
            }
            return text;
        },
        list: (dir) => [...new Set([...abs.keys()].filter((f) => f.startsWith(`${dir}/`)).map((f) => f.slice(dir.length + 1).split("/")[0]))].reverse(),
        realpath(p) {
            for (const [link, target] of Object.entries(links)) {
                const from = path.join(PROJECT, link);
                if (p === from || p.startsWith(`${from}/`)) {
                    return target + p.slice(from.length);
                }
            }
            return p;
        },
    };
}

const CHART = "apiVersion: v2\nname: deals\nversion: 1.0.0\n";

describe("render: sourceProblems", () => {
    it("accepts manifests files and directories inside the project", () => {
        const files = memFs({ "deploy/a.yaml": "kind: ConfigMap\napiVersion: v1\n", "deploy/x/b.yml": "", "one.json": "{}" });
        assert.deepStrictEqual(sourceProblems({ kind: "manifests", paths: ["deploy", "deploy/x", "one.json"] }, PROJECT, files), []);
    });

    it("refuses paths outside the project, missing paths, empty lists and directories without YAML, each by field", () => {
        const files = memFs({ "deploy/notes.txt": "x", "other/a.yaml": "" });
        assert.deepStrictEqual(sourceProblems({ kind: "manifests", paths: ["../etc/x.yaml", "/etc/passwd", "nope", "deploy"] }, PROJECT, files), [
            'deployment.manifests[0] "../etc/x.yaml" is outside the project directory /proj: give a path inside it, relative to it',
            'deployment.manifests[1] "/etc/passwd" is outside the project directory /proj: give a path inside it, relative to it',
            'deployment.manifests[2] "nope" does not exist under the project directory /proj: give a path relative to it',
            'deployment.manifests[3] "deploy" is a directory with no .yaml or .yml file: put production\'s manifests there, or name the files',
        ]);
        assert.deepStrictEqual(sourceProblems({ kind: "manifests", paths: [] }, PROJECT, files), [
            "deployment.manifests is empty: list the files or directories that hold production's manifests, e.g. [app/deploy/plain]",
        ]);
    });

    it("names each document the provider would drop for lacking kind or apiVersion, and leaves unparsable files to the decode", () => {
        const files = memFs({
            "d/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# only a comment\n---\napiversion: v1\nkind: Secret\n---\n{}\n---\napiVersion: v1\nkind: \"\"\n",
            "d/b.yaml": "kind: [unclosed\n",
        });
        assert.deepStrictEqual(sourceProblems({ kind: "manifests", paths: ["d"] }, PROJECT, files), [
            "d/a.yaml document 3 has no kind or no apiVersion: the kubernetes provider would drop it silently; add both, or delete the document",
            "d/a.yaml document 5 has no kind or no apiVersion: the kubernetes provider would drop it silently; add both, or delete the document",
        ]);
    });

    it("refuses a path, or a file in a listed directory, that a symbolic link takes out of the project", () => {
        const files = memFs({ "deploy/a.yaml": "", "deploy/b.yaml": "", "secrets.yaml": "" }, { "deploy/b.yaml": "/etc/b.yaml", "secrets.yaml": "/home/x/secrets.yaml" });
        assert.deepStrictEqual(sourceProblems({ kind: "manifests", paths: ["deploy", "secrets.yaml"] }, PROJECT, files), [
            'deploy/b.yaml (in deployment.manifests[0]) leads outside the project directory /proj through a symbolic link (to /etc/b.yaml): replace the link by the file',
            'deployment.manifests[1] "secrets.yaml" leads outside the project directory /proj through a symbolic link (to /home/x/secrets.yaml): give a path inside it',
        ]);
    });

    it("wants a kustomize directory holding kustomization.yaml, kustomization.yml or Kustomization", () => {
        for (const name of ["kustomization.yaml", "kustomization.yml", "Kustomization"]) {
            assert.deepStrictEqual(sourceProblems({ kind: "kustomize", directory: "k" }, PROJECT, memFs({ [`k/${name}`]: "" })), [], name);
        }
        const files = memFs({ "k/deployment.yaml": "", "k/kustomization.yaml.bak": "" });
        assert.deepStrictEqual(sourceProblems({ kind: "kustomize", directory: "k" }, PROJECT, files), [
            'deployment.kustomize "k" has no kustomization.yaml, kustomization.yml, Kustomization: point it at the overlay directory that holds one',
        ]);
        assert.deepStrictEqual(sourceProblems({ kind: "kustomize", directory: "k/deployment.yaml" }, PROJECT, files), [
            'deployment.kustomize "k/deployment.yaml" is a file, not a directory',
        ]);
        assert.deepStrictEqual(sourceProblems({ kind: "kustomize", directory: "../k" }, PROJECT, files), [
            'deployment.kustomize "../k" is outside the project directory /proj: give a path inside it, relative to it',
        ]);
    });

    it("walks the overlay's local bases and components, and names every remote entry, helmCharts and path out of the project", () => {
        const files = memFs({
            "deploy/prod/kustomization.yaml": [
                "resources:",
                "  - ../base",
                "  - deals-aws.yaml",
                "  - https://example.com/raw/team/ingress.yaml",
                "  - github.com/acme/shared/deploy?ref=v1",
                "  - git@github.com:acme/shared.git",
                "  - ../../../outside",
                "  - missing.yaml",
                "components: [../features/tracing]",
                "bases: [ssh://git@example.com/acme/base.git//deploy]",
            ].join("\n"),
            "deploy/prod/deals-aws.yaml": "",
            "deploy/base/kustomization.yaml": "resources: [../prod, conf.d/app.yaml, ../shared]\nhelmCharts:\n  - {name: redis}\n",
            "deploy/base/conf.d/app.yaml": "",
            "deploy/shared/deployment.yaml": "",
            "deploy/features/tracing/Kustomization": "kind: Component\nresources: [\n",
        });
        assert.deepStrictEqual(sourceProblems({ kind: "kustomize", directory: "deploy/prod" }, PROJECT, files), [
            'deployment.kustomize "deploy/prod": deploy/base/kustomization.yaml inflates Helm charts, which needs the helm binary and the network: use deployment.helm for the chart instead',
            'deployment.kustomize "deploy/prod": deploy/shared, which it builds on, has no kustomization.yaml, kustomization.yml, Kustomization',
            'deployment.kustomize "deploy/prod": deploy/prod/kustomization.yaml resources entry "https://example.com/raw/team/ingress.yaml" is remote, and rendering must need no network: vendor it into the project and name it by a relative path',
            'deployment.kustomize "deploy/prod": deploy/prod/kustomization.yaml resources entry "github.com/acme/shared/deploy?ref=v1" is remote, and rendering must need no network: vendor it into the project and name it by a relative path',
            'deployment.kustomize "deploy/prod": deploy/prod/kustomization.yaml resources entry "git@github.com:acme/shared.git" is remote, and rendering must need no network: vendor it into the project and name it by a relative path',
            'deployment.kustomize "deploy/prod": deploy/prod/kustomization.yaml resources entry "../../../outside" is outside the project directory /proj: move it into the project',
            'deployment.kustomize "deploy/prod": deploy/prod/kustomization.yaml bases entry "ssh://git@example.com/acme/base.git//deploy" is remote, and rendering must need no network: vendor it into the project and name it by a relative path',
            'deployment.kustomize "deploy/prod": deploy/features/tracing/Kustomization is not valid YAML (line 3): fix it',
        ]);
    });

    const helm = (over: Partial<Extract<DeploymentSource, { kind: "helm" }>> = {}): DeploymentSource => ({
        kind: "helm", chart: "charts/deals", values: [], set: {}, releaseName: "deals", ...over,
    });

    it("accepts a chart whose dependencies are vendored as directories (named by their Chart.yaml) or as .tgz", () => {
        const files = memFs({
            "charts/deals/Chart.yaml": `${CHART}dependencies:\n  - {name: redis, version: 17.3.0, repository: https://x.invalid}\n  - {name: settings, version: 0.2.0}\n`,
            "charts/deals/charts/redis-17.3.0.tgz": "",
            "charts/deals/charts/some-dir/Chart.yaml": "name: settings\nversion: 0.2.0\n",
        });
        assert.deepStrictEqual(sourceProblems(helm(), PROJECT, files), []);
    });

    it("names each dependency that is not vendored and says to run helm dependency build and commit charts/", () => {
        const files = memFs({
            "charts/deals/Chart.yaml": `${CHART}dependencies:\n  - {name: redis, version: 17.3.0}\n  - {name: postgresql}\n  - {name: settings, version: 0.2.0}\n`,
            // Neither is redis: another chart's archive whose name starts alike, and a directory without Chart.yaml.
            "charts/deals/charts/redis-operator-1.0.0.tgz": "",
            "charts/deals/charts/redis/values.yaml": "",
            "charts/deals/charts/settings/Chart.yaml": "name: settings\n",
        });
        assert.deepStrictEqual(sourceProblems(helm(), PROJECT, files), [
            'deployment.helm.chart "charts/deals" depends on redis 17.3.0, which is not vendored under charts/deals/charts/ (as a directory or a .tgz): run `helm dependency build charts/deals` and commit charts/deals/charts/, so that rendering needs no network',
            'deployment.helm.chart "charts/deals" depends on postgresql, which is not vendored under charts/deals/charts/ (as a directory or a .tgz): run `helm dependency build charts/deals` and commit charts/deals/charts/, so that rendering needs no network',
        ]);
    });

    it("reads an apiVersion v1 chart's dependencies from requirements.yaml", () => {
        const files = memFs({ "charts/deals/Chart.yaml": "apiVersion: v1\nname: deals\n", "charts/deals/requirements.yaml": "dependencies:\n  - {name: redis, version: 1.0.0}\n" });
        assert.deepStrictEqual(sourceProblems(helm(), PROJECT, files), [
            'deployment.helm.chart "charts/deals" depends on redis 1.0.0, which is not vendored under charts/deals/charts/ (as a directory or a .tgz): run `helm dependency build charts/deals` and commit charts/deals/charts/, so that rendering needs no network',
        ]);
    });

    it("checks the chart directory, Chart.yaml, values files, set keys and the release name, all at once", () => {
        const files = memFs({
            "charts/deals/Chart.yaml": "name: deals\nsecret: hunter2\n  bad: [\n",
            "charts/deals/values-prod.yaml": "a: 1\n---\nb: 2\n",
            "charts/deals/values-list.yaml": "- a\n",
            "charts/deals/values-broken.yaml": "password: s3cret\n  x: [\n",
            "charts/deals/values-empty.yaml": "",
        });
        const problems = sourceProblems(
            helm({
                releaseName: "Deals_Prod",
                values: ["charts/deals/values-prod.yaml", "charts/deals/values-list.yaml", "charts/deals/values-broken.yaml", "charts/deals/values-empty.yaml", "charts/deals/missing.yaml", "../values.yaml"],
                set: { "image.tag": "1", "a..b": 1, ".a": 1, "list[0].x": 1, "dotted\\.key.x": 1 },
            }),
            PROJECT,
            files,
        );
        assert.deepStrictEqual(problems, [
            'deployment.helm.releaseName "Deals_Prod" is not a valid Helm release name: use lowercase letters, digits, \'-\' and \'.\', at most 53 characters, e.g. deals',
            'deployment.helm.chart "charts/deals": Chart.yaml is not valid YAML (line 3): fix it',
            'deployment.helm.values[0] "charts/deals/values-prod.yaml" is not one YAML mapping (key: value lines): a values file holds one document of keys',
            'deployment.helm.values[1] "charts/deals/values-list.yaml" is not one YAML mapping (key: value lines): a values file holds one document of keys',
            'deployment.helm.values[2] "charts/deals/values-broken.yaml" is not valid YAML (line 2): fix it',
            'deployment.helm.values[4] "charts/deals/missing.yaml" does not exist under the project directory /proj: give a path relative to it',
            'deployment.helm.values[5] "../values.yaml" is outside the project directory /proj: give a path inside it, relative to it',
            'deployment.helm.set key "a..b" has an empty part: write dotted keys like image.tag',
            'deployment.helm.set key ".a" has an empty part: write dotted keys like image.tag',
            'deployment.helm.set key "list[0].x" indexes a list, which is not supported: set the whole list in a values file',
        ]);
        assert.doesNotMatch(problems.join("\n"), /hunter2|s3cret/, "a problem must never echo a file's content");
    });

    it("refuses a release name longer than Helm's 53 characters, and a chart path that is no chart", () => {
        const files = memFs({ "charts/deals/values.yaml": "", "charts/file": "" });
        assert.deepStrictEqual(sourceProblems(helm({ releaseName: "a".repeat(54) }), PROJECT, files), [
            `deployment.helm.releaseName "${"a".repeat(54)}" is not a valid Helm release name: use lowercase letters, digits, '-' and '.', at most 53 characters, e.g. deals`,
            'deployment.helm.chart "charts/deals" has no Chart.yaml: point it at the chart\'s directory, the one holding Chart.yaml',
        ]);
        assert.deepStrictEqual(sourceProblems(helm({ chart: "charts/file", releaseName: "a".repeat(53) }), PROJECT, files), [
            'deployment.helm.chart "charts/file" is a file, not a directory',
        ]);
    });

    it("finds the fixtures' missing dependency on disk, and nothing wrong with the others", () => {
        assert.deepStrictEqual(sourceProblems(helm({ chart: "helm-missing-dep" }), FIXTURES), [
            'deployment.helm.chart "helm-missing-dep" depends on redis 17.3.0, which is not vendored under helm-missing-dep/charts/ (as a directory or a .tgz): run `helm dependency build helm-missing-dep` and commit helm-missing-dep/charts/, so that rendering needs no network',
        ]);
        assert.deepStrictEqual(sourceProblems(helm({ chart: "helm/web", values: ["helm/web/values-prod.yaml"] }), FIXTURES), []);
        assert.deepStrictEqual(sourceProblems({ kind: "kustomize", directory: "kustomize/overlay" }, FIXTURES), []);
        assert.deepStrictEqual(sourceProblems({ kind: "manifests", paths: ["manifests", "bad-yaml"] }, FIXTURES), []);
        assert.deepStrictEqual(sourceProblems({ kind: "kustomize", directory: "production" }, path.join(repoRoot, "app", "deploy")), []);
    });
});

describe("render: helmValues, setKeyPath, flattenLists", () => {
    it("merges values files in order, maps deeply and anything else replaced, then applies set", () => {
        const values = helmValues(
            [
                { replicaCount: 1, image: { repository: "r", tag: "1" }, list: [1, 2], gone: { a: 1 } },
                null,
                { image: { tag: "2" }, list: [3], gone: null },
            ],
            { "image.tag": "3", "resources.limits.cpu": "1", "list": [4], "dotted\\.key.x": true, "replicaCount.deep": 5 },
        );
        assert.deepStrictEqual(values, {
            replicaCount: { deep: 5 },
            image: { repository: "r", tag: "3" },
            list: [4],
            gone: null,
            resources: { limits: { cpu: "1" } },
            "dotted.key": { x: true },
        });
    });

    it("does not mutate the values it is given", () => {
        const first = { image: { tag: "1" } };
        helmValues([first, { image: { tag: "2" } }], { "image.tag": "3" });
        assert.deepStrictEqual(first, { image: { tag: "1" } });
    });

    it("splits set keys on dots that are not escaped", () => {
        assert.deepStrictEqual(setKeyPath("podAnnotations.prometheus\\.io/scrape"), ["podAnnotations", "prometheus.io/scrape"]);
        assert.deepStrictEqual(setKeyPath("a"), ["a"]);
    });

    it("replaces every List, nested too, by its items, in order", () => {
        const cm = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name } });
        const flat = flattenLists([
            cm("a"),
            { apiVersion: "v1", kind: "List", items: [cm("b"), { apiVersion: "v1", kind: "ConfigMapList", items: [cm("c")] }] },
            cm("d"),
            // A kind ending in List without items is an object of its own.
            { apiVersion: "example.com/v1", kind: "AllowList", metadata: { name: "e" }, spec: {} },
        ]);
        assert.deepStrictEqual(flat.map((o) => o.metadata.name), ["a", "b", "c", "d", "e"]);
    });
});

/** Mocks that answer the kubernetes provider's render invokes from a table and record every call. */
class InvokeMocks extends RecordingMocks {
    readonly calls: pulumi.runtime.MockCallArgs[] = [];
    constructor(private readonly answer: (args: pulumi.runtime.MockCallArgs) => Record<string, any>) {
        super(false);
    }
    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        if (!Object.values(INVOKE).includes(args.token as never)) {
            return super.call(args);
        }
        this.calls.push(args);
        return this.answer(args);
    }
}

async function withMocks(answer: (args: pulumi.runtime.MockCallArgs) => Record<string, any>) {
    const mocks = new InvokeMocks(answer);
    await pulumi.runtime.setMocks(mocks, "prod-mirror", "unit", false);
    const provider = new k8s.Provider("cluster", {});
    return { mocks, provider };
}

const obj = (kind: string, name: string) => ({ apiVersion: "v1", kind, metadata: { name } });

describe("render: renderSource through the provider's invokes (mocked)", () => {
    it("decodes each manifests file with its own kubernetes:yaml:decode {text}, in order, through the given provider", async () => {
        const files = memFs({ "d/b.yaml": "B", "d/a.yml": "A", "d/c.txt": "C", "z.yaml": "Z" });
        const { mocks, provider } = await withMocks((a) => ({ result: a.inputs.text === "A" ? [obj("ConfigMap", "a1"), { apiVersion: "v1", kind: "List", items: [obj("Secret", "a2")] }] : [obj("ConfigMap", a.inputs.text)] }));
        const objects = await renderSource({ kind: "manifests", paths: ["z.yaml", "d"] }, { projectDir: PROJECT, namespace: "ns", files }, { provider });
        await settle(mocks);
        assert.deepStrictEqual(mocks.calls.map((c) => [c.token, c.inputs]), [
            ["kubernetes:yaml:decode", { text: "Z" }],
            ["kubernetes:yaml:decode", { text: "A" }],
            ["kubernetes:yaml:decode", { text: "B" }],
        ]);
        assert.ok(mocks.calls.every((c) => c.provider?.startsWith("urn:pulumi:unit::prod-mirror::pulumi:providers:kubernetes::cluster::")), JSON.stringify(mocks.calls.map((c) => c.provider)));
        assert.deepStrictEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), ["ConfigMap/Z", "ConfigMap/a1", "Secret/a2", "ConfigMap/B"]);
    });

    it("names every file the provider could not decode, and only those", async () => {
        const files = memFs({ "d/1.yaml": "good", "d/2.yaml": "bad", "d/3.yaml": "bad" });
        const { mocks } = await withMocks((a) => {
            if (a.inputs.text === "bad") {
                // The mock monitor drops the message (the engine keeps it: tests/local/render.test.ts checks that).
                throw new Error("error converting YAML to JSON: yaml: line 5: did not find expected key");
            }
            return { result: [] };
        });
        await assert.rejects(renderSource({ kind: "manifests", paths: ["d"] }, { projectDir: PROJECT, namespace: "ns", files }), (e: unknown) => {
            assert.ok(e instanceof RenderError);
            assert.strictEqual(e.problems.length, 2);
            assert.strictEqual(e.problems[0], "d/2.yaml could not be decoded by the kubernetes provider: the provider gave no reason; fix the file's YAML");
            assert.match(e.problems[1], /^d\/3\.yaml could not be decoded/);
            assert.match(e.message, /^2 problems with production's deployment:\n- d\/2\.yaml/);
            return true;
        });
        assert.strictEqual(mocks.calls.length, 3);
    });

    it("builds a kustomize overlay with kubernetes:kustomize:directory {directory: absolute path}", async () => {
        const files = memFs({ "deploy/prod/kustomization.yaml": "" });
        const { mocks } = await withMocks(() => ({ result: [obj("Service", "api"), obj("ServiceList", "x")] }));
        const objects = await renderSource({ kind: "kustomize", directory: "deploy/prod" }, { projectDir: PROJECT, namespace: "ns", files });
        assert.deepStrictEqual(mocks.calls.map((c) => [c.token, c.inputs]), [["kubernetes:kustomize:directory", { directory: "/proj/deploy/prod" }]]);
        // A ServiceList without items is kept as it came: only lists with items are flattened.
        assert.deepStrictEqual(objects, [obj("Service", "api"), obj("ServiceList", "x")]);
    });

    it("templates a local chart with kubernetes:helm:template {jsonOpts}: path, release_name, namespace, merged values", async () => {
        const files = memFs({
            "charts/deals/Chart.yaml": CHART,
            "charts/deals/values-a.yaml": "replicaCount: 2\nimage: {repository: r, tag: a}\n",
            "charts/deals/values-b.yaml": "image: {tag: b}\n",
        });
        const { mocks } = await withMocks(() => ({ result: [obj("ConfigMap", "deals")] }));
        const objects = await renderSource(
            { kind: "helm", chart: "charts/deals", values: ["charts/deals/values-a.yaml", "charts/deals/values-b.yaml"], set: { "image.tag": "c" }, releaseName: "deals" },
            { projectDir: PROJECT, namespace: "pm-main", files },
        );
        assert.deepStrictEqual(mocks.calls.map((c) => [c.token, c.inputs]), [
            ["kubernetes:helm:template", { jsonOpts: '{"path":"/proj/charts/deals","release_name":"deals","namespace":"pm-main","values":{"replicaCount":2,"image":{"repository":"r","tag":"c"}}}' }],
        ]);
        assert.deepStrictEqual(objects, [obj("ConfigMap", "deals")]);
    });

    it("names the source when kustomize or helm fails in the provider", async () => {
        const files = memFs({ "k/Kustomization": "", "c/Chart.yaml": CHART });
        await withMocks(() => {
            throw new Error("boom");
        });
        await assert.rejects(renderSource({ kind: "kustomize", directory: "k" }, { projectDir: PROJECT, namespace: "ns", files }), /^RenderError: 1 problem with production's deployment:\n- deployment\.kustomize "k": kustomize \(in the kubernetes provider\) failed: the provider gave no reason$/);
        await assert.rejects(renderSource({ kind: "helm", chart: "c", values: [], set: {}, releaseName: "r" }, { projectDir: PROJECT, namespace: "ns", files }), /^RenderError: 1 problem with production's deployment:\n- deployment\.helm\.chart "c": helm template \(in the kubernetes provider\) failed: the provider gave no reason$/);
    });

    it("calls no invoke when the pre-checks find problems, and throws them all", async () => {
        const { mocks } = await withMocks(() => ({ result: [] }));
        await assert.rejects(
            renderSource({ kind: "helm", chart: "helm-missing-dep", values: ["nope.yaml"], set: {}, releaseName: "r" }, { projectDir: FIXTURES, namespace: "ns" }),
            (e: unknown) => e instanceof RenderError && e.problems.length === 2 && /depends on redis 17\.3\.0/.test(e.problems[0]) && /values\[0\] "nope\.yaml" does not exist/.test(e.problems[1]),
        );
        assert.deepStrictEqual(mocks.calls, []);
    });

    it("reads the fixtures from disk: manifests directory files in name order, README.txt left out", async () => {
        const { mocks } = await withMocks(() => ({ result: [] }));
        await renderSource({ kind: "manifests", paths: ["manifests"] }, { projectDir: FIXTURES, namespace: "ns" });
        assert.deepStrictEqual(
            mocks.calls.map((c) => c.inputs.text),
            ["10-web.yaml", "20-config.yaml"].map((f) => fs.readFileSync(path.join(FIXTURES, "manifests", f), "utf8")),
        );
    });
});
