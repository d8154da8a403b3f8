// Stack outputs in the two shapes test runners read: JSON (every output, secrets masked) and
// a shell-safe dotenv (the mirror's `runnerEnv`). Pure functions.
import type { OutputMap } from "@pulumi/pulumi/automation";

export const SECRET_MASK = "[secret]";

/** Every output's value; a secret one is replaced by a mask, never written in plaintext. */
export function plainOutputs(outputs: OutputMap): Record<string, unknown> {
    return Object.fromEntries(Object.entries(outputs).map(([key, output]) => [key, output.secret ? SECRET_MASK : output.value]));
}

// The pipelines `source` this file (set -a; . ./mirror.env), so it is shell code, and a value
// comes from a branch name anyone can choose. Inside single quotes a POSIX shell expands nothing,
// so every value is single-quoted and an embedded quote written as '\''. Control characters are
// refused rather than escaped: a newline or carriage return inside quotes is legal shell but
// breaks every line-based dotenv reader, and no output of a mirror needs one.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** `KEY='value'` lines that a POSIX shell reads back unchanged and never executes. */
export function toDotenv(vars: Record<string, unknown>): string {
    return Object.entries(vars)
        .map(([key, value]) => {
            if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
                throw new Error(`cannot write ${JSON.stringify(key)} to a dotenv file: not a valid variable name`);
            }
            const text = typeof value === "string" ? value : JSON.stringify(value);
            const control = CONTROL.exec(text);
            if (control !== null) {
                const code = `U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
                throw new Error(
                    `cannot write ${key} to a dotenv file: its value holds the control character ${code} at position ${control.index}, ` +
                        `which a line-based dotenv reader would split or mangle; remove it where the value comes from (for PROD_MIRROR_BRANCH, the branch name)`,
                );
            }
            return `${key}='${text.replace(/'/g, "'\\''")}'`;
        })
        .join("\n")
        .concat("\n");
}

/** The dotenv variables of a stack: its `runnerEnv` output, or nothing when it has none. */
export function runnerEnvOf(outputs: OutputMap): Record<string, unknown> {
    const runnerEnv = outputs.runnerEnv;
    if (runnerEnv === undefined) {
        return {};
    }
    if (runnerEnv.secret) {
        throw new Error("the runnerEnv output is secret; it must carry no credential so that it can be written to a file");
    }
    return runnerEnv.value as Record<string, unknown>;
}
