// One meaning of "that process is still running" for every pid record: the TypeScript reader, the
// port-forward records it serves, and local/lib.sh's shell reader agree, and a zombie is gone.
import * as assert from "assert";
import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stopForwards } from "../../cli/port-forward";
import { isRunning, parsePidRecord, pidRecordOf, processStartOf, sameProcessSpace, thisProcessSpace } from "../../cli/process-record";

/** A pid that is certainly not running: a child that has already exited and been reaped. */
function deadPid(): number {
    return Number(spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim());
}

/** Field 22 of /proc/<pid>/stat as the kernel reports it, zombie or not. */
function rawStart(pid: number): string {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

/** lib.sh's reader, sourced with its state and cache in a scratch directory (never the live ones). */
function shellStartOf(pid: number, scratch: string): string {
    const lib = path.join(__dirname, "..", "..", "local", "lib.sh");
    const r = spawnSync("bash", ["-c", `. "${lib}"; pm__starttime ${pid} || true`], {
        env: { ...process.env, PROD_MIRROR_STATE: path.join(scratch, "state"), PROD_MIRROR_CACHE: path.join(scratch, "cache") },
        encoding: "utf8",
    });
    assert.strictEqual(r.status, 0, r.stderr);
    return r.stdout.trim();
}

/**
 * A zombie: a child whose parent never collects it. The child outlives the shell's exec (so the
 * shell cannot reap it first), and `sleep`, which the shell becomes, never waits for children.
 */
async function spawnZombie(): Promise<{ parent: ChildProcess; pid: number }> {
    const parent = spawn("sh", ["-c", "sleep 0.3 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
    const pid = await new Promise<number>((resolve) => parent.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));
    for (let i = 0; i < 150 && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8")); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.match(fs.readFileSync(`/proc/${pid}/stat`, "utf8"), /\) Z /, `pid ${pid} did not become a zombie`);
    return { parent, pid };
}

describe("process records: pid + start time, one meaning", () => {
    let scratch: string;
    let parent: ChildProcess | undefined;
    beforeEach(() => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "pm-proc-"));
    });
    afterEach(() => {
        parent?.kill("SIGKILL");
        parent = undefined;
        fs.rmSync(scratch, { recursive: true, force: true });
    });

    async function zombie(): Promise<number> {
        const z = await spawnZombie();
        parent = z.parent;
        return z.pid;
    }

    it("reads a live process's start time, none for a dead pid, a zombie or a nonsense pid", async () => {
        assert.match(processStartOf(process.pid) ?? "", /^\d+$/);
        assert.strictEqual(processStartOf(deadPid()), undefined);
        const z = await zombie();
        assert.match(rawStart(z), /^\d+$/, "the kernel still reports a zombie's start time");
        assert.strictEqual(processStartOf(z), undefined);
        assert.strictEqual(isRunning(z, rawStart(z)), false);
        assert.deepStrictEqual([processStartOf(0), processStartOf(-1), processStartOf(1.5), processStartOf(NaN)], [undefined, undefined, undefined, undefined]);
    });

    it("tells a reused pid apart by its start time", () => {
        const start = processStartOf(process.pid)!;
        assert.strictEqual(isRunning(process.pid, start), true);
        assert.strictEqual(isRunning(process.pid, String(Number(start) + 1)), false);
        assert.strictEqual(isRunning(process.pid, ""), false);
    });

    it("agrees with local/lib.sh on a live process (its name holding \") \"), a dead one and a zombie", async () => {
        assert.strictEqual(shellStartOf(process.pid, scratch), processStartOf(process.pid));
        // The command name is field 2, in parentheses, and may hold spaces and ")": a naive split shifts every field.
        const oddName = path.join(scratch, "a b) c");
        fs.copyFileSync("/bin/sleep", oddName);
        fs.chmodSync(oddName, 0o755);
        parent = spawn(oddName, ["30"], { stdio: "ignore" });
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.match(fs.readFileSync(`/proc/${parent.pid}/stat`, "utf8"), /^\d+ \(a b\) c\) S /);
        assert.match(processStartOf(parent.pid!) ?? "", /^\d+$/);
        assert.strictEqual(shellStartOf(parent.pid!, scratch), processStartOf(parent.pid!));
        parent.kill("SIGKILL");
        assert.strictEqual(shellStartOf(deadPid(), scratch), "");
        assert.strictEqual(shellStartOf(await zombie(), scratch), "");
    });

    it("writes and reads lib.sh's `pid starttime` line, refusing an empty or garbled one", () => {
        assert.deepStrictEqual(parsePidRecord(pidRecordOf(process.pid)), { pid: process.pid, start: processStartOf(process.pid) });
        const dead = deadPid();
        assert.strictEqual(pidRecordOf(dead), `${dead} \n`, "a dead pid's record has an empty start time, which no reader takes");
        const read: [string, ReturnType<typeof parsePidRecord>][] = [
            ["123 456\n", { pid: 123, start: "456" }],
            ["  123 456\n", { pid: 123, start: "456" }],
            ["123  \t456", { pid: 123, start: "456" }],
            ["", undefined],
            ["123", undefined],
            ["123 ", undefined],
            ["x 5", undefined],
            ["-4 5", undefined],
            ["0 5", undefined],
            ["1.5 5", undefined],
            ["123 x5", undefined],
            ["123 5x", undefined],
        ];
        for (const [text, expected] of read) {
            assert.deepStrictEqual(parsePidRecord(text), expected, JSON.stringify(text));
        }
    });

    it("compares pids only within one host, boot and pid namespace, each known", () => {
        const here = thisProcessSpace();
        assert.strictEqual(here.bootId, fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
        assert.strictEqual(here.pidNamespace, fs.readlinkSync("/proc/self/ns/pid"));
        assert.strictEqual(sameProcessSpace({ ...here }, here), true);
        assert.strictEqual(sameProcessSpace({ ...here, hostname: "other" }, here), false);
        assert.strictEqual(sameProcessSpace({ ...here, bootId: "b" }, here), false);
        assert.strictEqual(sameProcessSpace({ ...here, pidNamespace: "pid:[1]" }, here), false);
        assert.strictEqual(sameProcessSpace({ hostname: here.hostname }, here), false);
        assert.strictEqual(sameProcessSpace({ ...here, bootId: "" }, { ...here, bootId: "" }), false, "two unreadable boot ids matched");
        assert.strictEqual(sameProcessSpace({ ...here, pidNamespace: "" }, { ...here, pidNamespace: "" }), false, "two unreadable pid namespaces matched");
    });
});

describe("port-forward records: stopForwards", () => {
    let runDir: string;
    let parent: ChildProcess | undefined;
    beforeEach(() => {
        runDir = fs.mkdtempSync(path.join(os.tmpdir(), "pm-fwd-"));
    });
    afterEach(() => {
        parent?.kill("SIGKILL");
        fs.rmSync(runDir, { recursive: true, force: true });
    });
    const record = (name: string, text: string): void => {
        fs.mkdirSync(path.join(runDir, "forwards", "pm-x"), { recursive: true });
        fs.writeFileSync(path.join(runDir, "forwards", "pm-x", `${name}.pid`), text);
    };

    it("stops a live forward of the stack and counts it; a zombie, a dead pid or a reused one is not counted", async () => {
        const live = spawn("sleep", ["30"], { detached: true, stdio: "ignore" });
        const exited = new Promise((resolve) => live.on("exit", (_code, signal) => resolve(signal)));
        record("web", pidRecordOf(live.pid!));
        const zombie = await spawnZombie();
        parent = zombie.parent;
        const z = zombie.pid;
        record("zombie", `${z} ${rawStart(z)}\n`);
        record("dead", `${deadPid()} 12345\n`);
        record("reused", `${process.pid} 1\n`);

        assert.strictEqual(stopForwards(runDir, "pm-x"), 1);
        assert.strictEqual(await exited, "SIGTERM");
        assert.strictEqual(fs.existsSync(path.join(runDir, "forwards", "pm-x")), false);
    });
});
