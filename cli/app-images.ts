// The image step: builds each service's image from the production description and pushes it to
// the target's registry under the branch's tag, for stacks whose
// `prod-mirror:imageBuilder` is `external` (AppImage then deploys exactly that reference).
import { spawnSync, type SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { builtImageName } from "../components/app-image";
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
 * Builds and pushes each image; returns the pushed `ref@sha256:…` per service. Without `login`, with
 * the local environment's engine and registry login (local/images/build-push.sh); with it (an
 * external target), with the docker of `env`, logged in to `login.server` in a private temporary
 * DOCKER_CONFIG, so the person's own docker login is neither used nor changed, and removed after.
 */
export function buildAndPushImages(builds: ImageBuild[], env: NodeJS.ProcessEnv, log: (line: string) => void, login?: PushLogin): Record<string, string> {
    if (builds.length === 0) {
        return {};
    }
    if (login === undefined) {
        return pushEach(builds, log, (build, buildArgs) => spawnSync("bash", [path.join(repoRoot, "local", "images", "build-push.sh"), build.context, build.ref, "-f", build.dockerfile, ...buildArgs], {
            env,
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
        }));
    }
    const config = fs.mkdtempSync(path.join(os.tmpdir(), "prod-mirror-docker-"));
    fs.chmodSync(config, 0o700);
    const dockerEnv = { ...env, DOCKER_CONFIG: config };
    const docker = (args: string[], input?: string): SpawnSyncReturns<string> => spawnSync("docker", args, { env: dockerEnv, encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
    try {
        const loggedIn = docker(["login", login.server, "--username", login.push.username, "--password-stdin"], login.push.password);
        if (loggedIn.status !== 0) {
            throw new Error(`docker login ${login.server} as ${login.push.username} (${login.push.source}) failed: ${(loggedIn.stderr || String(loggedIn.error)).trim()}; nothing was pushed`);
        }
        return pushEach(builds, log, (build, buildArgs) => {
            const built = docker(["build", "--quiet", "--tag", build.ref, "-f", build.dockerfile, ...buildArgs, build.context]);
            if (built.status !== 0) return built;
            const pushed = docker(["push", "--quiet", build.ref]);
            if (pushed.status !== 0) return pushed;
            const inspected = docker(["image", "inspect", "--format", "{{range .RepoDigests}}{{println .}}{{end}}", build.ref]);
            const repository = build.ref.replace(/:[^:/]*$/, "");
            return { ...inspected, stdout: inspected.stdout.split("\n").find((l) => l.startsWith(`${repository}@`)) ?? "" };
        });
    } finally {
        fs.rmSync(config, { recursive: true, force: true });
    }
}

/** The registry an external target pushes to, and as whom. */
export interface PushLogin {
    server: string;
    push: { username: string; password: string; source: string };
}

function pushEach(builds: ImageBuild[], log: (line: string) => void, buildPush: (build: ImageBuild, buildArgs: string[]) => SpawnSyncReturns<string>): Record<string, string> {
    const pushed: Record<string, string> = {};
    for (const build of builds) {
        const started = Date.now();
        const buildArgs = Object.entries(build.args).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
        const result = buildPush(build, buildArgs);
        if (result.status !== 0) {
            throw new Error(`building the image of service ${build.service} from ${path.relative(repoRoot, build.context)} failed:\n${result.stderr ?? String(result.error)}`);
        }
        pushed[build.service] = result.stdout.trim();
        log(`image ${build.ref} pushed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    }
    return pushed;
}
