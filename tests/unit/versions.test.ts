// The local environment builds the Pulumi CLI, the Kubernetes provider and the emulator image from
// local/versions.env; the program's npm packages must be the same versions, and the stack files that
// name the local emulator image its tag.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { LOCAL_EMULATOR_REPOSITORY, localEmulatorTag } from "../../cli/local-environment";
import { repoRoot } from "./mocks";

function versionsEnv(): Record<string, string> {
    const text = fs.readFileSync(path.join(repoRoot, "local", "versions.env"), "utf8");
    return Object.fromEntries(
        text
            .split("\n")
            .map((line) => /^([A-Z0-9_]+)=["']?([^"'\s#]*)["']?/.exec(line.trim()))
            .filter((m): m is RegExpExecArray => m !== null)
            .map((m) => [m[1], m[2]]),
    );
}

function locked(name: string): string {
    const lock = JSON.parse(fs.readFileSync(path.join(repoRoot, "package-lock.json"), "utf8"));
    const version = lock.packages?.[`node_modules/${name}`]?.version;
    assert.ok(version, `${name} is not in package-lock.json`);
    return version;
}

describe("pinned versions", () => {
    it("PULUMI_VERSION in local/versions.env equals @pulumi/pulumi in package-lock.json", () => {
        assert.strictEqual(versionsEnv().PULUMI_VERSION, locked("@pulumi/pulumi"));
    });

    it("PULUMI_KUBERNETES_VERSION in local/versions.env equals @pulumi/kubernetes in package-lock.json", () => {
        assert.strictEqual(versionsEnv().PULUMI_KUBERNETES_VERSION, locked("@pulumi/kubernetes"));
    });

    it("MOTO_VERSION in local/versions.env tags the emulator image the CLI pins, Pulumi.ci.yaml deploys and the README's example names", () => {
        const moto = versionsEnv().MOTO_VERSION;
        assert.match(moto, /^\d+\.\d+\.\d+$/);
        assert.strictEqual(localEmulatorTag(), moto);
        const ci = yaml.load(fs.readFileSync(path.join(repoRoot, "Pulumi.ci.yaml"), "utf8")) as { config: Record<string, unknown> };
        const image = `127.0.0.1:5000/${LOCAL_EMULATOR_REPOSITORY}:${moto}`;
        assert.strictEqual(ci.config["prod-mirror:emulatorImage"], image);
        const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");
        const lines = readme.split("\n").map((line) => line.replace(/\s+#.*$/, ""));
        assert.ok(lines.includes(`  prod-mirror:emulatorImage: ${image}`), `the README's example stack file does not set prod-mirror:emulatorImage: ${image}`);
    });

    it("the CLI reads the local emulator's tag from a versions.env line, and refuses a missing or unusable one with the fix", () => {
        assert.strictEqual(localEmulatorTag("# AWS emulator\nMOTO_VERSION=5.2.5\nDEBIAN_SUITE=bookworm\n"), "5.2.5");
        const fix = "the local emulator image is tagged with it; restore the line, e.g. MOTO_VERSION=5.2.5, from git";
        assert.throws(() => localEmulatorTag("DEBIAN_SUITE=bookworm\n# MOTO_VERSION=5.2.5\n"), {
            message: `local/versions.env has no usable MOTO_VERSION line (found null): ${fix}`,
        });
        assert.throws(() => localEmulatorTag("MOTO_VERSION=\n"), { message: `local/versions.env has no usable MOTO_VERSION line (found ""): ${fix}` });
        assert.throws(() => localEmulatorTag("MOTO_VERSION=5.2.5 # pinned\n"), {
            message: `local/versions.env has no usable MOTO_VERSION line (found "5.2.5 # pinned"): ${fix}`,
        });
    });

    it("package.json pins the Pulumi packages exactly, without a range", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8"));
        for (const name of ["@pulumi/pulumi", "@pulumi/kubernetes"]) {
            assert.match(pkg.dependencies[name], /^\d+\.\d+\.\d+$/, name);
        }
        assert.match(pkg.devDependencies.typescript, /^~5\.9\./);
    });
});
