// `local:down` stops every process `local:up` started, by the pid and start time it recorded, and
// leaves nothing listening; `local:up` then brings everything back and `local:status` says so.
// Runs after the other local suites (mocha orders spec files by name).
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { isRunning } from "../../cli/process-record";
import { ensureLocalEnv, listening, repoRoot } from "./local-env";

/** The daemons up recorded: name -> [pid, start time in clock ticks]. */
function recorded(runDir: string): Map<string, [number, string]> {
    const daemons = new Map<string, [number, string]>();
    for (const file of fs.readdirSync(runDir).filter((f) => f.endsWith(".pid"))) {
        const [pid, start] = fs.readFileSync(path.join(runDir, file), "utf8").trim().split(/\s+/);
        daemons.set(file.replace(/\.pid$/, ""), [Number(pid), start]);
    }
    return daemons;
}

/** True while that very process (pid and start time) runs and is not a zombie. */
const running = isRunning;

function envScript(command: string, env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
    return spawnSync("bash", [path.join(repoRoot, "local", "env.sh"), command], { env, encoding: "utf8" });
}

// The loopback ports the parts serve on: API server, etcd, registry, host emulator.
const PORTS = [6443, 2379, 5000, 4566];

describe("local environment: down and up again", function () {
    let env: NodeJS.ProcessEnv;
    let runDir: string;

    before(function () {
        this.timeout(90 * 60_000);
        env = ensureLocalEnv();
        runDir = path.join(env.PROD_MIRROR_STATE as string, "run");
    });

    after(function () {
        this.timeout(10 * 60_000);
        // Leave the environment as the next suite expects it: up.
        envScript("up", env);
    });

    it("local:status answers for every part while up", function () {
        const status = envScript("status", env);
        assert.strictEqual(status.status, 0, status.stdout + status.stderr);
        const parts = status.stdout.trim().split("\n").map((l) => l.split(/\s+/)[0]);
        assert.deepStrictEqual(parts, ["pulumi", "kubernetes", "registry", "docker", "emulator"]);
        assert.ok(status.stdout.trim().split("\n").every((l) => / ok$/.test(l)), status.stdout);
    });

    it("local:down stops every process it recorded and leaves nothing listening", async function () {
        this.timeout(5 * 60_000);
        const before = recorded(runDir);
        assert.ok(before.size >= 10, `only ${before.size} daemons recorded: ${[...before.keys()].join(", ")}`);
        for (const [name, [pid, start]] of before) {
            assert.ok(running(pid, start), `${name} (pid ${pid}) is not running before down`);
        }

        const down = envScript("down", env);
        assert.strictEqual(down.status, 0, down.stderr);

        const survivors = [...before].filter(([, [pid, start]]) => running(pid, start)).map(([name, [pid]]) => `${name} (pid ${pid})`);
        assert.deepStrictEqual(survivors, []);
        for (const port of PORTS) {
            assert.strictEqual(await listening(port), false, `something still listens on 127.0.0.1:${port}`);
        }
        const status = envScript("status", env);
        assert.notStrictEqual(status.status, 0, "status says ok with everything stopped");
    });

    it("local:up brings every part back from the caches, without building", function () {
        this.timeout(10 * 60_000);
        const up = envScript("up", env);
        assert.strictEqual(up.status, 0, up.stderr.slice(-3000));
        assert.doesNotMatch(up.stderr, /go build|building|debootstrap|docker build/i, "a warm up rebuilt something");
        assert.match(up.stderr, /local environment up in \d+s/);
        assert.strictEqual(envScript("status", env).status, 0);
        // The up/down lock is env.sh's own: a daemon that inherited it would block every later up.
        const lock = path.join(env.PROD_MIRROR_STATE as string, "env.lock");
        const holders = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((pid) => {
            try {
                return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === lock);
            } catch {
                return false;
            }
        });
        assert.deepStrictEqual(holders, [], `processes still hold ${lock}`);
    });
});
