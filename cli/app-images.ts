// The image step: builds each service's image from the production description and pushes it to
// the target's registry under the branch's tag, for stacks whose
// `prod-mirror:imageBuilder` is `external` (AppImage then deploys exactly that reference).
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { builtImageName } from "../components/naming";
import type { AppSpec } from "../components/app-spec";
import { repoRoot } from "./local-environment";

export interface ImageBuild {
    service: string;
    context: string;
    dockerfile: string;
    args: Record<string, string>;
    ref: string;
}

/**
 * The images the description asks to build, and where each must be pushed: each service's build, or,
 * for a description of production's own deployment, each image rule's. Pure.
 */
export function plannedImageBuilds(app: AppSpec, server: string, repository: string, tag: string, projectDir: string): ImageBuild[] {
    const wanted = app.deployment === undefined ? app.services.map((s) => ({ service: s.name, build: s.build })) : (app.images ?? []).map((i) => ({ service: i.service, build: i.build }));
    return wanted.flatMap(({ service, build }) => {
        if (build === undefined) {
            return [];
        }
        return [{
            service,
            context: path.resolve(projectDir, build.context),
            dockerfile: path.resolve(projectDir, build.dockerfile ?? path.join(build.context, "Dockerfile")),
            args: build.args,
            ref: builtImageName(server, repository, service, tag),
        }];
    });
}

/**
 * Builds and pushes every image at once (each image's build, push and digest in turn); returns the
 * pushed `ref@sha256:…` per service. Without `login`, with the local environment's engine and
 * registry login (local/images/build-push.sh); with it (an external target), with the docker of
 * `env`, logged in to `login.server` in a private temporary DOCKER_CONFIG, so the person's own
 * docker login is neither used nor changed, and removed after.
 */
export async function buildAndPushImages(builds: ImageBuild[], env: NodeJS.ProcessEnv, log: (line: string) => void, login?: PushLogin): Promise<Record<string, string>> {
    if (builds.length === 0) {
        return {};
    }
    if (login === undefined) {
        return pushAll(builds, log, (build, buildArgs) => spawned("bash", [path.join(repoRoot, "local", "images", "build-push.sh"), build.context, build.ref, "-f", build.dockerfile, ...buildArgs], env));
    }
    const config = fs.mkdtempSync(path.join(os.tmpdir(), "prod-mirror-docker-"));
    fs.chmodSync(config, 0o700);
    const dockerEnv = { ...env, DOCKER_CONFIG: config };
    const docker = (args: string[], input?: string): Promise<Spawned> => spawned("docker", args, dockerEnv, input);
    try {
        const loggedIn = await docker(["login", login.server, "--username", login.push.username, "--password-stdin"], login.push.password);
        if (loggedIn.status !== 0) {
            throw new Error(`docker login ${login.server} as ${login.push.username} (${login.push.source}) failed: ${loggedIn.stderr.trim()}; nothing was pushed`);
        }
        return await pushAll(builds, log, async (build, buildArgs) => {
            const built = await docker(["build", "--quiet", "--tag", build.ref, "-f", build.dockerfile, ...buildArgs, build.context]);
            if (built.status !== 0) return built;
            const pushed = await docker(["push", "--quiet", build.ref]);
            if (pushed.status !== 0) return pushed;
            const inspected = await docker(["image", "inspect", "--format", "{{range .RepoDigests}}{{println .}}{{end}}", build.ref]);
            const repository = build.ref.replace(/:[^:/]*$/, "");
            return { ...inspected, stdout: inspected.stdout.split("\n").find((l) => l.startsWith(`${repository}@`)) ?? "" };
        });
    } finally {
        fs.rmSync(config, { recursive: true, force: true });
    }
}

/** A finished child process: its exit status (null when it could not start or was killed) and output. */
interface Spawned {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** Runs `command` to its end without blocking the event loop; a failure to start is a status of null with the reason in stderr. */
function spawned(command: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<Spawned> {
    return new Promise((resolve) => {
        const child = spawn(command, args, { env, stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
        child.on("error", (err) => resolve({ status: null, stdout, stderr: `${stderr}${String(err)}` }));
        child.on("close", (status) => resolve({ status, stdout, stderr }));
        child.stdin.end(input ?? "");
    });
}

/** The registry an external target pushes to, and as whom. */
export interface PushLogin {
    server: string;
    push: { username: string; password: string; source: string };
}

/**
 * Every build at once: on a warm engine each is a few cached layers and a push of a manifest, so
 * they are round trips rather than work, and three of them in turn cost three times one. Throws the
 * first failure (in the builds' order) once all have ended, so no build is left running.
 */
async function pushAll(builds: ImageBuild[], log: (line: string) => void, buildPush: (build: ImageBuild, buildArgs: string[]) => Promise<Spawned>): Promise<Record<string, string>> {
    const started = Date.now();
    const results = await Promise.all(builds.map(async (build) => {
        const own = Date.now();
        const buildArgs = Object.entries(build.args).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
        const result = await buildPush(build, buildArgs);
        if (result.status === 0) {
            log(`image ${build.ref} pushed in ${((Date.now() - own) / 1000).toFixed(1)}s`);
        }
        return { build, result };
    }));
    const failed = results.find(({ result }) => result.status !== 0);
    if (failed !== undefined) {
        throw new Error(`building the image of service ${failed.build.service} from ${path.relative(repoRoot, failed.build.context)} failed:\n${failed.result.stderr}`);
    }
    log(`${IMAGES_PUSHED} ${((Date.now() - started) / 1000).toFixed(1)}s`);
    return Object.fromEntries(results.map(({ build, result }) => [build.service, result.stdout.trim()]));
}

/** The image step's last line, before its wall-clock seconds: what the benchmark reads. */
export const IMAGES_PUSHED = "images pushed in";
