// How configuration errors are worded: the error type, the stack file and key they name, and where
// in a value a problem sits. Every message names the key (or the description's path), the file,
// the bad value and an example, because the person reading it is editing that file.
import { RunError } from "@pulumi/pulumi/errors";
import { type DescriptionPath } from "./env-contract";

/** The Pulumi project name, and so the namespace of every config key. */
export const PROJECT = "prod-mirror";

/**
 * Thrown for a missing or malformed configuration value. A RunError: `pulumi up` prints its message
 * alone (the key, the value and the fix), not an unhandled-exception report with a stack trace.
 */
export class ConfigError extends RunError {
    constructor(message: string) {
        super(message);
        this.name = "ConfigError";
    }
}

/** The stack's config file, as errors name it. */
export function stackFile(stack: string): string {
    return `Pulumi.${stack}.yaml`;
}

/** `<key> is missing from Pulumi.<stack>.yaml: <what>. Example: ...` */
export function missingKeyError(stack: string, key: string, what: string, example: string, secret = false): ConfigError {
    const full = `${PROJECT}:${key}`;
    const command = `pulumi config set${secret ? " --secret" : ""} ${full} ${example}`;
    return new ConfigError(`${full} is missing from ${stackFile(stack)}: ${what}. Set it with: ${command}`);
}

/**
 * Where a value came from: a config key path and the file holding it. `quiet` values come from a
 * file (prod-mirror:appFile) and are described, never quoted: a path pointing at the wrong file
 * (a credentials file, say) must not print its contents into a CI log.
 */
export class Where {
    constructor(
        readonly path: string,
        readonly file: string,
        readonly quiet = false,
    ) {}

    field(name: string): Where {
        return new Where(this.path === "" ? name : `${this.path}.${name}`, this.file, this.quiet);
    }

    item(index: number): Where {
        return new Where(`${this.path}[${index}]`, this.file, this.quiet);
    }

    /** The path of a description's part, from this one. */
    at(parts: DescriptionPath): Where {
        return parts.reduce<Where>((w, part) => (typeof part === "number" ? w.item(part) : w.field(part)), this);
    }

    /** `<path> in <file> is invalid: <problem>`, for a problem that names its values and fix itself. */
    invalid(problem: string): never {
        throw new ConfigError(`${this.path === "" ? "the document" : this.path} in ${this.file} is invalid: ${problem}`);
    }

    /** `<path> in <file> is invalid: <problem>, got <value>. Example: <path>: <example>` */
    fail(problem: string, got: unknown, example: string): never {
        const path = this.path === "" ? "the document" : this.path;
        throw new ConfigError(`${path} in ${this.file} is invalid: ${problem}, got ${this.quiet ? describe(got) : show(got)}. Example: ${path}: ${example}`);
    }
}

/** What a value is, without any of its content. */
function describe(value: unknown): string {
    if (value === undefined || value === null) {
        return "nothing";
    }
    if (typeof value === "string") {
        return `a string of ${value.length} characters`;
    }
    if (Array.isArray(value)) {
        return `a list of ${value.length} items`;
    }
    if (typeof value === "object") {
        return `an object with ${Object.keys(value).length} fields`;
    }
    return `a ${typeof value}`;
}

function show(value: unknown): string {
    if (value === undefined) {
        return "nothing";
    }
    const text = JSON.stringify(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
