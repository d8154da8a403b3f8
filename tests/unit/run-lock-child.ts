// A separate process for the run-lock tests: the lock's whole point is between processes, and a
// kernel lock held by the test's own process would not show what a second process sees.
//   hold LOCKDIR STACK        takes the lock, prints "held", then waits to be killed
//   take LOCKDIR STACK FILE   waits for the lock; while holding it appends "enter"/"exit" lines
//                             (pid, ms since the epoch) to FILE; prints who died before it
import * as fs from "fs";
import { acquireRunLock } from "../../cli/run-lock";

async function main(): Promise<void> {
    const [mode, lockDir, stack, file] = process.argv.slice(2);
    const log = (line: string): void => {
        process.stdout.write(`log ${line}\n`);
    };
    if (mode === "hold") {
        await acquireRunLock(lockDir, stack, "hold", 0, log);
        process.stdout.write("held\n");
        setInterval(() => undefined, 60_000);
        return;
    }
    const lock = await acquireRunLock(lockDir, stack, "take", 30_000, log);
    fs.appendFileSync(file, `enter ${process.pid} ${Date.now()}\n`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    fs.appendFileSync(file, `exit ${process.pid} ${Date.now()}\n`);
    process.stdout.write(`previous ${lock.previousHolderDied?.pid ?? "none"}\n`);
    lock.release();
}

main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
});
