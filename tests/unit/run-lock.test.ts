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

/** guardedRun's environment in these tests: no PULUMI_BACKEND_URL, whatever the shell running them exports. */
const NO_BACKEND: NodeJS.ProcessEnv = {};

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
        const since = runLockHolder(dir, "pm-x")!.since;
        await assert.rejects(acquireRunLock(dir, "pm-x", "down", 100, quiet, 20), (err: Error) => {
            assert.ok(err instanceof LockTimeoutError);
            assert.strictEqual(err.name, "LockTimeoutError");
            assert.strictEqual(
                err.message,
                `stack pm-x is busy: pid ${process.pid} on ${os.hostname()} (up, since ${since}) holds ${file()}. Wait for it, raise --lock-timeout ` +
                    "(e.g. --lock-timeout 60m), or stop that run: the lock is the kernel's and is released the moment its holder exits " +
                    "(deleting the file does not release it and would let two runs in).",
            );
            return true;
        });
        first.release();
    });

    it("names no holder when the held lock's record is empty, and tries once, silently, with no timeout", async () => {
        const first = await acquireRunLock(dir, "pm-x", "up", 0, quiet);
        // Truncating the file leaves the kernel lock in place: a holder that has not written its record yet.
        fs.writeFileSync(file(), "");
        const lines: string[] = [];
        await assert.rejects(acquireRunLock(dir, "pm-x", "down", 0, (l) => lines.push(l)), (err: Error) =>
            err.message.startsWith(`stack pm-x is busy: another run holds ${file()}. Wait for it, `),
        );
        assert.strictEqual(lines.join("\n"), "", "a run that does not wait announced a wait");
        await assert.rejects(acquireRunLock(dir, "pm-x", "down", 50, (l) => lines.push(l)), LockTimeoutError);
        assert.deepStrictEqual(lines, ["stack pm-x is busy with another run; waiting up to 0 min"]);
        first.release();
    });

    it("reads only a complete holder record: every field present with its type", () => {
        const complete = { pid: 4242, hostname: "ci-runner-7", command: "up", since: "2026-01-01T00:00:00Z" };
        fs.writeFileSync(file(), JSON.stringify(complete));
        assert.deepStrictEqual(runLockHolder(dir, "pm-x"), complete);
        const { pid: _pid, ...noPid } = complete;
        const { hostname: _hostname, ...noHostname } = complete;
        const { command: _command, ...noCommand } = complete;
        const { since: _since, ...noSince } = complete;
        for (const partial of [noPid, { ...complete, pid: "4242" }, noHostname, noCommand, noSince, { ...complete, since: 0 }]) {
            fs.writeFileSync(file(), JSON.stringify(partial));
            assert.strictEqual(runLockHolder(dir, "pm-x"), undefined, JSON.stringify(partial));
        }
        for (const garbled of ["null", "7", "", '{"pid": 12']) {
            fs.writeFileSync(file(), garbled);
            assert.strictEqual(runLockHolder(dir, "pm-x"), undefined, garbled);
        }
        assert.strictEqual(runLockHolder(dir, "pm-other"), undefined, "a stack never locked");
    });

    describe("when the flock command fails", () => {
        let savedPath: string | undefined;
        beforeEach(() => {
            savedPath = process.env.PATH;
        });
        afterEach(() => {
            process.env.PATH = savedPath;
        });
        /** A PATH whose only `flock` is this script. */
        const fakeFlock = (script: string): void => {
            const bin = path.join(dir, "bin");
            fs.mkdirSync(bin);
            fs.writeFileSync(path.join(bin, "flock"), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
            process.env.PATH = bin;
        };

        it("says how to install flock when it is not on PATH", async () => {
            process.env.PATH = path.join(dir, "empty");
            await assert.rejects(acquireRunLock(dir, "pm-x", "up", 0, quiet), {
                message: "the run lock needs the flock command (util-linux), which is not on PATH: install util-linux (e.g. apt-get install util-linux)",
            });
        });

        it("reports flock's own error and exit status, never taking it for a busy lock", async () => {
            fakeFlock('echo "flock: 3: Bad file descriptor" >&2; exit 64');
            await assert.rejects(acquireRunLock(dir, "pm-x", "up", 0, quiet), { message: "flock on the run lock failed (exit 64): flock: 3: Bad file descriptor" });
        });

        it("passes on any other failure to start flock as it is", async () => {
            fakeFlock("exit 0");
            fs.chmodSync(path.join(dir, "bin", "flock"), 0o644);
            await assert.rejects(acquireRunLock(dir, "pm-x", "up", 0, quiet), { code: "EACCES" });
        });

        it("reports the signal that killed flock", async () => {
            fakeFlock("kill -KILL $$");
            await assert.rejects(acquireRunLock(dir, "pm-x", "up", 0, quiet), { message: "flock on the run lock failed (exit SIGKILL): " });
        });
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
        const lines: string[] = [];
        for (const blank of ["", " \n"]) {
            fs.writeFileSync(file(), blank);
            const empty = await acquireRunLock(dir, "pm-x", "up", 0, (l) => lines.push(l));
            assert.strictEqual(empty.previousHolderDied, undefined);
            empty.release();
        }
        assert.strictEqual(lines.join("\n"), "", "an empty record (a clean release) was reported");
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
        const lines: string[] = [];
        const waiter = acquireRunLock(dir, "pm-x", "waiter", 800, (l) => lines.push(l));
        await new Promise((resolve) => setTimeout(resolve, 100));
        fs.rmSync(file());
        const c = await acquireRunLock(dir, "pm-x", "replacer", 0, quiet);
        a.release();
        await assert.rejects(waiter, (err: Error) => err instanceof LockTimeoutError && /busy: pid \d+ on [^ ]+ \(replacer, since /.test(err.message));
        assert.strictEqual(lines.length, 1, `the wait was announced more than once: ${lines.join(" | ")}`);
        c.release();
    });

    it("takes a fresh lock file when the one it waited on was deleted and not replaced", async () => {
        const a = await acquireRunLock(dir, "pm-x", "up", 0, quiet);
        const waiter = acquireRunLock(dir, "pm-x", "waiter", 2000, quiet);
        await new Promise((resolve) => setTimeout(resolve, 100));
        fs.rmSync(file());
        a.release();
        const lock = await waiter;
        assert.strictEqual(runLockHolder(dir, "pm-x")?.command, "waiter", "the waiter holds a lock on the deleted file, which nobody else sees");
        await assert.rejects(acquireRunLock(dir, "pm-x", "other", 0, quiet), LockTimeoutError);
        lock.release();
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
        assert.strictEqual(fileBackendDir("file://~"), os.homedir());
        assert.strictEqual(fileBackendDir("file:///var/pm/backend?no_tmp_dir=true"), "/var/pm/backend");
        assert.strictEqual(fileBackendDir("file://~/pm?a=1&b=2"), path.join(os.homedir(), "pm"));
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

    it("lists only the stack's .json lock records, in any organisation that has the stack", () => {
        const lock = writeLock("a", 7, "ci-runner-7", "2026-11-25T11:59:00Z");
        fs.mkdirSync(path.join(backend, ".pulumi", "locks", "other-org", "other-project"), { recursive: true });
        fs.writeFileSync(path.join(lockDir(), "b.json.tmp"), JSON.stringify({ pid: 8, username: "ci", hostname: "ci-runner-7", timestamp: "2026-11-25T11:59:00Z" }));
        assert.deepStrictEqual(backendLocks(backend, "prod-mirror", "pm-x"), [{ file: lock, pid: 7, username: "ci", hostname: "ci-runner-7", timestamp: "2026-11-25T11:59:00Z" }]);
    });

    it("breaks a dead run's lock taken the very instant its run lock was, never one naming no real pid", () => {
        const sameInstant = writeLock("a", deadPid(), os.hostname(), "2026-11-25T11:58:00Z");
        const pidZero = writeLock("b", 0, os.hostname(), "2026-11-25T11:59:00Z");
        const negative = writeLock("c", -1, os.hostname(), "2026-11-25T11:59:00Z");
        assert.deepStrictEqual(broken(diedHere()), [sameInstant]);
        assert.deepStrictEqual([pidZero, negative].map((f) => fs.existsSync(f)), [true, true]);
    });

    it("keeps a lock exactly as old as the age bound, breaks one a millisecond older", () => {
        const atBound = writeLock("a", 1, "ci-runner-7", "2026-11-25T06:00:00.000Z");
        const past = writeLock("b", 1, "ci-runner-7", "2026-11-25T05:59:59.999Z");
        assert.deepStrictEqual(broken(undefined), [past]);
        assert.strictEqual(fs.existsSync(atBound), true);
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
     * Runs a body that raises `signals` at itself (listeners only, no real signal) and reports what
     * it saw. Nothing is asserted inside the body: any error there would come out as the
     * CancelledError the tests expect, and so prove nothing.
     */
    async function interrupted(
        signals: NodeJS.Signals[],
        tty: boolean,
    ): Promise<{ aborted: boolean; cancelled: boolean[]; error: unknown; lines: string[]; lockFree: boolean }> {
        const wasTty = process.stdin.isTTY;
        process.stdin.isTTY = tty;
        let aborted = false;
        const cancelled: boolean[] = [];
        const lines: string[] = [];
        let error: unknown;
        try {
            await guardedRun(dir, "pm-x", "up", 0, (l) => lines.push(l), async (run) => {
                cancelled.push(run.cancelled());
                for (const signal of signals) {
                    process.emit(signal, signal);
                }
                aborted = run.signal.aborted;
                cancelled.push(run.cancelled());
                return "done";
            }, NO_BACKEND);
        } catch (err) {
            error = err;
        } finally {
            process.stdin.isTTY = wasTty;
        }
        return { aborted, cancelled, error, lines, lockFree: await lockFree() };
    }

    it("turns SIGTERM into an abort (pulumi gets SIGINT), reports the cancel and releases the lock", async () => {
        const seen = await interrupted(["SIGTERM"], false);
        assert.strictEqual(seen.aborted, true);
        assert.deepStrictEqual(seen.cancelled, [false, true]);
        assert.ok(seen.error instanceof CancelledError);
        assert.strictEqual((seen.error as Error).name, "CancelledError");
        assert.strictEqual((seen.error as Error).message, "up of pm-x was cancelled by a signal; the stack is unlocked and can be updated or destroyed again");
        assert.deepStrictEqual(seen.lines, ["SIGTERM: cancelling up of pm-x; pulumi finishes the steps in flight and unlocks the stack"]);
        assert.strictEqual(seen.lockFree, true);
    });

    it("signals pulumi itself unless the signal is a Ctrl-C at a terminal, which reached pulumi already", async () => {
        const cases: [NodeJS.Signals, boolean, boolean][] = [
            ["SIGTERM", false, true],
            ["SIGTERM", true, true],
            ["SIGINT", false, true],
            ["SIGINT", true, false],
        ];
        for (const [signal, tty, aborted] of cases) {
            const seen = await interrupted([signal], tty);
            assert.strictEqual(seen.aborted, aborted, `${signal} ${tty ? "at" : "away from"} a terminal`);
            assert.deepStrictEqual(seen.cancelled, [false, true]);
            assert.ok(seen.error instanceof CancelledError);
            assert.strictEqual(seen.lockFree, true);
        }
    });

    it("answers a second signal by saying it still waits, cancelling only once", async () => {
        const seen = await interrupted(["SIGINT", "SIGTERM"], true);
        assert.strictEqual(seen.aborted, false, "the second signal aborted what the first (a terminal Ctrl-C) left to pulumi");
        assert.deepStrictEqual(seen.lines, [
            "SIGINT: cancelling up of pm-x; pulumi finishes the steps in flight and unlocks the stack",
            "SIGTERM again: still waiting for pulumi to stop cleanly",
        ]);
    });

    it("waits for the run lock up to --lock-timeout minutes", async () => {
        const holder = await acquireRunLock(path.join(dir, "locks"), "pm-x", "probe", 0, quiet);
        const lines: string[] = [];
        const run = guardedRun(dir, "pm-x", "up", 2, (l) => lines.push(l), () => Promise.resolve("ran"), NO_BACKEND);
        for (let i = 0; i < 250 && lines.length === 0; i++) {
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
        holder.release();
        assert.strictEqual(await run, "ran");
        assert.match(lines[0], new RegExp(`^stack pm-x is busy with pid ${process.pid} \\(probe, since [^)]+\\); waiting up to 2 min$`));
    });

    it("reports the cancel, not pulumi's error, when the cancelled operation then fails", async () => {
        let error: unknown;
        try {
            await guardedRun(dir, "pm-x", "down", 0, quiet, () => {
                process.emit("SIGTERM", "SIGTERM");
                return Promise.reject(new Error("update canceled"));
            }, NO_BACKEND);
        } catch (err) {
            error = err;
        }
        assert.ok(error instanceof CancelledError, String(error));
        assert.strictEqual(error.message, "down of pm-x was cancelled by a signal; the stack is unlocked and can be updated or destroyed again");
        assert.strictEqual(await lockFree(), true);
    });

    it("passes a body's own error through unchanged when no signal came, and releases the lock", async () => {
        await assert.rejects(guardedRun(dir, "pm-x", "up", 0, quiet, () => Promise.reject(new Error("image build failed")), NO_BACKEND), /^Error: image build failed$/);
        assert.strictEqual(await lockFree(), true);
    });

    it("hands the body the run lock's dead previous holder and the --lock-timeout deadline", async () => {
        const dead: LockHolder = { pid: deadPid(), ...thisProcessSpace(), command: "up", since: "2026-01-01T00:00:00Z" };
        fs.mkdirSync(path.join(dir, "locks"));
        fs.writeFileSync(path.join(dir, "locks", "pm-x.lock"), JSON.stringify(dead));
        const started = Date.now();
        const seen = await guardedRun(dir, "pm-x", "up", 2, quiet, (run) => Promise.resolve(run), NO_BACKEND);
        assert.deepStrictEqual(seen.previousHolderDied, dead);
        assert.ok(seen.deadline >= started + 120_000 && seen.deadline <= Date.now() + 120_000, `deadline ${seen.deadline} is not 2 min after the start`);
    });

    it("keeps an external file backend's run lock in the backend directory, where every runner sharing it looks, and the local default's where it was", async () => {
        const shared = path.join(dir, "shared-backend");
        const seen = await guardedRun(dir, "pm-x", "up", 0, quiet, () => Promise.resolve(runLockHolder(path.join(shared, ".prod-mirror", "locks"), "pm-x")?.pid), { PULUMI_BACKEND_URL: `file://${shared}` });
        assert.strictEqual(seen, process.pid);
        assert.strictEqual(fs.existsSync(path.join(dir, "locks", "pm-x.lock")), false, "the external backend's run took the local default's lock");
        const local = await guardedRun(dir, "pm-x", "up", 0, quiet, () => Promise.resolve(runLockHolder(path.join(dir, "locks"), "pm-x")?.pid), { PULUMI_BACKEND_URL: `file://${dir}/pulumi-backend` });
        assert.strictEqual(local, process.pid);
    });

    it("leaves no signal handler behind", async () => {
        const before = [process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")];
        assert.strictEqual(await guardedRun(dir, "pm-x", "up", 0, quiet, () => Promise.resolve(7), NO_BACKEND), 7);
        assert.deepStrictEqual([process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")], before);
    });
});

describe("cli: recovering a stack a killed run left", () => {
    /** The fakes' state, as recoverStack reads a real stack's with `pulumi stack export`. */
    const exportOf = (stack: Stack): Promise<{ deployment?: unknown }> => (stack as unknown as { exportStack: () => Promise<{ deployment?: unknown }> }).exportStack();

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
        const done = await recoverStack(stack, {}, (l) => lines.push(l), { deadline: Date.now() + 5000, lockPollMs: 20 }, "pm-x", exportOf);
        assert.deepStrictEqual(done, ["cleared 1 pending operation(s) with a refresh"]);
        assert.strictEqual(refreshes(), 3);
        assert.deepStrictEqual(lines, [
            "pm-x has 1 pending operation(s) from an interrupted run: refreshing to clear them",
            "the backend holds an update lock on this stack for another run; waiting for it",
        ]);
    });

    it("gives up on the backend's lock at the deadline, with pulumi's own message", async () => {
        const { stack, refreshes } = pendingStack(1000);
        await assert.rejects(recoverStack(stack, {}, () => undefined, { deadline: Date.now() + 200, lockPollMs: 20 }, "pm-x", exportOf), /the stack is currently locked by 1 lock\(s\)/);
        assert.ok(refreshes() > 1 && refreshes() < 20, `${refreshes()} refreshes`);
    });

    it("looks again at another run's backend lock less and less often (Pulumi Cloud's lock is waited on this way)", async () => {
        const { stack, refreshes } = pendingStack(1000);
        // Looks at 0, 20, 60, 140, 300 ms (20 ms doubling), then the next (620) would pass the deadline.
        await assert.rejects(recoverStack(stack, {}, () => undefined, { deadline: Date.now() + 450, lockPollMs: 20 }, "pm-x", exportOf), /the stack is currently locked/);
        assert.strictEqual(refreshes(), 5);
    });

    it("does not wait for the backend's lock when the next look would come after the deadline", async () => {
        const { stack, refreshes } = pendingStack(1000);
        await assert.rejects(recoverStack(stack, {}, () => undefined, { deadline: Date.now() + 50, lockPollMs: 1000 }, "pm-x", exportOf), /the stack is currently locked/);
        assert.strictEqual(refreshes(), 1);
    });

    it("refreshes with clearPendingCreates and the run's abort signal, pulumi's output on stderr", async () => {
        let options: { clearPendingCreates?: boolean; signal?: AbortSignal; onOutput?: (out: string) => void } | undefined;
        const stack = {
            name: "pm-x",
            exportStack: () => Promise.resolve({ version: 3, deployment: { pending_operations: [{}, {}] } }),
            refresh: (opts: typeof options) => {
                options = opts;
                return Promise.resolve({ summary: { result: "succeeded" } });
            },
        } as unknown as Stack;
        const signal = new AbortController().signal;
        assert.deepStrictEqual(await recoverStack(stack, {}, () => undefined, { signal }, "pm-x", exportOf), ["cleared 2 pending operation(s) with a refresh"]);
        assert.strictEqual(options?.clearPendingCreates, true);
        assert.strictEqual(options?.signal, signal);
        const written: string[] = [];
        const write = process.stderr.write;
        process.stderr.write = ((chunk: string): boolean => written.push(chunk) > 0) as typeof process.stderr.write;
        try {
            options?.onOutput?.("Refreshing (pm-x)\n");
        } finally {
            process.stderr.write = write;
        }
        assert.deepStrictEqual(written, ["Refreshing (pm-x)\n"]);
    });

    it("does nothing to a stack without pending operations, whatever its state export holds", async () => {
        for (const deployment of [undefined, {}, { pending_operations: [] }]) {
            let refreshes = 0;
            const stack = {
                name: "pm-x",
                exportStack: () => Promise.resolve({ version: 3, deployment }),
                refresh: () => Promise.resolve(refreshes++),
            } as unknown as Stack;
            assert.deepStrictEqual(await recoverStack(stack, {}, () => undefined, {}, "pm-x", exportOf), [], JSON.stringify(deployment));
            assert.strictEqual(refreshes, 0, JSON.stringify(deployment));
        }
    });

    it("breaks a file backend's update lock older than six hours, or left by the run lock's dead holder, and says so", async () => {
        const backend = fs.mkdtempSync(path.join(os.tmpdir(), "pm-backend-"));
        try {
            const locks = path.join(backend, ".pulumi", "locks", "organization", "prod-mirror", "pm-x");
            fs.mkdirSync(locks, { recursive: true });
            const hoursAgo = (h: number): string => new Date(Date.now() - h * 3_600_000).toISOString();
            const write = (id: string, pid: number, hostname: string, timestamp: string): string => {
                fs.writeFileSync(path.join(locks, `${id}.json`), JSON.stringify({ pid, username: "ci", hostname, timestamp }));
                return path.join(locks, `${id}.json`);
            };
            const ancient = hoursAgo(7);
            write("ancient", 1, "ci-runner-7", ancient);
            const fiveHours = write("recent", 1, "ci-runner-7", hoursAgo(5));
            const deadPulumi = deadPid();
            const diedAt = hoursAgo(1);
            write("dead", deadPulumi, os.hostname(), diedAt);
            const died: LockHolder = { pid: deadPid(), ...thisProcessSpace(), command: "up", since: hoursAgo(2) };
            const stack = { name: "pm-x", exportStack: () => Promise.resolve({ version: 3, deployment: {} }) } as unknown as Stack;
            const lines: string[] = [];
            const done = await recoverStack(stack, { PULUMI_BACKEND_URL: `file://${backend}` }, (l) => lines.push(l), { previousHolderDied: died }, "pm-x", exportOf);
            const expected = [
                `broke the update lock of pm-x left by pid 1 on ci-runner-7 (since ${ancient}), which is gone`,
                `broke the update lock of pm-x left by pid ${deadPulumi} on ${os.hostname()} (since ${diedAt}), which is gone`,
            ];
            assert.deepStrictEqual([...done].sort(), [...expected].sort());
            assert.deepStrictEqual([...lines].sort(), [...expected].sort());
            assert.deepStrictEqual(fs.readdirSync(locks), [path.basename(fiveHours)]);
        } finally {
            fs.rmSync(backend, { recursive: true, force: true });
        }
    });
});
