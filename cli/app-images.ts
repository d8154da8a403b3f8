// The local environment's image step: builds each service's image from the production
// description and pushes it to the registry under the branch's tag, for stacks whose
// `prod-mirror:imageBuilder` is `external` (AppImage then deploys exactly that reference).
import { spawnSync } from "child_process";
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

/** Builds and pushes with the local engine; returns the pushed `ref@sha256:…` per service. */
export function buildAndPushImages(builds: ImageBuild[], env: NodeJS.ProcessEnv, log: (line: string) => void): Record<string, string> {
    const pushed: Record<string, string> = {};
    for (const build of builds) {
        const started = Date.now();
        const buildArgs = Object.entries(build.args).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
        const result = spawnSync("bash", [path.join(repoRoot, "local", "images", "build-push.sh"), build.context, build.ref, "-f", build.dockerfile, ...buildArgs], {
            env,
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
        });
        if (result.status !== 0) {
            throw new Error(`building the image of service ${build.service} from ${path.relative(repoRoot, build.context)} failed:\n${result.stderr}`);
        }
        pushed[build.service] = result.stdout.trim();
        log(`image ${build.ref} pushed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    }
    return pushed;
}
