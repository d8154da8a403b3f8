// `local:down` stops every process `local:up` started, by the pid and start time it recorded, and
// leaves nothing listening; `local:up` then brings everything back and `local:status` says so.
// Runs after the other local suites (mocha orders spec files by name).
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { isRunning } from "../../cli/process-record";
import { ensureLocalEnv, repoRoot } from "./local-env";

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

/** Waits up to 5 s for that very process to be gone. */
function eventuallyGone(pid: number, start: string): boolean {
    for (let i = 0; i < 50 && running(pid, start); i++) {
        execFileSync("sleep", ["0.1"]);
    }
    return !running(pid, start);
}

function envScript(command: string, env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
    return spawnSync("bash", [path.join(repoRoot, "local", "env.sh"), command], { env, encoding: "utf8" });
}

// Ports the parts certainly serve on (API server, etcd, registry, host emulator): the environment's
// listening sockets must include them, or the test has not found the environment's processes.
const PORTS = [6443, 2379, 5000, 4566];

interface Listener {
    /** netid and local address: `tcp 127.0.0.1:5000`, `u_str /path/to.sock`. */
    socket: string;
    pids: number[];
}

/** Every listening TCP and unix stream socket, with the pids holding it (`ss`, as root: all of them). */
function listeners(): Listener[] {
    return execFileSync("ss", ["-Hlnp", "-A", "tcp,unix_stream"], { encoding: "utf8" }).split("\n").filter((l) => l.trim() !== "").map((line) => {
        const [netid, , , , local] = line.trim().split(/\s+/);
        return { socket: `${netid} ${local}`, pids: [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])) };
    });
}

/** ppid, session and command line of every process. */
function processes(): Map<number, { ppid: number; session: number; cmdline: string }> {
    const table = new Map<number, { ppid: number; session: number; cmdline: string }>();
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).map(Number)) {
        try {
            const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
            // After the command name, which may hold spaces and ")": state ppid pgrp session.
            const [, ppid, , session] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
            table.set(pid, { ppid: Number(ppid), session: Number(session), cmdline: fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ") });
        } catch {
            // Exited while we looked.
        }
    }
    return table;
}

/**
 * The environment's processes: each recorded daemon leads a session (pm_start runs it with
 * setsid), so its session, plus every descendant. That takes in the children a daemon starts
 * (the registry's gate) and what leaves its tree but not its session (containerd's shims).
 */
function environmentProcesses(recordedPids: number[], table: ReturnType<typeof processes>): Set<number> {
    const found = new Set([...table].filter(([pid, p]) => recordedPids.includes(pid) || recordedPids.includes(p.session)).map(([pid]) => pid));
    for (let grew = true; grew; ) {
        grew = false;
        for (const [pid, p] of table) {
            if (!found.has(pid) && found.has(p.ppid)) {
                found.add(pid);
                grew = true;
            }
        }
    }
    return found;
}

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
        assert.deepStrictEqual(parts, ["pulumi", "kubernetes", "registry", "docker", "emulator", "actionlint"]);
        assert.ok(status.stdout.trim().split("\n").every((l) => / ok$/.test(l)), status.stdout);
    });

    it("local:down stops every process it recorded and leaves nothing listening", function () {
        this.timeout(5 * 60_000);
        const before = recorded(runDir);
        assert.ok(before.size >= 10, `only ${before.size} daemons recorded: ${[...before.keys()].join(", ")}`);
        for (const [name, [pid, start]] of before) {
            assert.ok(running(pid, start), `${name} (pid ${pid}) is not running before down`);
        }

        const ours = environmentProcesses([...before.values()].map(([pid]) => pid), processes());
        const listenersBefore = listeners();
        const oursBefore = listenersBefore.filter((l) => l.pids.some((pid) => ours.has(pid)));
        for (const port of PORTS) {
            assert.ok(oursBefore.some((l) => l.socket.startsWith("tcp ") && l.socket.endsWith(`:${port}`)), `no socket of the environment on port ${port} among:\n${oursBefore.map((l) => l.socket).join("\n")}`);
        }

        const down = envScript("down", env);
        assert.strictEqual(down.status, 0, down.stderr);

        const survivors = [...before].filter(([, [pid, start]]) => running(pid, start)).map(([name, [pid]]) => `${name} (pid ${pid})`);
        assert.deepStrictEqual(survivors, []);
        // Nothing the environment listened on, nothing its processes hold, and nothing new from a
        // process of the environment (its command line names its state or cache directory). New
        // sockets of other processes are not ours to judge: the machine is shared.
        const after = processes();
        const dirs = [env.PROD_MIRROR_STATE as string, env.PROD_MIRROR_CACHE as string];
        const oursBeforeSockets = new Set(oursBefore.map((l) => l.socket));
        const socketsBefore = new Set(listenersBefore.map((l) => l.socket));
        const left = listeners().filter((l) => oursBeforeSockets.has(l.socket) || l.pids.some((pid) => ours.has(pid)) ||
            (!socketsBefore.has(l.socket) && l.pids.some((pid) => dirs.some((d) => after.get(pid)?.cmdline.includes(d)))));
        assert.deepStrictEqual(left.map((l) => `${l.socket} (pids ${l.pids.join(", ")})`), [], "still listening after down");
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

    it("a second up with nothing changed checks its stamp only: no part is walked", function () {
        const up = envScript("up", env);
        assert.strictEqual(up.status, 0, up.stderr.slice(-3000));
        assert.match(up.stderr, /local environment up: unchanged since \d\d:\d\d:\d\d, every daemon alive/);
        assert.doesNotMatch(up.stderr, /: (install|start) \.\.\./);
    });

    it("a daemon that died, or a changed environment, makes the next up walk every part again", function () {
        this.timeout(10 * 60_000);
        const stamp = path.join(runDir, "up.stamp");
        const full = /emulator: start done in \d+s[\s\S]*local environment up in \d+s/;
        // The host emulator serves tests only: killing it disturbs no mirror.
        const [pid, start] = recorded(runDir).get("emulator") as [number, string];
        process.kill(pid, "SIGKILL");
        assert.ok(eventuallyGone(pid, start), `the emulator (pid ${pid}) outlived SIGKILL`);
        const restarted = envScript("up", env);
        assert.strictEqual(restarted.status, 0, restarted.stderr.slice(-3000));
        assert.match(restarted.stderr, full);
        const [newPid, newStart] = recorded(runDir).get("emulator") as [number, string];
        assert.ok(running(newPid, newStart) && newPid !== pid, `the emulator is not running again (pid ${newPid})`);

        // What a version bump or an edited part script does to the fingerprint, without editing the checkout.
        const lines = fs.readFileSync(stamp, "utf8").split("\n");
        fs.writeFileSync(stamp, ["0000000000000000", ...lines.slice(1)].join("\n"));
        const changed = envScript("up", env);
        assert.strictEqual(changed.status, 0, changed.stderr.slice(-3000));
        assert.match(changed.stderr, full);
        assert.strictEqual(fs.readFileSync(stamp, "utf8").split("\n")[0], lines[0], "the full up did not write the stamp again");
        assert.match(envScript("up", env).stderr, /unchanged since/);
    });
});

