// Production's own deployment (plain manifests, a kustomize overlay or a Helm chart) → the plain objects
// production applies. Rendering goes through the kubernetes provider's invokes, which run the kustomize
// and Helm Go libraries compiled into the plugin: no helm or kustomize binary, and no network as long as
// the pre-checks hold (source-problems.ts: a local chart with its dependencies vendored, a local overlay). The argument
// shapes are the provider's own (pulumi-kubernetes v4.25.0, provider/pkg/provider/provider.go Invoke,
// invoke_decode_yaml.go, invoke_kustomize.go, invoke_helm_template.go).
import * as path from "path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import type { KubeObject } from "./kube-object";
import type { DeploymentSource } from "./app-spec";
import { diskFs, isMapping, manifestFiles, setKeyPath, SourceFs, sourceProblems } from "./source-problems";

export type { SourceFs } from "./source-problems";
export { diskFs, setKeyPath, sourceProblems } from "./source-problems";

/** The provider's invoke tokens, as its Invoke switch spells them. */
export const INVOKE = {
    decode: "kubernetes:yaml:decode",
    kustomize: "kubernetes:kustomize:directory",
    helm: "kubernetes:helm:template",
} as const;

/**
 * Problems with a deployment source, or with what the provider returned; the message lists them all.
 * A RunError, so that `pulumi up` prints the message alone: the reader fixes their input, and a stack
 * trace (and the problems printed a second time) would bury it.
 */
export class RenderError extends pulumi.RunError {
    constructor(readonly problems: string[]) {
        super(`${problems.length} problem${problems.length === 1 ? "" : "s"} with production's deployment:\n- ${problems.join("\n- ")}`);
        this.name = "RenderError";
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
