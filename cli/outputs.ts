// Stack outputs in the two shapes test runners read: JSON (every output, secrets masked) and
// dotenv (the mirror's `runnerEnv`). Pure functions.
import type { OutputMap } from "@pulumi/pulumi/automation";

export const SECRET_MASK = "[secret]";

/** Every output's value; a secret one is replaced by a mask, never written in plaintext. */
export function plainOutputs(outputs: OutputMap): Record<string, unknown> {
    return Object.fromEntries(Object.entries(outputs).map(([key, output]) => [key, output.secret ? SECRET_MASK : output.value]));
}

/** `KEY=value` lines, values quoted when they hold anything a shell or dotenv parser could misread. */
export function toDotenv(vars: Record<string, unknown>): string {
    return Object.entries(vars)
        .map(([key, value]) => {
            if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
                throw new Error(`cannot write ${JSON.stringify(key)} to a dotenv file: not a valid variable name`);
            }
            const text = typeof value === "string" ? value : JSON.stringify(value);
            return /^[A-Za-z0-9_./:@%+,=-]*$/.test(text) ? `${key}=${text}` : `${key}=${JSON.stringify(text)}`;
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
