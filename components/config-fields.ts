// The field checks both parsers use (the app description's and the stack settings'): each reads one
// value of unknown shape, returns it typed, or throws a ConfigError through `Where`.
import type { ResourceAmounts, ResourceRequirements } from "./app-spec";
import type { Where } from "./config-error";

const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

export function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Rejects fields the schema does not know, so a typo cannot silently fall back to a default. */
export function onlyFields(where: Where, value: Record<string, unknown>, known: readonly string[], example: string): void {
    const unknown = Object.keys(value).filter((field) => !known.includes(field));
    if (where.quiet && where.path === "" && unknown.length > 0) {
        // The top of a file that may not be a description at all: its keys are not named either.
        where.fail(`expected only the fields ${known.join(", ")}, but ${unknown.length} other top-level field(s) are there (not named here, in case the file is not a description)`, value, example);
    }
    for (const field of Object.keys(value)) {
        if (!known.includes(field)) {
            where.field(field).fail(`unknown field; known fields are ${known.join(", ")}`, value[field], example);
        }
    }
}

export function object(where: Where, value: unknown, example: string): Record<string, unknown> {
    if (!isRecord(value)) {
        where.fail("expected an object", value, example);
    }
    return value;
}

export function str(where: Where, value: unknown, example: string): string {
    if (typeof value !== "string" || value === "") {
        where.fail("expected a non-empty string", value, example);
    }
    return value;
}

/** A non-empty string `pattern` matches; `rule` says in words what it allows. */
export function matching(where: Where, value: unknown, example: string, pattern: RegExp, rule: string): string {
    const text = str(where, value, example);
    if (!pattern.test(text)) {
        where.fail(`expected ${rule}`, text, example);
    }
    return text;
}

export function optionalStr(where: Where, value: unknown, example: string): string | undefined {
    return value === undefined ? undefined : str(where, value, example);
}

/** A non-empty string `rule` finds nothing wrong with; the rule's own words are the error's. */
export function checked(where: Where, value: unknown, example: string, rule: (text: string) => string | undefined): string {
    const text = str(where, value, example);
    const problem = rule(text);
    if (problem !== undefined) {
        where.fail(problem, text, example);
    }
    return text;
}

/** Whole number in [min, max]; config values arrive as text, YAML/JSON files as numbers. */
export function int(where: Where, value: unknown, min: number, max: number, example: string, unit = "number"): number {
    const n = typeof value === "string" && /^-?[0-9]+$/.test(value.trim()) ? Number(value) : value;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
        where.fail(`expected a whole ${unit} from ${min} to ${max}`, value, example);
    }
    return n;
}

export function quantity(where: Where, value: unknown, example: string): string {
    const text = typeof value === "number" ? String(value) : value;
    return matching(where, text, example, QUANTITY, 'a Kubernetes quantity such as "500m", "2" or "256Mi"');
}

export function stringList(where: Where, value: unknown, example: string): string[] {
    if (value === undefined) {
        return [];
    }
    if (!Array.isArray(value)) {
        where.fail("expected a list of names", value, example);
    }
    return value.map((item, i) => str(where.item(i), item, example));
}

export function stringMap(where: Where, value: unknown, example: string, keyPattern: RegExp, keyRule: string): Record<string, string> {
    if (value === undefined) {
        return {};
    }
    const map = object(where, value, example);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(map)) {
        if (!keyPattern.test(k)) {
            where.field(k).fail(`expected the name to be ${keyRule}`, k, example);
        }
        if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
            where.field(k).fail("expected a string", v, example);
        }
        out[k] = String(v);
    }
    return out;
}


export function resources(where: Where, value: unknown): ResourceRequirements | undefined {
    const example = '{"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}';
    if (value === undefined) {
        return undefined;
    }
    const obj = object(where, value, example);
    onlyFields(where, obj, ["requests", "limits"], example);
    const amounts = (w: Where, v: unknown): ResourceAmounts | undefined => {
        if (v === undefined) {
            return undefined;
        }
        const o = object(w, v, '{"cpu": "100m", "memory": "128Mi"}');
        onlyFields(w, o, ["cpu", "memory"], '{"cpu": "100m", "memory": "128Mi"}');
        const out: ResourceAmounts = {};
        if (o.cpu !== undefined) {
            out.cpu = quantity(w.field("cpu"), o.cpu, '"100m"');
        }
        if (o.memory !== undefined) {
            out.memory = quantity(w.field("memory"), o.memory, '"128Mi"');
        }
        return out;
    };
    const out: ResourceRequirements = {};
    const requests = amounts(where.field("requests"), obj.requests);
    const limits = amounts(where.field("limits"), obj.limits);
    if (requests !== undefined) {
        out.requests = requests;
    }
    if (limits !== undefined) {
        out.limits = limits;
    }
    return out;
}

export function list<T>(where: Where, value: unknown, example: string, parse: (w: Where, v: unknown) => T): T[] {
    if (value === undefined) {
        return [];
    }
    if (!Array.isArray(value)) {
        where.fail("expected a list", value, `[${example}]`);
    }
    return value.map((item, i) => parse(where.item(i), item));
}

/** JSON text, as `pulumi.Config.get` returns an object value. */
export function parseJson(where: Where, text: string, example: string): unknown {
    try {
        return JSON.parse(text);
    } catch (err) {
        const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
        return where.fail(`expected an object (${reason})`, text, example);
    }
}
