// local/lib.sh's pm_start, in a scratch state directory (never the live one): a daemon it starts
// keeps none of its caller's descriptors, so a lock the caller holds is released when the caller ends.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const lib = path.join(__dirname, "..", "..", "local", "lib.sh");

describe("local/lib.sh pm_start", () => {
    let scratch: string;
    let daemonPid: number | undefined;
    beforeEach(() => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "pm-daemon-"));
    });
    afterEach(() => {
        if (daemonPid !== undefined) {
            try {
                process.kill(daemonPid, "SIGKILL");
            } catch {
                // Already gone.
            }
            daemonPid = undefined;
        }
        fs.rmSync(scratch, { recursive: true, force: true });
    });

    it("starts a daemon that holds none of the caller's descriptors, so the caller's flock is free once it exits", () => {
        const lock = path.join(scratch, "caller.lock");
        // The caller holds an flock on fd 7 and a plain file on fd 8 while it starts the daemon.
        const script = `. "${lib}"; exec 7>"${lock}"; flock 7; exec 8>"${path.join(scratch, "other")}"; pm_start sleeper sleep 30; cat "$PM_RUN/sleeper.pid"`;
        const started = spawnSync("bash", ["-c", script], {
            env: { ...process.env, PROD_MIRROR_STATE: path.join(scratch, "state"), PROD_MIRROR_CACHE: path.join(scratch, "cache") },
            encoding: "utf8",
        });
        assert.strictEqual(started.status, 0, started.stderr);
        daemonPid = Number(started.stdout.trim().split(" ")[0]);
        // pm_start returns once the process exists; it becomes `sleep` a moment later.
        const cmdline = (): string => fs.readFileSync(`/proc/${daemonPid}/cmdline`, "utf8");
        for (let i = 0; i < 200 && !cmdline().startsWith("sleep\0"); i++) {
            spawnSync("sleep", ["0.01"]);
        }
        assert.match(cmdline(), /^sleep\0/);
        const fds = fs.readdirSync(`/proc/${daemonPid}/fd`).map(Number).sort((a, b) => a - b);
        assert.deepStrictEqual(fds, [0, 1, 2]);
        // The proof that matters: with the caller gone, nobody holds its lock any more.
        const free = spawnSync("flock", ["--nonblock", lock, "true"]);
        assert.strictEqual(free.status, 0, "the caller's lock is still held after the caller exited");
    });
});
