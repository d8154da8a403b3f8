// Host access to a mirror: one `kubectl port-forward` per service on a free 127.0.0.1 port, left
// running after `up` returns and stopped by `down` through the pid it recorded. The pid files use
// local/lib.sh's format (`pid starttime`, read by process-record) so a recycled pid is never
// mistaken for ours, and an exited (zombie) forward is not counted as one we stopped.
import { spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { checkedStackName } from "../components/naming";
import { isRunning, parsePidRecord, pidRecordOf } from "./process-record";
import { stackPath } from "./stack-path";

export interface Forward {
    service: string;
    port: number;
    url: string;
}

// One folder per stack: a prefix match on file names would let `down` of stack `a` close the
// forwards of stack `a-b`.
function forwardDir(runDir: string, stackName: string): string {
    return stackPath(path.join(runDir, "forwards"), stackName);
}

async function freeLoopbackPort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
    });
}

async function waitForPort(port: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        const open = await new Promise<boolean>((resolve) => {
            const socket = net.connect(port, "127.0.0.1");
            socket.once("connect", () => { socket.destroy(); resolve(true); });
            socket.once("error", () => resolve(false));
        });
        if (open) {
            return true;
        }
        await new Promise((r) => setTimeout(r, 200));
    }
    return false;
}

/** Starts a forward for each service (stopping older ones of this stack first). */
export async function startForwards(opts: {
    runDir: string;
    logDir: string;
    stackName: string;
    namespace: string;
    services: Array<{ name: string; port: number }>;
    env: NodeJS.ProcessEnv;
}): Promise<Forward[]> {
    stopForwards(opts.runDir, opts.stackName);
    const dir = forwardDir(opts.runDir, opts.stackName);
    fs.mkdirSync(dir, { recursive: true });
    fs.mkdirSync(opts.logDir, { recursive: true });
    const forwards: Forward[] = [];
    for (const service of opts.services) {
        const port = await freeLoopbackPort();
        // A dot, not a hyphen, before the service: service names have no dots, so stack `a` + service
        // `b-c` and stack `a-b` + service `c` get different logs.
        const log = fs.openSync(path.join(opts.logDir, `forward-${checkedStackName(opts.stackName)}.${service.name}.log`), "a");
        const child = spawn("kubectl", ["port-forward", "-n", opts.namespace, "--address", "127.0.0.1", `svc/${service.name}`, `${port}:${service.port}`], {
            env: opts.env,
            detached: true,
            stdio: ["ignore", log, log],
        });
        child.unref();
        fs.closeSync(log);
        const pid = child.pid as number;
        fs.writeFileSync(path.join(dir, `${service.name}.pid`), pidRecordOf(pid));
        if (!(await waitForPort(port, 15_000))) {
            throw new Error(`kubectl port-forward for service ${service.name} did not open 127.0.0.1:${port}; see ${opts.logDir}`);
        }
        forwards.push({ service: service.name, port, url: `http://127.0.0.1:${port}` });
    }
    return forwards;
}

/** Stops every forward recorded for the stack; returns how many were running. */
export function stopForwards(runDir: string, stackName: string): number {
    const dir = forwardDir(runDir, stackName);
    if (!fs.existsSync(dir)) {
        return 0;
    }
    let stopped = 0;
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".pid"))) {
        const record = parsePidRecord(fs.readFileSync(path.join(dir, file), "utf8"));
        if (record !== undefined && isRunning(record.pid, record.start)) {
            const pid = record.pid;
            try {
                process.kill(-pid, "SIGTERM");
            } catch {
                process.kill(pid, "SIGTERM");
            }
            stopped++;
        }
        fs.rmSync(path.join(dir, file), { force: true });
    }
    fs.rmSync(dir, { recursive: true, force: true });
    return stopped;
}
