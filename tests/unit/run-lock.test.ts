import * as assert from "assert";
import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Stack } from "@pulumi/pulumi/automation";
import { CancelledError, guardedRun, recoverStack } from "../../cli/guarded-run";
import { thisProcessSpace } from "../../cli/process-record";
import { acquireRunLock, backendLocks, breakDeadBackendLocks, fileBackendDir, LockTimeoutError, runLockHolder, type LockHolder } from "../../cli/run-lock";

/** A pid that is certainly not running: a child that has already exited and been reaped. */
function deadPid(): number {
    const child = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
    return Number(child.stdout.trim());
}

/** Runs tests/unit/run-lock-child.ts in its own node process; resolves its output once a line matches. */
function child(...args: string[]): { proc: ChildProcess; out: () => string; until: (re: RegExp) => Promise<void>; done: Promise<number | null> } {
    const proc = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "run-lock-child.ts"), ...args], {
        cwd: path.join(__dirname, "..", ".."),
        stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const done = new Promise<number | null>((resolve) => proc.on("close", (code) => resolve(code)));
    const until = async (re: RegExp): Promise<void> => {
        const deadline = Date.now() + 20_000;
        while (!re.test(out)) {
            if (Date.now() > deadline || proc.exitCode !== null) {
                throw new Error(`child ${args.join(" ")} never printed ${re}; it printed:\n${out}`);
            }
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
    };
    return { proc, out: () => out, until, done };
}

describe("cli: run lock (one run per stack at a time)", () => {
    let dir: string;
    const quiet = (): void => undefined;
    const file = (): string => path.join(dir, "pm-x.lock");
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "pm-lock-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("makes a second run wait until the first releases, then lets it in, leaving no record behind", async () => {
        const first = await acquireRunLock(dir, "pm-x", "up", 1000, quiet, 20);
        const record = runLockHolder(dir, "pm-x");
        const here = thisProcessSpace();
        assert.deepStrictEqual([record?.pid, record?.hostname, record?.bootId, record?.pidNamespace, record?.command], [process.pid, os.hostname(), here.bootId, here.pidNamespace, "up"]);
        assert.match(here.bootId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        assert.match(here.pidNamespace, /^pid:\[\d+\]$/);
        const order: string[] = [];
        const lines: string[] = [];
        const second = acquireRunLock(dir, "pm-x", "down", 5000, (l) => lines.push(l), 20).then((lock) => {
            order.push("second acquired");
            return lock;
        });
        await new Promise((resolve) => setTimeout(resolve, 150));
        order.push("first released");
        first.release();
        const lock = await second;
        assert.deepStrictEqual(order, ["first released", "second acquired"]);
        assert.match(lines[0], new RegExp(`^stack pm-x is busy with pid ${process.pid} \\(up, since [^)]+\\); waiting up to 0 min$`));
        assert.strictEqual(lock.previousHolderDied, undefined, "a clean release was taken for a death");
        assert.strictEqual(runLockHolder(dir, "pm-x")?.command, "down");
        lock.release();
        assert.strictEqual(fs.readFileSync(file(), "utf8"), "");
    });

    it("gives up after the timeout, naming the holder and the flag that waits longer", async () => {
        const first = await acquireRunLock(dir, "pm-x", "up", 1000, quiet, 20);
        await assert.rejects(acquireRunLock(dir, "pm-x", "down", 100, quiet, 20), (err: Error) => {
            assert.ok(err instanceof LockTimeoutError);
            assert.match(err.message, new RegExp(`^stack pm-x is busy: pid ${process.pid} on ${os.hostname()} \\(up, since `));
            assert.match(err.message, /raise --lock-timeout \(e\.g\. --lock-timeout 60m\), or stop that run: the lock is the kernel's/);
            return true;
        });
        first.release();
    });

    it("lets the next run in after a holder died without releasing, and says who died", async () => {
        const dead: LockHolder = { pid: deadPid(), ...thisProcessSpace(), command: "up", since: "2026-01-01T00:00:00Z" };
        fs.writeFileSync(file(), JSON.stringify(dead));
        const lines: string[] = [];
        const lock = await acquireRunLock(dir, "pm-x", "up", 0, (l) => lines.push(l), 20);
        assert.deepStrictEqual(lock.previousHolderDied, dead);
        assert.strictEqual(runLockHolder(dir, "pm-x")?.pid, process.pid);
        assert.deepStrictEqual(lines, [`run lock of pm-x was held by pid ${dead.pid} on ${os.hostname()} (up, since 2026-01-01T00:00:00Z), which is gone without releasing it: taking it over`]);
        lock.release();
    });

    it("never lets an empty or garbled record block a run (a crash between create and write)", async () => {
        fs.writeFileSync(file(), "");
        const lines: string[] = [];
        const empty = await acquireRunLock(dir, "pm-x", "up", 0, (l) => lines.push(l));
        assert.strictEqual(empty.previousHolderDied, undefined);
        empty.release();
        fs.writeFileSync(file(), '{"pid": 12');
        const garbled = await acquireRunLock(dir, "pm-x", "up", 0, (l) => lines.push(l));
        assert.strictEqual(garbled.previousHolderDied, undefined);
        assert.strictEqual(runLockHolder(dir, "pm-x")?.pid, process.pid);
        garbled.release();
        assert.deepStrictEqual(lines, ["run lock of pm-x had an unreadable holder record (a run died while writing it): ignored"]);
    });

    it("release() of run A, even called again later, never releases or empties run B's lock", async () => {
        const a = await acquireRunLock(dir, "pm-x", "up", 0, quiet);
        a.release();
        const b = await acquireRunLock(dir, "pm-x", "down", 0, quiet);
        a.release();
        await assert.rejects(acquireRunLock(dir, "pm-x", "up", 0, quiet), LockTimeoutError);
        assert.strictEqual(runLockHolder(dir, "pm-x")?.command, "down");
        b.release();
        (await acquireRunLock(dir, "pm-x", "up", 0, quiet)).release();
    });

    it("does not let a waiter in on a lock file someone deleted and replaced while it waited", async () => {
        const a = await acquireRunLock(dir, "pm-x", "up", 0, quiet);
        const waiter = acquireRunLock(dir, "pm-x", "waiter", 800, quiet);
        await new Promise((resolve) => setTimeout(resolve, 100));
        fs.rmSync(file());
        const c = await acquireRunLock(dir, "pm-x", "replacer", 0, quiet);
        a.release();
        await assert.rejects(waiter, (err: Error) => err instanceof LockTimeoutError && /busy: pid \d+ on [^ ]+ \(replacer, since /.test(err.message));
        c.release();
    });

    it("keeps separate stacks independent", async () => {
        const a = await acquireRunLock(dir, "pm-a", "up", 0, quiet);
        const b = await acquireRunLock(dir, "pm-b", "up", 0, quiet);
        a.release();
        b.release();
    });

    it("lets two waiter processes racing for a SIGKILLed holder's lock in one at a time, the first told of the death", async function () {
        this.timeout(60_000);
        const holder = child("hold", dir, "pm-x");
        await holder.until(/^held$/m);
        const trace = path.join(dir, "trace");
        const waiters = [child("take", dir, "pm-x", trace), child("take", dir, "pm-x", trace)];
        // Both are queued on the live holder before it dies, so they race for the same release.
        await Promise.all(waiters.map((w) => w.until(new RegExp(`busy with pid ${holder.proc.pid} \\(hold, since `))));
        holder.proc.kill("SIGKILL");
        await holder.done;
        assert.deepStrictEqual(await Promise.all(waiters.map((w) => w.done)), [0, 0], waiters.map((w) => w.out()).join("\n"));

        const events = fs.readFileSync(trace, "utf8").trim().split("\n").map((l) => l.split(" "));
        const pids = waiters.map((w) => String(w.proc.pid));
        const [first, second] = events[0][1] === pids[0] ? pids : [pids[1], pids[0]];
        assert.deepStrictEqual(events.map(([what, pid]) => `${what} ${pid}`), [`enter ${first}`, `exit ${first}`, `enter ${second}`, `exit ${second}`]);
        assert.ok(Number(events[1][2]) <= Number(events[2][2]), `the second entered at ${events[2][2]}, before the first left at ${events[1][2]}`);
        const told = (pid: string): string => waiters.find((w) => String(w.proc.pid) === pid)!.out().match(/^previous (\S+)$/m)?.[1] ?? "?";
        assert.deepStrictEqual([told(first), told(second)], [String(holder.proc.pid), "none"]);
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

    // The run that died held our run lock since 11:58; its pulumi took the backend lock at 11:59.
    const now = new Date("2026-11-25T12:00:00Z");
    const diedHere = (): LockHolder => ({ pid: deadPid(), ...thisProcessSpace(), command: "up", since: "2026-11-25T11:58:00Z" });
    const broken = (dead: LockHolder | undefined): string[] => breakDeadBackendLocks(backend, "prod-mirror", "pm-x", 6 * 3_600_000, dead, now).map((l) => l.file);

    it("breaks the lock of a dead run's pulumi: run lock holder died here, same boot and pid namespace, pulumi's pid gone", () => {
        const lock = writeLock("a", deadPid(), os.hostname(), "2026-11-25T11:59:00.123456789Z");
        assert.deepStrictEqual(broken(diedHere()), [lock]);
        assert.strictEqual(fs.existsSync(lock), false);
    });

    it("treats a holder from another boot or pid namespace as alive: its pids are not ours to check", () => {
        const lock = writeLock("a", deadPid(), os.hostname(), "2026-11-25T11:59:00Z");
        assert.deepStrictEqual(broken({ ...diedHere(), bootId: "00000000-0000-4000-8000-000000000000" }), []);
        assert.deepStrictEqual(broken({ ...diedHere(), pidNamespace: "pid:[4026532999]" }), []);
        assert.deepStrictEqual(broken({ ...diedHere(), bootId: undefined, pidNamespace: undefined }), [], "a record without them (an older CLI) proved nothing");
        assert.deepStrictEqual(broken({ ...diedHere(), hostname: "ci-runner-7" }), []);
        assert.strictEqual(fs.existsSync(lock), true);
    });

    it("never breaks a recent lock by pid without a run lock holder that died, nor one it cannot have taken", () => {
        const gone = writeLock("a", deadPid(), os.hostname(), "2026-11-25T11:59:00Z");
        assert.deepStrictEqual(broken(undefined), [], "a dead pid alone (maybe another container's) broke the lock");
        const older = writeLock("b", deadPid(), os.hostname(), "2026-11-25T11:57:59Z");
        const live = writeLock("c", process.pid, os.hostname(), "2026-11-25T11:59:00Z");
        const remote = writeLock("d", deadPid(), "ci-runner-7", "2026-11-25T11:59:00Z");
        const garbled = writeLock("e", deadPid(), os.hostname(), "yesterday");
        assert.deepStrictEqual(broken(diedHere()), [gone]);
        assert.deepStrictEqual([older, live, remote, garbled].map((f) => fs.existsSync(f)), [true, true, true, true]);
    });

    it("breaks any lock older than the age bound, whoever holds it", () => {
        const ancient = writeLock("d", 1, "ci-runner-7", "2026-11-24T00:00:00Z");
        const recent = writeLock("c", 1, "ci-runner-7", "2026-11-25T11:00:00Z");
        assert.strictEqual(backendLocks(backend, "prod-mirror", "pm-x").length, 2);
        assert.deepStrictEqual(broken(undefined), [ancient]);
        assert.deepStrictEqual([ancient, recent].map((f) => fs.existsSync(f)), [false, true]);
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

    /** True when nobody holds the stack's run lock and no record is left in it. */
    async function lockFree(): Promise<boolean> {
        try {
            (await acquireRunLock(path.join(dir, "locks"), "pm-x", "probe", 0, quiet)).release();
        } catch (err) {
            if (err instanceof LockTimeoutError) {
                return false;
            }
            throw err;
        }
        return runLockHolder(path.join(dir, "locks"), "pm-x") === undefined;
    }

    /**
     * Runs a body that raises `signal` at itself (listeners only, no real signal) and reports what
     * it saw. Nothing is asserted inside the body: any error there would come out as the
     * CancelledError the tests expect, and so prove nothing.
     */
    async function interrupted(signal: NodeJS.Signals, tty: boolean): Promise<{ aborted: boolean; cancelled: boolean[]; error: unknown; lockFree: boolean }> {
        const wasTty = process.stdin.isTTY;
        process.stdin.isTTY = tty;
        let aborted = false;
        const cancelled: boolean[] = [];
        let error: unknown;
        try {
            await guardedRun(dir, "pm-x", "up", 0, quiet, async (run) => {
                cancelled.push(run.cancelled());
                process.emit(signal, signal);
                aborted = run.signal.aborted;
                cancelled.push(run.cancelled());
                return "done";
            });
        } catch (err) {
            error = err;
        } finally {
            process.stdin.isTTY = wasTty;
        }
        return { aborted, cancelled, error, lockFree: await lockFree() };
    }

    it("turns SIGTERM into an abort (pulumi gets SIGINT), reports the cancel and releases the lock", async () => {
        const seen = await interrupted("SIGTERM", false);
        assert.strictEqual(seen.aborted, true);
        assert.deepStrictEqual(seen.cancelled, [false, true]);
        assert.ok(seen.error instanceof CancelledError);
        assert.match((seen.error as Error).message, /^up of pm-x was cancelled by a signal; the stack is unlocked/);
        assert.strictEqual(seen.lockFree, true);
    });

    it("does not signal pulumi again after a terminal Ctrl-C, which reached it already", async () => {
        const seen = await interrupted("SIGINT", true);
        assert.strictEqual(seen.aborted, false);
        assert.deepStrictEqual(seen.cancelled, [false, true]);
        assert.ok(seen.error instanceof CancelledError);
        assert.strictEqual(seen.lockFree, true);
    });

    it("passes a body's own error through unchanged when no signal came, and releases the lock", async () => {
        await assert.rejects(guardedRun(dir, "pm-x", "up", 0, quiet, () => Promise.reject(new Error("image build failed"))), /^Error: image build failed$/);
        assert.strictEqual(await lockFree(), true);
    });

    it("hands the body the run lock's dead previous holder and the --lock-timeout deadline", async () => {
        const dead: LockHolder = { pid: deadPid(), ...thisProcessSpace(), command: "up", since: "2026-01-01T00:00:00Z" };
        fs.mkdirSync(path.join(dir, "locks"));
        fs.writeFileSync(path.join(dir, "locks", "pm-x.lock"), JSON.stringify(dead));
        const started = Date.now();
        const seen = await guardedRun(dir, "pm-x", "up", 2, quiet, (run) => Promise.resolve(run));
        assert.deepStrictEqual(seen.previousHolderDied, dead);
        assert.ok(seen.deadline >= started + 120_000 && seen.deadline <= Date.now() + 120_000, `deadline ${seen.deadline} is not 2 min after the start`);
    });

    it("leaves no signal handler behind", async () => {
        const before = [process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")];
        assert.strictEqual(await guardedRun(dir, "pm-x", "up", 0, quiet, () => Promise.resolve(7)), 7);
        assert.deepStrictEqual([process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")], before);
    });
});

describe("cli: recovering a stack a killed run left", () => {
    /** A stack with one pending operation whose refresh meets the backend's lock `lockedTimes` times. */
    function pendingStack(lockedTimes: number): { stack: Stack; refreshes: () => number } {
        let refreshes = 0;
        const stack = {
            name: "pm-x",
            exportStack: () => Promise.resolve({ version: 3, deployment: { pending_operations: [{ type: "creating" }] } }),
            refresh: () => {
                refreshes++;
                return refreshes <= lockedTimes
                    ? Promise.reject(new Error("error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end"))
                    : Promise.resolve({ summary: { result: "succeeded" } });
            },
        };
        return { stack: stack as unknown as Stack, refreshes: () => refreshes };
    }

    it("waits for another run's backend lock before the refresh that clears pending operations, as the update does", async () => {
        const { stack, refreshes } = pendingStack(2);
        const lines: string[] = [];
        const done = await recoverStack(stack, {}, (l) => lines.push(l), { deadline: Date.now() + 5000, lockPollMs: 20 });
        assert.deepStrictEqual(done, ["cleared 1 pending operation(s) with a refresh"]);
        assert.strictEqual(refreshes(), 3);
        assert.deepStrictEqual(lines, [
            "pm-x has 1 pending operation(s) from an interrupted run: refreshing to clear them",
            "the backend holds an update lock on this stack for another run; waiting for it",
        ]);
    });

    it("gives up on the backend's lock at the deadline, with pulumi's own message", async () => {
        const { stack, refreshes } = pendingStack(1000);
        await assert.rejects(recoverStack(stack, {}, () => undefined, { deadline: Date.now() + 200, lockPollMs: 20 }), /the stack is currently locked by 1 lock\(s\)/);
        assert.ok(refreshes() > 1 && refreshes() < 20, `${refreshes()} refreshes`);
    });
});
