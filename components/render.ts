// Production's own deployment (plain manifests, a kustomize overlay or a Helm chart) → the plain objects
// production applies. Rendering goes through the kubernetes provider's invokes, which run the kustomize
// and Helm Go libraries compiled into the plugin: no helm or kustomize binary, and no network as long as
// the pre-checks below hold (a local chart with its dependencies vendored, a local overlay). The argument
// shapes are the provider's own (pulumi-kubernetes v4.25.0, provider/pkg/provider/provider.go Invoke,
// invoke_decode_yaml.go, invoke_kustomize.go, invoke_helm_template.go).
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";

// Local until components/kube-object.ts (the shared type) lands; the same shape, to be replaced by its import.
export type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; [k: string]: unknown }; [k: string]: unknown };

/** Where production's objects come from; paths are relative to the project directory. */
export type DeploymentSource =
    | { kind: "manifests"; paths: string[] }
    | { kind: "kustomize"; directory: string }
    | { kind: "helm"; chart: string; values: string[]; set: Record<string, unknown>; releaseName: string };

/** The provider's invoke tokens, as its Invoke switch spells them. */
export const INVOKE = {
    decode: "kubernetes:yaml:decode",
    kustomize: "kubernetes:kustomize:directory",
    helm: "kubernetes:helm:template",
} as const;

/** What the pre-checks read: injected so that they stay pure in tests. */
export interface SourceFs {
    /** "file" or "directory" (symbolic links followed), undefined when nothing is there. */
    kind(file: string): "file" | "directory" | undefined;
    read(file: string): string;
    /** The names in a directory, in any order. */
    list(dir: string): string[];
}

export const diskFs: SourceFs = {
    kind(file) {
        const stat = fs.statSync(file, { throwIfNoEntry: false });
        return stat?.isDirectory() ? "directory" : stat?.isFile() ? "file" : undefined;
    },
    read: (file) => fs.readFileSync(file, "utf8"),
    list: (dir) => fs.readdirSync(dir),
};

/** Problems with a deployment source, or with what the provider returned; the message lists them all. */
export class RenderError extends Error {
    constructor(readonly problems: string[]) {
        super(`${problems.length} problem${problems.length === 1 ? "" : "s"} with production's deployment:\n- ${problems.join("\n- ")}`);
        this.name = "RenderError";
    }
}

const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
// Helm's own rule for release names (pkg/chartutil ValidateReleaseName): DNS-1123 subdomain, at most 53 characters.
const RELEASE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const RELEASE_NAME_MAX = 53;

type Located = { ok: true; abs: string } | { ok: false; problem: string };

/** `rel` resolved under projectDir, if it stays inside it (by its text) and exists as `want`. */
function locate(field: string, rel: string, projectDir: string, want: "file" | "directory" | "any", files: SourceFs): Located {
    const abs = path.resolve(projectDir, rel);
    const inside = path.relative(projectDir, abs);
    if (inside.split(path.sep)[0] === ".." || path.isAbsolute(inside)) {
        return { ok: false, problem: `${field} ${JSON.stringify(rel)} is outside the project directory ${projectDir}: give a path inside it, relative to it` };
    }
    const kind = files.kind(abs);
    if (kind === undefined) {
        return { ok: false, problem: `${field} ${JSON.stringify(rel)} does not exist under the project directory ${projectDir}: give a path relative to it` };
    }
    if (want !== "any" && kind !== want) {
        return { ok: false, problem: `${field} ${JSON.stringify(rel)} is a ${kind}, not a ${want}` };
    }
    return { ok: true, abs };
}

/** The files a `manifests` path stands for: itself, or a directory's *.yaml and *.yml (not recursive), sorted by name. */
function manifestFiles(rel: string, abs: string, files: SourceFs): { rel: string; abs: string }[] {
    if (files.kind(abs) === "file") {
        return [{ rel, abs }];
    }
    return files
        .list(abs)
        .filter((name) => /\.ya?ml$/.test(name) && files.kind(path.join(abs, name)) === "file")
        .sort()
        .map((name) => ({ rel: path.join(rel, name), abs: path.join(abs, name) }));
}

/** A YAML file's documents, or the line js-yaml stopped at (never the text: it may hold secrets). */
function loadDocuments(text: string): { ok: true; docs: unknown[] } | { ok: false; line: number } {
    try {
        return { ok: true, docs: yaml.loadAll(text) };
    } catch (e) {
        return { ok: false, line: ((e as { mark?: { line?: number } }).mark?.line ?? 0) + 1 };
    }
}

function isMapping(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The provider's decoder skips every document without kind or apiVersion (invoke_decode_yaml.go), so a
 * misspelt key would make production's object vanish from the mirror without a word. Only documents
 * that parse here are checked; a file that does not parse is the decode invoke's to report, by name.
 */
function droppedDocuments(file: string, text: string): string[] {
    const loaded = loadDocuments(text);
    if (!loaded.ok) {
        return [];
    }
    return loaded.docs.flatMap((doc, i) =>
        isMapping(doc) && Object.keys(doc).length > 0 && (typeof doc.kind !== "string" || doc.kind === "" || typeof doc.apiVersion !== "string" || doc.apiVersion === "")
            ? [`${file} document ${i + 1} has no kind or no apiVersion: the kubernetes provider would drop it silently; add both, or delete the document`]
            : [],
    );
}

/** A chart's declared dependencies: Chart.yaml's, or requirements.yaml's for an apiVersion v1 chart. */
function chartDependencies(field: string, chartRel: string, chartAbs: string, files: SourceFs): { deps: { name: string; version?: string }[]; problems: string[] } {
    const read = (name: string): { ok: true; doc: unknown } | { ok: false; problem: string } => {
        const loaded = loadDocuments(files.read(path.join(chartAbs, name)));
        return loaded.ok
            ? { ok: true, doc: loaded.docs[0] }
            : { ok: false, problem: `${field} ${JSON.stringify(chartRel)}: ${name} is not valid YAML (line ${loaded.line}): fix it` };
    };
    const chart = read("Chart.yaml");
    if (!chart.ok) {
        return { deps: [], problems: [chart.problem] };
    }
    let declared = isMapping(chart.doc) ? chart.doc.dependencies : undefined;
    if (isMapping(chart.doc) && chart.doc.apiVersion === "v1" && files.kind(path.join(chartAbs, "requirements.yaml")) === "file") {
        const requirements = read("requirements.yaml");
        if (!requirements.ok) {
            return { deps: [], problems: [requirements.problem] };
        }
        declared = isMapping(requirements.doc) ? requirements.doc.dependencies : undefined;
    }
    const deps = (Array.isArray(declared) ? declared : [])
        .filter(isMapping)
        .map((d) => ({ name: String(d.name), version: d.version === undefined ? undefined : String(d.version) }));
    return { deps, problems: [] };
}

/** Names of the charts vendored under a chart's charts/: each directory's Chart.yaml name, each archive's file name. */
function vendored(chartAbs: string, files: SourceFs): { dirs: Set<string>; archives: string[] } {
    const dir = path.join(chartAbs, "charts");
    const dirs = new Set<string>();
    const archives: string[] = [];
    if (files.kind(dir) !== "directory") {
        return { dirs, archives };
    }
    for (const entry of files.list(dir)) {
        const abs = path.join(dir, entry);
        if (files.kind(abs) === "directory" && files.kind(path.join(abs, "Chart.yaml")) === "file") {
            const loaded = loadDocuments(files.read(path.join(abs, "Chart.yaml")));
            const doc = loaded.ok ? loaded.docs[0] : undefined;
            // Helm's loader names a subchart by its Chart.yaml, whatever its directory is called.
            dirs.add(isMapping(doc) && typeof doc.name === "string" ? doc.name : entry);
        } else if (entry.endsWith(".tgz") && files.kind(abs) === "file") {
            archives.push(entry);
        }
    }
    return { dirs, archives };
}

/** A `set` key's path: dots separate, `\.` is a dot inside a key (as in `helm --set`). */
export function setKeyPath(key: string): string[] {
    return key.split(/(?<!\\)\./).map((part) => part.replace(/\\\./g, "."));
}

function setProblems(set: Record<string, unknown>): string[] {
    return Object.keys(set).flatMap((key) => {
        if (setKeyPath(key).some((part) => part === "")) {
            return [`deployment.helm.set key ${JSON.stringify(key)} has an empty part: write dotted keys like image.tag`];
        }
        if (/[[\]]/.test(key)) {
            return [`deployment.helm.set key ${JSON.stringify(key)} indexes a list, which is not supported: set the whole list in a values file`];
        }
        return [];
    });
}

function helmProblems(source: Extract<DeploymentSource, { kind: "helm" }>, projectDir: string, files: SourceFs): string[] {
    const problems: string[] = [];
    if (!RELEASE_NAME.test(source.releaseName) || source.releaseName.length > RELEASE_NAME_MAX) {
        problems.push(`deployment.helm.releaseName ${JSON.stringify(source.releaseName)} is not a valid Helm release name: use lowercase letters, digits, '-' and '.', at most ${RELEASE_NAME_MAX} characters, e.g. deals`);
    }
    const chart = locate("deployment.helm.chart", source.chart, projectDir, "directory", files);
    if (!chart.ok) {
        problems.push(chart.problem);
    } else if (files.kind(path.join(chart.abs, "Chart.yaml")) !== "file") {
        problems.push(`deployment.helm.chart ${JSON.stringify(source.chart)} has no Chart.yaml: point it at the chart's directory, the one holding Chart.yaml`);
    } else {
        const { deps, problems: chartProblems } = chartDependencies("deployment.helm.chart", source.chart, chart.abs, files);
        problems.push(...chartProblems);
        const { dirs, archives } = vendored(chart.abs, files);
        const chartsDir = path.join(source.chart, "charts");
        for (const dep of deps) {
            // `helm dependency build` writes <name>-<version>.tgz; a version always starts with a digit (or v).
            const archived = archives.some((a) => a.startsWith(`${dep.name}-`) && /^v?\d/.test(a.slice(dep.name.length + 1)));
            if (!dirs.has(dep.name) && !archived) {
                const version = dep.version === undefined ? "" : ` ${dep.version}`;
                problems.push(
                    `deployment.helm.chart ${JSON.stringify(source.chart)} depends on ${dep.name}${version}, which is not vendored under ${chartsDir}/ (as a directory or a .tgz): ` +
                        `run \`helm dependency build ${source.chart}\` and commit ${chartsDir}/, so that rendering needs no network`,
                );
            }
        }
    }
    source.values.forEach((rel, i) => {
        const field = `deployment.helm.values[${i}]`;
        const found = locate(field, rel, projectDir, "file", files);
        if (!found.ok) {
            problems.push(found.problem);
            return;
        }
        const loaded = loadDocuments(files.read(found.abs));
        if (!loaded.ok) {
            problems.push(`${field} ${JSON.stringify(rel)} is not valid YAML (line ${loaded.line}): fix it`);
        } else if (loaded.docs.length > 1 || (loaded.docs[0] !== undefined && loaded.docs[0] !== null && !isMapping(loaded.docs[0]))) {
            problems.push(`${field} ${JSON.stringify(rel)} is not one YAML mapping (key: value lines): a values file holds one document of keys`);
        }
    });
    problems.push(...setProblems(source.set));
    return problems;
}

/**
 * Problems found before any invoke: every path inside projectDir and existing; manifests documents the
 * provider would drop; a kustomize directory holding a kustomization; a Helm chart with Chart.yaml, each
 * declared dependency vendored under its charts/, values files that exist and hold one mapping, `set` keys
 * Helm can take, a valid release name. Pure over `files`.
 */
export function sourceProblems(source: DeploymentSource, projectDir: string, files: SourceFs = diskFs): string[] {
    switch (source.kind) {
        case "manifests": {
            if (source.paths.length === 0) {
                return ["deployment.manifests is empty: list the files or directories that hold production's manifests, e.g. [app/deploy/plain]"];
            }
            return source.paths.flatMap((rel, i) => {
                const field = `deployment.manifests[${i}]`;
                const found = locate(field, rel, projectDir, "any", files);
                if (!found.ok) {
                    return [found.problem];
                }
                const list = manifestFiles(rel, found.abs, files);
                if (list.length === 0) {
                    return [`${field} ${JSON.stringify(rel)} is a directory with no .yaml or .yml file: put production's manifests there, or name the files`];
                }
                return list.flatMap((f) => droppedDocuments(f.rel, files.read(f.abs)));
            });
        }
        case "kustomize": {
            const found = locate("deployment.kustomize", source.directory, projectDir, "directory", files);
            if (!found.ok) {
                return [found.problem];
            }
            if (!KUSTOMIZATION_FILES.some((name) => files.kind(path.join(found.abs, name)) === "file")) {
                return [`deployment.kustomize ${JSON.stringify(source.directory)} has no ${KUSTOMIZATION_FILES.join(", ")}: point it at the overlay directory that holds one`];
            }
            return [];
        }
        case "helm":
            return helmProblems(source, projectDir, files);
    }
}

/**
 * Helm's values for a release: the values files merged in order (maps deeply, anything else replaced,
 * as `helm -f a -f b` does), then each `set` key, its dotted path creating or replacing maps on the way.
 * The chart's own values.yaml is not here: Helm applies it under these.
 */
export function helmValues(files: unknown[], set: Record<string, unknown>): Record<string, unknown> {
    const merge = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
        const out = { ...a };
        for (const [k, v] of Object.entries(b)) {
            const prior = out[k];
            out[k] = isMapping(v) && isMapping(prior) ? merge(prior, v) : v;
        }
        return out;
    };
    let values = files.reduce<Record<string, unknown>>((acc, doc) => (isMapping(doc) ? merge(acc, doc) : acc), {});
    for (const [key, value] of Object.entries(set)) {
        const parts = setKeyPath(key);
        const nested = parts.reduceRight<unknown>((inner, part) => ({ [part]: inner }), value);
        values = merge(values, nested as Record<string, unknown>);
    }
    return values;
}

/** Objects with every List (`kind: List`, `ConfigMapList`, … with items) replaced by its items, in order. */
export function flattenLists(objects: unknown[]): KubeObject[] {
    return objects.flatMap((o) =>
        isMapping(o) && typeof o.kind === "string" && o.kind.endsWith("List") && Array.isArray(o.items) ? flattenLists(o.items) : [o as KubeObject],
    );
}

/** The reason of a rejected invoke, as the engine gave it (the provider's error names no file of ours). */
function reason(e: unknown): string {
    const text = (e instanceof Error ? e.message : String(e)).trim();
    return text === "" ? "the provider gave no reason" : text;
}

async function invokeResult(token: string, args: Record<string, string>, opts: pulumi.InvokeOptions): Promise<unknown[]> {
    const answer = (await pulumi.runtime.invoke(token, args, opts)) as { result?: unknown[] } | undefined;
    return answer?.result ?? [];
}

/**
 * Production's objects, rendered through the kubernetes provider (the one in `opts`): manifests decoded
 * one file per invoke (so an error names the file), a kustomize overlay built by the provider's kustomize,
 * a local Helm chart templated by its Helm with the values files merged in order, then `set`, in
 * `args.namespace`. Lists are flattened. Throws RenderError with sourceProblems' list before any invoke.
 */
export async function renderSource(
    source: DeploymentSource,
    args: { projectDir: string; namespace: string; files?: SourceFs },
    opts: pulumi.InvokeOptions = {},
): Promise<KubeObject[]> {
    const files = args.files ?? diskFs;
    const problems = sourceProblems(source, args.projectDir, files);
    if (problems.length > 0) {
        throw new RenderError(problems);
    }
    switch (source.kind) {
        case "manifests": {
            const list = source.paths.flatMap((rel) => manifestFiles(rel, path.resolve(args.projectDir, rel), files));
            const decoded = await Promise.allSettled(list.map((f) => invokeResult(INVOKE.decode, { text: files.read(f.abs) }, opts)));
            const failed = decoded.flatMap((d, i) =>
                d.status === "rejected" ? [`${list[i].rel} could not be decoded by the kubernetes provider: ${reason(d.reason)}; fix the file's YAML`] : [],
            );
            if (failed.length > 0) {
                throw new RenderError(failed);
            }
            return flattenLists(decoded.flatMap((d) => (d.status === "fulfilled" ? d.value : [])));
        }
        case "kustomize": {
            const directory = path.resolve(args.projectDir, source.directory);
            try {
                return flattenLists(await invokeResult(INVOKE.kustomize, { directory }, opts));
            } catch (e) {
                throw new RenderError([`deployment.kustomize ${JSON.stringify(source.directory)}: kustomize (in the kubernetes provider) failed: ${reason(e)}`]);
            }
        }
        case "helm": {
            const values = helmValues(
                source.values.map((rel) => yaml.load(files.read(path.resolve(args.projectDir, rel)))),
                source.set,
            );
            // Keys as HelmChartOpts' json tags. `path` alone names a local chart: the provider loads
            // path/chart, and with no `chart` that is the directory itself; nothing is fetched.
            const jsonOpts = JSON.stringify({
                path: path.resolve(args.projectDir, source.chart),
                release_name: source.releaseName,
                namespace: args.namespace,
                values,
            });
            try {
                return flattenLists(await invokeResult(INVOKE.helm, { jsonOpts }, opts));
            } catch (e) {
                throw new RenderError([`deployment.helm.chart ${JSON.stringify(source.chart)}: helm template (in the kubernetes provider) failed: ${reason(e)}`]);
            }
        }
    }
}
