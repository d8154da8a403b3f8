// The app file (prod-mirror:appFile): the limits on what is read and parsed, and the YAML reading
// itself. A wrong path must not read a large file into memory, climb out of the project, or
// expand a small alias bomb into an exponential value; and no error quotes the file's text.
import * as yaml from "js-yaml";
import type { Where } from "./config-error";
import { str } from "./config-fields";

/**
 * Largest app file read (256 KiB). A real description is a few KiB; the cap keeps a wrong path (a
 * log, an image, a dump) from being read into memory and parsed.
 */
export const APP_FILE_MAX_BYTES = 256 * 1024;

/**
 * Most values an app file may hold with every YAML alias expanded. A description has a few hundred;
 * aliases make a small file stand for an exponential one ("billion laughs"), which every walk over
 * it (validation, serialisation into the stack) would then expand.
 */
export const YAML_MAX_VALUES = 10_000;

/** Why `relative` cannot name the app file by its text alone, or undefined (symbolic links: readProjectFile). */
export function appFileProblem(relative: string): string | undefined {
    if (relative.startsWith("/") || /^[A-Za-z]:[\\/]/.test(relative) || relative.startsWith("\\")) {
        return "it is absolute";
    }
    if (relative.split(/[\\/]/).includes("..")) {
        return "it climbs out with ..";
    }
    return undefined;
}

/**
 * A project-relative path (the app file, a deployment's manifests, chart, values) that passes
 * appFileProblem: the one rule and wording for every path a description or a key names.
 */
export function projectPath(where: Where, value: unknown, example: string): string {
    const path = str(where, value, example);
    const problem = appFileProblem(path);
    if (problem !== undefined) {
        where.fail(`expected a path relative to the project directory that stays inside it (${problem})`, path, example);
    }
    return path;
}

/** Counts `value`'s values as a walk would meet them (aliases expanded), stopping past `max`. */
function countValues(value: unknown, max: number): number {
    let count = 0;
    const stack: unknown[] = [value];
    while (stack.length > 0) {
        const next = stack.pop();
        if (++count + stack.length > max) {
            return max + 1;
        }
        if (typeof next === "object" && next !== null) {
            for (const child of Array.isArray(next) ? next : Object.values(next)) {
                stack.push(child);
            }
        }
    }
    return count;
}

/** A YAML error's reason, when it quotes nothing of the text, and its position. */
function yamlErrorText(err: unknown): string {
    if (err instanceof yaml.YAMLException) {
        const reason = /^[a-z][a-z ,;-]*$/i.test(err.reason) ? err.reason : "not valid YAML";
        return err.mark === undefined ? reason : `${reason} at line ${err.mark.line + 1}, column ${err.mark.column + 1}`;
    }
    return "not valid YAML";
}

/** YAML or JSON text (an app file), with its aliases expanded no further than YAML_MAX_VALUES values. */
export function parseYaml(where: Where, text: string, example: string): unknown {
    let value: unknown;
    try {
        value = yaml.load(text);
    } catch (err) {
        // js-yaml's message carries a snippet of the file: only the reason and the position are used.
        return where.fail(`expected YAML or JSON (${yamlErrorText(err)})`, text, example);
    }
    if (countValues(value, YAML_MAX_VALUES) > YAML_MAX_VALUES) {
        where.invalid(
            `it holds more than ${YAML_MAX_VALUES} values once its YAML aliases are expanded (an alias bomb, or far more than a description needs). ` +
                "Write the repeated parts out, or use aliases (*name) only for small parts",
        );
    }
    return value;
}
