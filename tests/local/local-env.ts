// The one way tests reach the local environment: bring it up (idempotent, builds what is
// missing) and hand back the environment variables a user would export after `local:up`.
import { execFileSync, spawnSync } from "child_process";
import * as path from "path";

export const repoRoot = path.resolve(__dirname, "..", "..");
const envScript = path.join(repoRoot, "local", "env.sh");

let cached: NodeJS.ProcessEnv | undefined;

/** Runs `bash local/env.sh up` once per test process and returns process.env plus the shellenv. */
export function ensureLocalEnv(): NodeJS.ProcessEnv {
    if (cached) {
        return cached;
    }
    const up = spawnSync("bash", [envScript, "up"], { stdio: ["ignore", "inherit", "inherit"] });
    if (up.status !== 0) {
        throw new Error(`'bash local/env.sh up' failed with exit code ${up.status}; see the logs it printed`);
    }
    cached = { ...process.env, ...parseShellEnv(execFileSync("bash", [envScript, "shellenv"], { encoding: "utf8" })) };
    return cached;
}

/** Parses lines of `export NAME="value"` as printed by `local/env.sh shellenv`. */
export function parseShellEnv(text: string): Record<string, string> {
    const vars: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const m = /^export ([A-Za-z_][A-Za-z0-9_]*)="?(.*?)"?$/.exec(line.trim());
        if (m) {
            vars[m[1]] = m[2].replace(/\$PATH/g, process.env.PATH ?? "");
        }
    }
    return vars;
}
