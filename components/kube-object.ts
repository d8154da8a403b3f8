// Kubernetes objects as production's deployment renders them (plain JSON), and the RFC 6901 JSON
// pointers the fidelity report uses to say which field of one changed. Pure; shared by render,
// rewrite and the tests that check a report against the objects it describes.

/** A Kubernetes object as rendered: plain JSON. */
export interface KubeObject {
    apiVersion: string;
    kind: string;
    metadata: {
        name: string;
        namespace?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
        [k: string]: unknown;
    };
    [k: string]: unknown;
}

/** `Kind/name` ("Deployment/api"): how reports and errors name an object. */
export function objectId(o: KubeObject): string {
    return `${o.kind}/${o.metadata.name}`;
}

/** A field's place in an object as keys and array indexes: ["spec", "containers", 0, "image"]. */
export type FieldPath = readonly (string | number)[];

/** The RFC 6901 pointer of `path`: `~` is written `~0` and `/` `~1`, so label keys with a slash stay one token. */
export function jsonPointer(path: FieldPath): string {
    return path.map((token) => `/${String(token).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

/** The tokens of an RFC 6901 pointer; `~1` is decoded before `~0`, as the RFC requires (`~01` is `~1`, not `/`). */
export function pointerTokens(pointer: string): string[] {
    if (pointer === "") {
        return [];
    }
    if (!pointer.startsWith("/")) {
        throw new Error(`${JSON.stringify(pointer)} is not a JSON pointer: it must be empty or start with "/"`);
    }
    return pointer
        .slice(1)
        .split("/")
        .map((token) => token.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** A JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value at `path` inside `root`, or undefined when any step is missing. */
export function valueAt(root: unknown, path: FieldPath): unknown {
    let node = root;
    for (const token of path) {
        if (Array.isArray(node) || isRecord(node)) {
            node = (node as Record<string, unknown>)[String(token)];
        } else {
            return undefined;
        }
    }
    return node;
}

/**
 * Writes `value` at `path` inside `root`, creating missing parent objects; `undefined` removes the
 * field (an array element is spliced out, so the array never holds a hole JSON cannot express).
 */
export function writeAt(root: Record<string, unknown>, path: FieldPath, value: unknown): void {
    if (path.length === 0) {
        throw new Error("cannot write at the empty path: that would replace the whole object");
    }
    let node: Record<string, unknown> = root;
    for (const token of path.slice(0, -1)) {
        const key = String(token);
        if (!Array.isArray(node[key]) && !isRecord(node[key])) {
            node[key] = {};
        }
        node = node[key] as Record<string, unknown>;
    }
    const last = String(path[path.length - 1]);
    if (value !== undefined) {
        node[last] = value;
    } else if (Array.isArray(node)) {
        node.splice(Number(last), 1);
    } else {
        delete node[last];
    }
}
