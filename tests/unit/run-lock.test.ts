import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CancelledError, guardedRun } from "../../cli/guarded-run";
import { acquireRunLock, backendLocks, breakDeadBackendLocks, fileBackendDir, holderIsDead, LockTimeoutError, processStartOf } from "../../cli/run-lock";

/** A pid that is certainly not running: a child that has already exited and been reaped. */
function deadPid(): number {
    const child = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
    return Number(child.stdout.trim());
}

describe("cli: run lock (one run per stack at a time)", () => {
    let dir: string;
    const quiet = (): void => undefined;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "pm-lock-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("reads a live process's start time and none for a dead pid", () => {
        assert.match(processStartOf(process.pid) ?? "", /^\d+$/);
        assert.strictEqual(processStartOf(deadPid()), undefined);
    });

    it("calls a holder dead only on this host, with its pid gone or reused", () => {
        const host = os.hostname();
        const since = new Date().toISOString();
        assert.strictEqual(holderIsDead({ pid: deadPid(), hostname: host, command: "up", since }), true);
        assert.strictEqual(holderIsDead({ pid: deadPid(), hostname: "other-host", command: "up", since }), false);
        assert.strictEqual(holderIsDead({ pid: process.pid, hostname: host, processStart: processStartOf(process.pid), command: "up", since }), false);
        assert.strictEqual(holderIsDead({ pid: process.pid, hostname: host, processStart: "1", command: "up", since }), true);
    });

    it("makes a second run wait until the first releases, then lets it in", async () => {
        const first = await acquireRunLock(dir, "pm-x", "up", 1000, quiet, 20);
        const order: string[] = [];
        const second = acquireRunLock(dir, "pm-x", "up", 5000, quiet, 20).then((lock) => {
            order.push("second acquired");
            return lock;
        });
        await new Promise((resolve) => setTimeout(resolve, 150));
        order.push("first released");
        first.release();
        (await second).release();
        assert.deepStrictEqual(order, ["first released", "second acquired"]);
        assert.strictEqual(fs.existsSync(path.join(dir, "pm-x.lock")), false);
    });

    it("gives up after the timeout, naming the holder and the flag that waits longer", async () => {
        const first = await acquireRunLock(dir, "pm-x", "up", 1000, quiet, 20);
        await assert.rejects(acquireRunLock(dir, "pm-x", "down", 100, quiet, 20), (err: Error) => {
            assert.ok(err instanceof LockTimeoutError);
            assert.match(err.message, new RegExp(`^stack pm-x is busy: pid ${process.pid} on ${os.hostname()} \\(up, since `));
            assert.match(err.message, /raise --lock-timeout \(e\.g\. --lock-timeout 60m\)/);
            return true;
        });
        first.release();
    });

    it("takes over the lock of a run that died without releasing it", async () => {
        const file = path.join(dir, "pm-x.lock");
        fs.writeFileSync(file, JSON.stringify({ pid: deadPid(), hostname: os.hostname(), command: "up", since: "2026-01-01T00:00:00Z" }));
        const lines: string[] = [];
        const lock = await acquireRunLock(dir, "pm-x", "up", 0, (l) => lines.push(l), 20);
        assert.strictEqual(JSON.parse(fs.readFileSync(file, "utf8")).pid, process.pid);
        assert.match(lines[0], /which is gone: taking it over$/);
        lock.release();
    });

    it("keeps separate stacks independent", async () => {
        const a = await acquireRunLock(dir, "pm-a", "up", 0, quiet);
        const b = await acquireRunLock(dir, "pm-b", "up", 0, quiet);
        a.release();
        b.release();
    });
});

describe("cli: the file backend's update locks", () => {
    let backend: string;
    const lockDir = (): string => path.join(backend, ".pulumi", "locks", "organization", "prod-mirror", "pm-x");
    const writeLock = (id: string, pid: number, hostname: string, timestamp: string): string => {
        fs.mkdirSync(lockDir(), { recursive: true });
        const file = path.join(lockDir(), `${id}.json`);
        fs.writeFileSync(file, JSON.stringify({ pid, username: "ci", hostname, timestamp }));
        return file;
    };
    beforeEach(() => {
        backend = fs.mkdtempSync(path.join(os.tmpdir(), "pm-backend-"));
    });
    afterEach(() => fs.rmSync(backend, { recursive: true, force: true }));

    it("finds the directory of file:// backends only", () => {
        assert.strictEqual(fileBackendDir("file:///var/pm/backend"), "/var/pm/backend");
        assert.strictEqual(fileBackendDir("file://~/pm"), path.join(os.homedir(), "pm"));
        assert.strictEqual(fileBackendDir("s3://bucket/pm"), undefined);
        assert.strictEqual(fileBackendDir(undefined), undefined);
    });

    it("breaks a dead holder's lock and an over-age one, never a live recent one", () => {
        const now = new Date("2026-11-25T12:00:00Z");
        const dead = writeLock("a", deadPid(), os.hostname(), "2026-11-25T11:59:00Z");
        const live = writeLock("b", process.pid, os.hostname(), "2026-11-25T11:59:00Z");
        const remote = writeLock("c", 1, "ci-runner-7", "2026-11-25T11:00:00Z");
        const ancient = writeLock("d", 1, "ci-runner-7", "2026-11-24T00:00:00Z");
        assert.strictEqual(backendLocks(backend, "prod-mirror", "pm-x").length, 4);

        const broken = breakDeadBackendLocks(backend, "prod-mirror", "pm-x", 6 * 3_600_000, now);

        assert.deepStrictEqual(broken.map((l) => l.file).sort(), [dead, ancient].sort());
        assert.deepStrictEqual([dead, live, remote, ancient].map((f) => fs.existsSync(f)), [false, true, true, false]);
    });

    it("finds no locks on a backend that never locked anything", () => {
        assert.deepStrictEqual(backendLocks(backend, "prod-mirror", "pm-x"), []);
    });
});

describe("cli: guarded run (lock + signals)", () => {
    let dir: string;
    const quiet = (): void => undefined;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "pm-guard-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** Runs a body that raises `signal` at itself (listeners only, no real signal) and reports what it saw. */
    async function interrupted(signal: NodeJS.Signals, tty: boolean): Promise<{ aborted: boolean; error: unknown; lockLeft: boolean }> {
        const wasTty = process.stdin.isTTY;
        process.stdin.isTTY = tty;
        let aborted = false;
        let error: unknown;
        try {
            await guardedRun(dir, "pm-x", "up", 0, quiet, async (run) => {
                process.emit(signal, signal);
                aborted = run.signal.aborted;
                assert.strictEqual(run.cancelled(), true);
                return "done";
            });
        } catch (err) {
            error = err;
        } finally {
            process.stdin.isTTY = wasTty;
        }
        return { aborted, error, lockLeft: fs.existsSync(path.join(dir, "locks", "pm-x.lock")) };
    }

    it("turns SIGTERM into an abort (pulumi gets SIGINT), reports the cancel and releases the lock", async () => {
        const seen = await interrupted("SIGTERM", false);
        assert.strictEqual(seen.aborted, true);
        assert.ok(seen.error instanceof CancelledError);
        assert.match((seen.error as Error).message, /^up of pm-x was cancelled by a signal; the stack is unlocked/);
        assert.strictEqual(seen.lockLeft, false);
    });

    it("does not signal pulumi again after a terminal Ctrl-C, which reached it already", async () => {
        const seen = await interrupted("SIGINT", true);
        assert.strictEqual(seen.aborted, false);
        assert.ok(seen.error instanceof CancelledError);
    });

    it("leaves no signal handler behind", async () => {
        const before = [process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")];
        assert.strictEqual(await guardedRun(dir, "pm-x", "up", 0, quiet, () => Promise.resolve(7)), 7);
        assert.deepStrictEqual([process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")], before);
    });
});
