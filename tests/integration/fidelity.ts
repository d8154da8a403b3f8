// The proof that a mirror's fidelity report is complete: production's objects, rendered by a tool
// independent of the program (kubectl's own kustomize), with exactly the reported changes applied,
// equal what the cluster holds — both ways. Every field of that expectation is live with its value,
// and every field the program's field manager owns on the live object is in that expectation.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { applyChanges, type FidelityReport } from "../../components/rewrite";
import type { KubeObject } from "../../components/kube-object";
import { kubectl, kubectlJson } from "./cluster";

/** Production's objects from a kustomize directory, rendered by kubectl (not by the program's provider). */
export function renderWithKubectl(env: NodeJS.ProcessEnv, directory: string): KubeObject[] {
    return (yaml.loadAll(kubectl(env, "kustomize", directory)) as KubeObject[]).filter((o) => o !== null && o !== undefined);
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function escape(segment: string): string {
    return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** Every leaf of `value` as [JSON pointer, value]; empty objects and arrays count as leaves. */
export function leaves(value: Json, pointer = ""): Array<[string, Json]> {
    if (Array.isArray(value)) {
        return value.length === 0 ? [[pointer, value]] : value.flatMap((v, i) => leaves(v, `${pointer}/${i}`));
    }
    if (typeof value === "object" && value !== null) {
        const entries = Object.entries(value);
        return entries.length === 0 ? [[pointer, value]] : entries.flatMap(([k, v]) => leaves(v, `${pointer}/${escape(k)}`));
    }
    return [[pointer, value]];
}

/** The value at an RFC 6901 pointer, or undefined. */
export function at(value: Json | undefined, pointer: string): Json | undefined {
    if (pointer === "") {
        return value;
    }
    let current: Json | undefined = value;
    for (const raw of pointer.slice(1).split("/")) {
        const segment = raw.replace(/~1/g, "/").replace(/~0/g, "~");
        if (current === null || typeof current !== "object") {
            return undefined;
        }
        current = Array.isArray(current) ? current[Number(segment)] : current[segment];
    }
    return current;
}

function matches(item: Json, key: Record<string, Json>): boolean {
    return typeof item === "object" && item !== null && Object.entries(key).every(([k, v]) => JSON.stringify((item as Record<string, Json>)[k]) === JSON.stringify(v));
}

/**
 * The pointers (into `live`) of every field a managedFields `fieldsV1` tree owns. Keys: `f:<field>`,
 * `k:<json key>` (a list item by its merge key), `v:<json value>` (a set item), `i:<index>`, `.` (the
 * item itself, which the pointer of its parent already names).
 */
export function ownedPointers(fields: Record<string, any>, root: Json | undefined, pointer = ""): string[] {
    const here = at(root, pointer);
    const out: string[] = [];
    for (const [key, sub] of Object.entries(fields)) {
        if (key === ".") {
            continue;
        }
        let child: string;
        if (key.startsWith("f:")) {
            child = `${pointer}/${escape(key.slice(2))}`;
        } else {
            const items = Array.isArray(here) ? here : [];
            const wanted = JSON.parse(key.slice(2)) as Json;
            const index = key.startsWith("i:")
                ? Number(wanted)
                : items.findIndex((item) => (key.startsWith("k:") ? matches(item, wanted as Record<string, Json>) : JSON.stringify(item) === JSON.stringify(wanted)));
            child = `${pointer}/${index}`;
        }
        const nested = Object.keys(sub).filter((k) => k !== ".");
        if (nested.length === 0) {
            out.push(child);
        } else {
            out.push(...ownedPointers(sub, root, child));
        }
    }
    return out;
}

function objectKey(o: { kind: string; metadata: { name: string } }): string {
    return `${o.kind}/${o.metadata.name}`;
}

/** The live object with the same apiVersion (so no conversion hides a field), by kubectl get -f. */
function liveObject(env: NodeJS.ProcessEnv, expected: KubeObject): Json {
    const file = path.join(fs.mkdtempSync("/tmp/pm-fidelity-"), "object.json");
    fs.writeFileSync(file, JSON.stringify({ apiVersion: expected.apiVersion, kind: expected.kind, metadata: { name: expected.metadata.name, namespace: expected.metadata.namespace } }));
    try {
        return kubectlJson(env, "get", "--show-managed-fields", "-f", file) as Json;
    } finally {
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
}

/**
 * Asserts that the live objects of a mirror are production's plus exactly the reported changes, that
 * every skipped object is absent from the cluster, and returns how many fields were compared.
 */
export function assertLiveEqualsProductionPlusReport(env: NodeJS.ProcessEnv, production: KubeObject[], report: FidelityReport, namespace: string): number {
    const byKey = new Map(production.map((o) => [objectKey(o), o]));
    const problems: string[] = [];
    let compared = 0;
    assert.deepStrictEqual(
        [...report.objects.map((o) => o.object), ...report.skipped.map((s) => s.object)].sort(),
        [...byKey.keys()].sort(),
        "the report must account for every object production renders, applied or skipped",
    );
    for (const { object, changes } of report.objects) {
        const expected = applyChanges(byKey.get(object) as KubeObject, changes) as unknown as Json & KubeObject;
        assert.strictEqual(expected.metadata.namespace, namespace, `${object}: the report does not move it into the mirror's namespace`);
        const live = liveObject(env, expected);
        for (const [pointer, value] of leaves(expected)) {
            compared++;
            // The API server stores no empty map or list (an object whose only annotation the mirror dropped).
            const empty = JSON.stringify(value) === "{}" || JSON.stringify(value) === "[]";
            if (JSON.stringify(at(live, pointer)) !== JSON.stringify(value) && !(empty && at(live, pointer) === undefined)) {
                problems.push(`${object} ${pointer}: live ${JSON.stringify(at(live, pointer))}, production + report ${JSON.stringify(value)}`);
            }
        }
        const managed = ((live as any).metadata.managedFields ?? []) as Array<{ manager: string; operation: string; fieldsV1: Record<string, any> }>;
        const ours = managed.filter((m) => m.operation === "Apply" && m.manager.startsWith("pulumi"));
        if (ours.length === 0) {
            problems.push(`${object}: no field manager of the program among ${managed.map((m) => `${m.manager}/${m.operation}`).join(", ")}`);
        }
        for (const entry of ours) {
            for (const pointer of ownedPointers(entry.fieldsV1, live)) {
                if (at(expected, pointer) === undefined) {
                    problems.push(`${object} ${pointer}: applied by ${entry.manager} (${JSON.stringify(at(live, pointer))}) but neither production's nor reported`);
                }
            }
        }
    }
    for (const { object } of report.skipped) {
        const skipped = byKey.get(object) as KubeObject;
        const found = kubectl(env, "get", `${skipped.kind.toLowerCase()}`, skipped.metadata.name, "--ignore-not-found", "-o", "name").trim();
        if (found !== "") {
            problems.push(`${object} was reported skipped but exists: ${found}`);
        }
    }
    assert.deepStrictEqual(problems, []);
    return compared;
}
