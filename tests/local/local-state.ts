// Where the local environment keeps its state and caches, and what it pinned: the same rules as
// local/lib.sh, so a test finds the registry credentials, the docker client config and the moto venv
// exactly where `local:up` put them.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import { repoRoot } from "./local-env";

export const stateDir = process.env.PROD_MIRROR_STATE ?? path.join(os.homedir(), ".local", "state", "prod-mirror");
export const cacheDir = process.env.PROD_MIRROR_CACHE ?? path.join(os.homedir(), ".cache", "prod-mirror");
export const registryAddr = process.env.PROD_MIRROR_REGISTRY_ADDR ?? "127.0.0.1:5000";
/** The docker client config our engine is logged in with (`docker login` by local/parts/registry.sh). */
export const dockerConfigDir = path.join(stateDir, "docker", "client");

/** A pinned version from local/versions.env. */
export function pinned(name: string): string {
    const text = fs.readFileSync(path.join(repoRoot, "local", "versions.env"), "utf8");
    const m = new RegExp(`^${name}=(\\S+)$`, "m").exec(text);
    if (!m) {
        throw new Error(`local/versions.env has no ${name}=`);
    }
    return m[1];
}

/** An address or name the kubernetes part's scripts share, from local/kubernetes/names.sh (literal values only). */
export function kubernetesName(name: string): string {
    const text = fs.readFileSync(path.join(repoRoot, "local", "kubernetes", "names.sh"), "utf8");
    const m = new RegExp(`^${name}=([^\\s$]+)$`, "m").exec(text);
    if (!m) {
        throw new Error(`local/kubernetes/names.sh has no literal ${name}=`);
    }
    return m[1];
}

/** Parses a KEY=value file such as $PM_STATE/registry/credentials.env. */
export function readEnvFile(file: string): Record<string, string> {
    const values: Record<string, string> = {};
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        const i = line.indexOf("=");
        if (i > 0) {
            values[line.slice(0, i).trim()] = line.slice(i + 1).trim();
        }
    }
    return values;
}

/** The registry credentials made once by local/parts/registry.sh. */
export function registryCredentials(): { username: string; password: string } {
    const v = readEnvFile(path.join(stateDir, "registry", "credentials.env"));
    return { username: v.REGISTRY_USERNAME, password: v.REGISTRY_PASSWORD };
}

/** The python3 of the moto venv (local/emulator/venv.sh): moto's server, and boto3 as a client. */
export function motoPython(): string {
    return path.join(cacheDir, "moto", pinned("MOTO_VERSION"), "bin", "python3");
}
