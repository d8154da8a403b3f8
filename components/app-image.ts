import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { BuildSpec, DEFAULT_IMAGE_BUILDER, DEFAULT_IMAGE_REPOSITORY, IMAGE_BUILDERS, ImageBuilder } from "./app-spec";
import { builtImageName } from "./naming";

/** The placeholder a prebuilt image reference may carry for the branch's tag. */
export const TAG_PLACEHOLDER = "{tag}";

export interface AppImageArgs {
    /** The service the image is for; the last segment of the repository path. */
    service: string;
    /** `<branch-slug>-<sha7>`, from naming.imageTag. */
    tag: string;
    /** Build and push this (exclusive with `image`). */
    build?: BuildSpec;
    /** A prebuilt reference to deploy as is, `{tag}` replaced by `tag` (exclusive with `build`). */
    image?: string;
    /** Registry to push to, with the same credentials the cluster pulls with. */
    registry: { server: string; username: pulumi.Input<string>; password: pulumi.Input<string> };
    /** Repository path under the registry. Default: DEFAULT_IMAGE_REPOSITORY (`prod-mirror`). */
    repository?: string;
    /**
     * Who builds `build`: `docker` builds and pushes it here; `external` means it was pushed beforehand
     * as builtImageName(registry.server, repository, service, tag), which is deployed as is. Ignored
     * for `image`. Default: DEFAULT_IMAGE_BUILDER (`docker`).
     */
    builder?: ImageBuilder;
}

/**
 * A service's image: built and pushed with @pulumi/docker, built and pushed outside Pulumi under the
 * name builtImageName gives, or a prebuilt reference (the mirror only deploys the tag).
 */
export class AppImage extends pulumi.ComponentResource {
    /** What the Deployment runs: the pushed digest when built here, otherwise the tagged reference. */
    public readonly ref: pulumi.Output<string>;
    /** True when this component builds and pushes the image (a docker resource exists). */
    public readonly built: boolean;

    constructor(name: string, args: AppImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("prod-mirror:image:AppImage", name, {}, opts);
        if ((args.build === undefined) === (args.image === undefined)) {
            throw new Error(`AppImage ${name}: set exactly one of build or image for service ${args.service}`);
        }
        const repository = args.repository ?? DEFAULT_IMAGE_REPOSITORY;
        const builder = args.builder ?? DEFAULT_IMAGE_BUILDER;
        if (!IMAGE_BUILDERS.includes(builder)) {
            throw new Error(`AppImage ${name}: builder must be one of ${IMAGE_BUILDERS.join(", ")}, got ${JSON.stringify(builder)}`);
        }
        this.built = args.build !== undefined && builder === "docker";

        if (args.build !== undefined && builder === "external") {
            // The tag, not a digest: Pulumi never saw the push. The tag carries the commit, so it names one build.
            this.ref = pulumi.output(builtImageName(args.registry.server, repository, args.service, args.tag));
        } else if (args.build !== undefined) {
            const imageName = builtImageName(args.registry.server, repository, args.service, args.tag);
            const image = new docker.Image(
                `${name}-image`,
                {
                    imageName,
                    build: {
                        context: args.build.context,
                        dockerfile: args.build.dockerfile ?? `${args.build.context}/Dockerfile`,
                        args: args.build.args,
                        target: args.build.target,
                    },
                    registry: {
                        server: args.registry.server,
                        username: args.registry.username,
                        password: pulumi.secret(args.registry.password),
                    },
                },
                { parent: this },
            );
            // The digest pins exactly what was pushed; a re-push of the same tag cannot change a running mirror.
            this.ref = image.repoDigest.apply((digest) => (digest ? digest : imageName));
        } else {
            this.ref = pulumi.output((args.image as string).split(TAG_PLACEHOLDER).join(args.tag));
        }
        this.registerOutputs({ ref: this.ref });
    }
}
