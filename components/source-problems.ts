// The pre-checks on a deployment source (components/render.ts renders it): pure over an injected file
// reader, run before any invoke. They hold what the provider would not: every path inside the project
// (so that rendering reads nothing else), no document the decoder would drop silently, a local overlay
// with no remote base and no helmCharts, a chart whose dependencies are vendored (Helm's template
// action, unlike the helm command, renders a chart with missing dependencies without a word).
import type { DeploymentSource } from "./app-spec";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

/** Where production's objects come from; paths are relative to the project directory. */

/** What the pre-checks read: injected so that they stay pure in tests. */
export interface SourceFs {
    /** "file" or "directory" (symbolic links followed), undefined when nothing is there. */
    kind(file: string): "file" | "directory" | undefined;
    read(file: string): string;
    /** The names in a directory, in any order. */
    list(dir: string): string[];
    /** The path with every symbolic link resolved; only called on paths that exist. */
    realpath(file: string): string;
}

export const diskFs: SourceFs = {
    kind(file) {
        const stat = fs.statSync(file, { throwIfNoEntry: false });
        return stat?.isDirectory() ? "directory" : stat?.isFile() ? "file" : undefined;
    },
    read: (file) => fs.readFileSync(file, "utf8"),
    list: (dir) => fs.readdirSync(dir),
    realpath: (file) => fs.realpathSync(file),
};

const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
// Helm's own rule for release names (pkg/chartutil ValidateReleaseName): DNS-1123 subdomain, at most 53 characters.
const RELEASE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const RELEASE_NAME_MAX = 53;

type Located = { ok: true; abs: string } | { ok: false; problem: string };

/** Where an existing `abs` really is, when a symbolic link takes it out of projectDir. */
function leadsOut(abs: string, projectDir: string, files: SourceFs): string | undefined {
    const root = files.realpath(projectDir);
    const real = files.realpath(abs);
    const inside = path.relative(root, real);
    return inside.split(path.sep)[0] === ".." || path.isAbsolute(inside) ? real : undefined;
}

function outsideProblem(field: string, rel: string, projectDir: string): string {
    return `${field} ${JSON.stringify(rel)} is outside the project directory ${projectDir}: give a path inside it, relative to it`;
}

/** `rel` resolved under projectDir, if it stays inside it (by its text and through links) and exists as `want`. */
function locate(field: string, rel: string, projectDir: string, want: "file" | "directory" | "any", files: SourceFs): Located {
    const abs = path.resolve(projectDir, rel);
    const inside = path.relative(projectDir, abs);
    if (inside.split(path.sep)[0] === ".." || path.isAbsolute(inside)) {
        return { ok: false, problem: outsideProblem(field, rel, projectDir) };
    }
    const kind = files.kind(abs);
    if (kind === undefined) {
        return { ok: false, problem: `${field} ${JSON.stringify(rel)} does not exist under the project directory ${projectDir}: give a path relative to it` };
    }
    const real = leadsOut(abs, projectDir, files);
    if (real !== undefined) {
        return { ok: false, problem: `${field} ${JSON.stringify(rel)} leads outside the project directory ${projectDir} through a symbolic link (to ${real}): give a path inside it` };
    }
    if (want !== "any" && kind !== want) {
        return { ok: false, problem: `${field} ${JSON.stringify(rel)} is a ${kind}, not a ${want}` };
    }
    return { ok: true, abs };
}

/** The files a `manifests` path stands for: itself, or a directory's *.yaml and *.yml (not recursive), sorted by name. */
export function manifestFiles(rel: string, abs: string, files: SourceFs): { rel: string; abs: string }[] {
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

export function isMapping(value: unknown): value is Record<string, unknown> {
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

// What kustomize would fetch (its repospec forms): a URL, git:: or git@, a GitHub/GitLab/Bitbucket path
// without a scheme, or anything carrying a ref or a repository//subdirectory split.
const REMOTE = /^[a-z][a-z0-9+.-]*:\/\/|^git::|^git@|^(github\.com|gitlab\.com|bitbucket\.org)[/:]|\?ref=|\.git\/\//i;

/**
 * The overlay and every local base or component it names, walked as kustomize will: a kustomization in
 * each; no remote entry (kustomize would clone it); no helmCharts (the provider's kustomize runs them
 * only with the helm binary, which rendering must not need); nothing outside the project.
 */
function kustomizeProblems(rel: string, abs: string, projectDir: string, files: SourceFs): string[] {
    const field = `deployment.kustomize ${JSON.stringify(rel)}`;
    const problems: string[] = [];
    const seen = new Set<string>();
    const visit = (dirAbs: string): void => {
        if (seen.has(dirAbs)) {
            return;
        }
        seen.add(dirAbs);
        const dirRel = path.relative(projectDir, dirAbs) || ".";
        const name = KUSTOMIZATION_FILES.find((n) => files.kind(path.join(dirAbs, n)) === "file");
        if (name === undefined) {
            problems.push(
                dirAbs === abs
                    ? `${field} has no ${KUSTOMIZATION_FILES.join(", ")}: point it at the overlay directory that holds one`
                    : `${field}: ${dirRel}, which it builds on, has no ${KUSTOMIZATION_FILES.join(", ")}`,
            );
            return;
        }
        const fileRel = path.join(dirRel, name);
        const loaded = loadDocuments(files.read(path.join(dirAbs, name)));
        if (!loaded.ok) {
            problems.push(`${field}: ${fileRel} is not valid YAML (line ${loaded.line}): fix it`);
            return;
        }
        const k = isMapping(loaded.docs[0]) ? loaded.docs[0] : {};
        if (k.helmCharts !== undefined || k.helmChartInflationGenerator !== undefined) {
            problems.push(`${field}: ${fileRel} inflates Helm charts, which needs the helm binary and the network: use deployment.helm for the chart instead`);
        }
        for (const key of ["resources", "bases", "components"]) {
            const entries = Array.isArray(k[key]) ? (k[key] as unknown[]) : [];
            for (const entry of entries.filter((e): e is string => typeof e === "string")) {
                if (REMOTE.test(entry)) {
                    problems.push(`${field}: ${fileRel} ${key} entry ${JSON.stringify(entry)} is remote, and rendering must need no network: vendor it into the project and name it by a relative path`);
                    continue;
                }
                const target = path.resolve(dirAbs, entry);
                const inside = path.relative(projectDir, target);
                if (inside.split(path.sep)[0] === ".." || path.isAbsolute(inside)) {
                    problems.push(`${field}: ${fileRel} ${key} entry ${JSON.stringify(entry)} is outside the project directory ${projectDir}: move it into the project`);
                } else if (files.kind(target) === "directory") {
                    visit(target);
                }
                // A missing entry is left to kustomize, whose error names it.
            }
        }
    };
    visit(abs);
    return problems;
}

/**
 * Problems found before any invoke: every path inside projectDir (through symbolic links too) and existing;
 * manifests documents the provider would drop; a kustomize overlay whose kustomizations are all local; a Helm chart with Chart.yaml, each
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
                return list.flatMap((f) => {
                    const real = leadsOut(f.abs, projectDir, files);
                    return real === undefined
                        ? droppedDocuments(f.rel, files.read(f.abs))
                        : [`${f.rel} (in ${field}) leads outside the project directory ${projectDir} through a symbolic link (to ${real}): replace the link by the file`];
                });
            });
        }
        case "kustomize": {
            const found = locate("deployment.kustomize", source.directory, projectDir, "directory", files);
            return found.ok ? kustomizeProblems(source.directory, found.abs, projectDir, files) : [found.problem];
        }
        case "helm":
            return helmProblems(source, projectDir, files);
    }
}

