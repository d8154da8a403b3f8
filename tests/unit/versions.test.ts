// The local environment builds the Pulumi CLI, the Kubernetes provider and the emulator image from
// local/versions.env; the program's npm packages and emulator default must be the same versions.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { MOTO_VERSION } from "../../components/settings";
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

    it("MOTO_VERSION in local/versions.env equals the emulator image tag the program defaults to", () => {
        assert.strictEqual(versionsEnv().MOTO_VERSION, MOTO_VERSION);
    });

    it("package.json pins the Pulumi packages exactly, without a range", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8"));
        for (const name of ["@pulumi/pulumi", "@pulumi/kubernetes"]) {
            assert.match(pkg.dependencies[name], /^\d+\.\d+\.\d+$/, name);
        }
        assert.match(pkg.devDependencies.typescript, /^~5\.9\./);
    });
});
