// The emulator restarts (issue 12): moto keeps everything in memory, so a deleted emulator pod comes
// back empty. Its container creates the declared queues, buckets and tables again on every start,
// before it turns Ready; this test deletes the pod of a real mirror and looks, once the new pod is
// Ready (no retry: Ready must already mean "has them"), for exactly the declared resources.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { repoRoot } from "../../cli/local-environment";
import { destroyMirror, prepareMirror, useLocalEnvironment, type PreparedMirror } from "../../cli/mirror";
import { startForwards, stopForwards } from "../../cli/port-forward";
import { DEFAULT_NAME_PREFIX } from "../../components/app-spec";
import { EMULATOR_NAME, EMULATOR_PORT } from "../../components/cloud/emulated";
import { KEYS } from "../../components/manifests";
import { cloudResourceName } from "../../components/naming";
import { parseSettings } from "../../components/settings";
import { PROJECT } from "../../components/config-error";
import { eventually, kubectl, kubectlJson } from "./cluster";

const log = (line: string): void => {
    process.stderr.write(`      ${line}\n`);
};

/** The names of each kind, sorted. */
interface Inventory {
    queues: string[];
    buckets: string[];
    tables: string[];
}

interface PodState {
    metadata: { name: string; deletionTimestamp?: string };
    status: { conditions?: Array<{ type: string; status: string }> };
}

describe("emulator restart on the local environment", function () {
    const branch = `emu/restart-${crypto.randomBytes(3).toString("hex")}`;
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).trim();
    const env = process.env;
    let mirror: PreparedMirror | undefined;
    let namespace = "";
    let expected: Inventory;

    const runDir = (): string => path.join(mirror!.local.mirrorsDir, "run");
    const forwardName = (): string => `${mirror!.stackName}-emulator-restart`;

    /** What the namespace's emulator holds, through a fresh port-forward to its Service (one look, no retry). */
    async function inventory(): Promise<Inventory> {
        const [forward] = await startForwards({
            runDir: runDir(), logDir: path.join(mirror!.local.mirrorsDir, "logs"),
            stackName: forwardName(), namespace, services: [{ name: EMULATOR_NAME, port: EMULATOR_PORT }], env,
        });
        try {
            const python = path.join(env.PROD_MIRROR_CACHE as string, "moto", fs.readFileSync(path.join(repoRoot, "local", "versions.env"), "utf8").match(/^MOTO_VERSION=(\S+)/m)![1], "bin", "python3");
            const all = JSON.parse(execFileSync(python, [path.join(__dirname, "fixtures", "aws_inventory.py"), forward.url], { encoding: "utf8" }));
            return { queues: Object.keys(all.queues).sort(), buckets: Object.keys(all.buckets).sort(), tables: Object.keys(all.tables).sort() };
        } finally {
            stopForwards(runDir(), forwardName());
        }
    }

    function emulatorPods(): PodState[] {
        return kubectlJson(env, "get", "pods", "-n", namespace, "-l", `${KEYS.name}=${EMULATOR_NAME}`).items;
    }
    const isReady = (p: PodState): boolean => p.metadata.deletionTimestamp === undefined && (p.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

    before(async function () {
        this.timeout(20 * 60_000);
        const local = useLocalEnvironment();
        mirror = await prepareMirror({ branch, commit }, 1, local, log);
        const up = await mirror.stack.up({ onOutput: () => undefined });
        assert.strictEqual(up.summary.result, "succeeded");
        namespace = String(up.outputs.namespace.value);
        // What should exist comes from production's description and the naming rule, not from the
        // program's outputs, which a naming bug would change too.
        const appFile = (await mirror.stack.getConfig(`${PROJECT}:appFile`)).value;
        const emulatorImage = (await mirror.stack.getConfig(`${PROJECT}:emulatorImage`)).value;
        const { cloud } = parseSettings({ registryUsername: "unused", appFile, emulatorImage }, { stack: mirror.stackName, readFile: (f) => fs.readFileSync(path.join(repoRoot, f), "utf8") }).app;
        const named = (kind: "queue" | "bucket" | "table", names: string[]): string[] => names.map((n) => cloudResourceName(kind, DEFAULT_NAME_PREFIX, branch, n)).sort();
        expected = {
            queues: named("queue", cloud.queues.map((q) => q.name)),
            buckets: named("bucket", cloud.buckets.map((b) => b.name)),
            tables: named("table", cloud.tables.map((t) => t.name)),
        };
        for (const kind of ["queues", "buckets", "tables"] as const) {
            assert.ok(expected[kind].length > 0, `${appFile} declares no ${kind}: the test would prove nothing`);
        }
    });

    after(async function () {
        this.timeout(10 * 60_000);
        if (mirror !== undefined) {
            stopForwards(runDir(), forwardName());
            const result = await destroyMirror(branch, mirror.local, log);
            assert.deepStrictEqual(result.survivors ?? [], [], "the mirror left objects behind");
        }
    });

    it("has the declared queues, buckets and tables again once a deleted emulator pod's successor is Ready", async function () {
        this.timeout(10 * 60_000);
        assert.deepStrictEqual(await inventory(), expected, "right after up");
        const [old] = emulatorPods();
        assert.ok(old !== undefined && isReady(old), "no Ready emulator pod after up");
        const deletedAt = Date.now();
        kubectl(env, "delete", "pod", "-n", namespace, old.metadata.name, "--wait=false");
        const successor = await eventually(`a Ready emulator pod other than ${old.metadata.name}`, 5 * 60_000, () =>
            emulatorPods().find((p) => p.metadata.name !== old.metadata.name && isReady(p)));
        const readyAfter = (Date.now() - deletedAt) / 1000;
        // The Service must route only to the successor: the deleted pod is out of its endpoints.
        const addresses = kubectlJson(env, "get", "endpoints", EMULATOR_NAME, "-n", namespace).subsets?.flatMap((s: { addresses?: Array<{ targetRef?: { name: string } }> }) => s.addresses ?? []) ?? [];
        assert.deepStrictEqual(addresses.map((a: { targetRef?: { name: string } }) => a.targetRef?.name), [successor.metadata.name]);
        assert.deepStrictEqual(await inventory(), expected, "after the emulator pod was replaced");
        const backAfter = (Date.now() - deletedAt) / 1000;
        console.log(`figure: resources back ${backAfter.toFixed(1)} s after the pod was deleted (new pod Ready after ${readyAfter.toFixed(1)} s)`);
    });
});
