// A CI runner aimed at an external target, as the external-target and shared-backend suites make
// one: the local cluster through a kubeconfig file of the runner's own, the local registry through
// GitLab's CI_REGISTRY variables (its push user), state in an s3:// bucket on the local AWS emulator
// that the suite creates, and a HOME and PULUMI_HOME of the runner's own. Nothing else of the local
// environment: the tools are on PATH, as on a runner.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { describeLocalEnvironment, localEmulatorTag, parseDotenvFile, type LocalEnvironment } from "../../cli/local-environment";

export const EMULATOR = "http://127.0.0.1:4566";

/** The variables that are set: an unset one is absent, as in a shell. */
export const defined = (env: NodeJS.ProcessEnv): Record<string, string> => Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));

/** A bucket of the suite's own on the emulator, for the runners' shared state. */
export class TestBucket {
    readonly s3 = new S3Client({ endpoint: EMULATOR, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "test", secretAccessKey: "test" } });

    constructor(readonly name: string) {}

    /** The backend URL of a state under `prefix` in this bucket. */
    backendUrl(prefix = "mirrors"): string {
        return `s3://${this.name}/${prefix}?endpoint=${EMULATOR}&s3ForcePathStyle=true&region=us-east-1`;
    }

    async create(): Promise<void> {
        await this.s3.send(new CreateBucketCommand({ Bucket: this.name }));
    }

    /** Every key in the bucket (or in another one, to prove it missing). */
    async keys(name = this.name): Promise<string[]> {
        const listed = await this.s3.send(new ListObjectsV2Command({ Bucket: name }));
        return (listed.Contents ?? []).map((o) => o.Key ?? "");
    }

    async remove(): Promise<void> {
        for (const key of await this.keys().catch(() => [])) {
            await this.s3.send(new DeleteObjectCommand({ Bucket: this.name, Key: key }));
        }
        await this.s3.send(new DeleteBucketCommand({ Bucket: this.name })).catch(() => undefined);
    }
}

/** The registry's push user (the pull user is the local default's, and must not reach an external stack). */
export function pushUser(local: LocalEnvironment): { user: string; password: string } {
    const creds = parseDotenvFile(fs.readFileSync(path.join(local.stateDir, "registry", "credentials.env"), "utf8"));
    const push = { user: creds.REGISTRY_USERNAME, password: creds.REGISTRY_PASSWORD };
    assert.ok(push.user !== undefined && push.user !== local.registry.username, "the registry's push user must be another than its pull user");
    return push;
}

/**
 * A runner's environment in a directory of its own (`dir`: its HOME, PULUMI_HOME and kubeconfig),
 * on the state at `backendUrl`.
 */
export function externalRunnerEnv(dir: string, backendUrl: string, local: LocalEnvironment = describeLocalEnvironment()): NodeJS.ProcessEnv {
    const push = pushUser(local);
    const home = path.join(dir, "home");
    const pulumiHome = path.join(dir, "pulumi-home");
    fs.mkdirSync(home, { recursive: true });
    fs.mkdirSync(pulumiHome, { recursive: true });
    // Plugins as a person's ~/.pulumi would have them: the ones the local environment installed.
    fs.symlinkSync(path.join(local.stateDir, "pulumi-home", "plugins"), path.join(pulumiHome, "plugins"));
    // The team's kubeconfig, in a file of the runner's own.
    const kubeconfig = path.join(dir, "team.kubeconfig");
    fs.copyFileSync(local.env.KUBECONFIG, kubeconfig);
    return {
        PATH: local.env.PATH,
        HOME: home,
        PULUMI_HOME: pulumiHome,
        PULUMI_SKIP_UPDATE_CHECK: "1",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        // The runner's docker engine; the docker CLI there may lack buildx.
        DOCKER_HOST: local.env.DOCKER_HOST,
        DOCKER_BUILDKIT: "0",
        KUBECONFIG: kubeconfig,
        CI_REGISTRY: "127.0.0.1:5000",
        CI_REGISTRY_USER: push.user,
        CI_REGISTRY_PASSWORD: push.password,
        PULUMI_BACKEND_URL: backendUrl,
        PULUMI_CONFIG_PASSPHRASE: "external-target-test",
        AWS_ACCESS_KEY_ID: "test",
        AWS_SECRET_ACCESS_KEY: "test",
        AWS_REGION: "us-east-1",
        PROD_MIRROR_EMULATOR_IMAGE: `127.0.0.1:5000/prod-mirror/moto:${localEmulatorTag()}`,
        PROD_MIRROR_INSTALLATION: process.env.PROD_MIRROR_INSTALLATION,
    };
}
