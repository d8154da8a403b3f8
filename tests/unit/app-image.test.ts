import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { AppImage } from "../../components";
import { PASSWORD } from "./fixtures";
import { inBothModes, isKnown, isSecretValue, settle, useMocks, valueOf } from "./mocks";

const REGISTRY = { server: "127.0.0.1:5000", username: "ci-bot", password: pulumi.secret(PASSWORD) };

describe("AppImage", () => {
    inBothModes((preview) => {
        it("builds and pushes <registry>/prod-mirror/<service>:<tag> with the mirror's credentials, and deploys the digest", async () => {
            const mocks = await useMocks(preview);
            const image = new AppImage("api", {
                service: "api",
                tag: "main-3f2a9c1",
                build: { context: "app", dockerfile: "app/api/Dockerfile", args: { BASE: "b" } },
                registry: REGISTRY,
            });
            await settle(mocks);
            const built = mocks.one("docker:index/image:Image", "api-image").inputs;
            assert.strictEqual(built.imageName, "127.0.0.1:5000/prod-mirror/api:main-3f2a9c1");
            assert.deepStrictEqual(built.build, { context: "app", dockerfile: "app/api/Dockerfile", args: { BASE: "b" } });
            assert.deepStrictEqual(built.registry, { server: "127.0.0.1:5000", username: "ci-bot", password: PASSWORD });
            assert.ok(isSecretValue(mocks.one("docker:index/image:Image", "api-image").rawInputs.registry), "registry credentials reach the engine as a secret");
            assert.ok(image.built);
            if (preview) {
                // The digest exists only once the image is pushed: nothing may read it during preview.
                assert.strictEqual(await isKnown(image.ref), false);
            } else {
                // The mocks answer a push with the sha256 of the pushed name as its digest:
                // printf %s '127.0.0.1:5000/prod-mirror/api:main-3f2a9c1' | sha256sum
                assert.strictEqual(await valueOf(image.ref), "127.0.0.1:5000/prod-mirror/api@sha256:6562a4141b6ed2222aac3c5094525508badd1cb9ad643a73c675786f7348ca7c");
            }
        });

        it("builds <context>/Dockerfile when the build names no dockerfile", async () => {
            const mocks = await useMocks(preview);
            new AppImage("api", { service: "api", tag: "t", build: { context: "services/api", args: {} }, registry: REGISTRY });
            await settle(mocks);
            assert.deepStrictEqual(mocks.one("docker:index/image:Image", "api-image").inputs.build, { context: "services/api", dockerfile: "services/api/Dockerfile", args: {} });
        });

        it("takes a prebuilt reference with {tag} filled in, and builds nothing", async () => {
            const mocks = await useMocks(preview);
            const image = new AppImage("web", { service: "web", tag: "main-3f2a9c1", image: "ghcr.io/acme/web:{tag}", registry: REGISTRY });
            await settle(mocks);
            assert.strictEqual(await valueOf(image.ref), "ghcr.io/acme/web:main-3f2a9c1");
            assert.strictEqual(image.built, false);
            assert.deepStrictEqual(mocks.ofType("docker:index/image:Image"), []);
        });

        it("with builder external, declares no docker resource and deploys the name it was pushed under", async () => {
            const mocks = await useMocks(preview);
            const image = new AppImage("api", {
                service: "api",
                tag: "main-3f2a9c1",
                build: { context: "app", dockerfile: "app/api/Dockerfile", args: {} },
                registry: REGISTRY,
                repository: "team/mirror",
                builder: "external",
            });
            await settle(mocks);
            assert.deepStrictEqual(mocks.registrations.filter((r) => r.type.startsWith("docker:")), []);
            assert.strictEqual(await valueOf(image.ref), "127.0.0.1:5000/team/mirror/api:main-3f2a9c1");
            assert.strictEqual(image.built, false);
        });

        it("with builder external, still deploys a prebuilt image as given", async () => {
            const mocks = await useMocks(preview);
            const image = new AppImage("web", { service: "web", tag: "main-3f2a9c1", image: "ghcr.io/acme/web:{tag}", registry: REGISTRY, builder: "external" });
            await settle(mocks);
            assert.strictEqual(await valueOf(image.ref), "ghcr.io/acme/web:main-3f2a9c1");
        });
    });

    it("refuses to guess when given both or neither of build and image", async () => {
        await useMocks(false);
        assert.throws(() => new AppImage("x", { service: "x", tag: "t", registry: REGISTRY }), /set exactly one of build or image for service x/);
    });

    it("refuses a builder it does not know", async () => {
        await useMocks(false);
        const build = { context: "app", args: {} };
        assert.throws(
            () => new AppImage("x", { service: "x", tag: "t", build, registry: REGISTRY, builder: "kaniko" as "docker" }),
            /^Error: AppImage x: builder must be one of docker, external, got "kaniko"$/,
        );
    });
});
