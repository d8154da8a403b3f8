// `npm run bench:profile`: where one new mirror's `pulumi up` spends its time. Runs the CLI's own
// preparation (stack, config, images) in a throwaway mirrors directory, then the update with the
// engine's events timestamped, and prints each resource's start and end against the update's start,
// the critical path's last resource, and the gap before the first resource (language host, program
// start, provider start). Destroys the mirror at the end, failure or not. Prints figures; asserts nothing.
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { destroyMirror, prepareMirror, useLocalEnvironment } from "../cli/mirror";
import { envFor } from "./stacks";
import { profileRows, profileTable, type ResourceSpan } from "./timeline";

const say = (line: string): void => {
    process.stderr.write(`[profile ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

async function main(): Promise<number> {
    const id = `${Date.now().toString(36).slice(-4)}${crypto.randomBytes(1).toString("hex")}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `prod-mirror-profile-${id}-`));
    Object.assign(process.env, envFor(path.join(dir, "mirrors"), `profile-${id}`));
    const local = useLocalEnvironment();
    const branch = `profile-${id}`;
    const commit = crypto.randomBytes(20).toString("hex");
    let code = 0;
    try {
        const mirror = await prepareMirror({ branch, commit }, 1, local, say);
        const spans = new Map<string, ResourceSpan>();
        const started = Date.now();
        // On receipt: the events' own timestamps are whole seconds.
        const at = (): number => Date.now() - started;
        await mirror.stack.up({
            onEvent: (event) => {
                const pre = event.resourcePreEvent?.metadata;
                if (pre !== undefined && pre.type !== "pulumi:pulumi:Stack") {
                    spans.set(pre.urn, { urn: pre.urn, type: pre.type, op: pre.op, start: at() });
                }
                const done = event.resOutputsEvent?.metadata;
                const span = done === undefined ? undefined : spans.get(done.urn);
                if (span !== undefined) {
                    span.end = at();
                }
            },
        });
        const total = Date.now() - started;
        process.stdout.write(profileTable(profileRows([...spans.values()]), total));
    } catch (err) {
        process.stderr.write(`profile: ${err instanceof Error ? err.message : String(err)}\n`);
        code = 1;
    } finally {
        try {
            await destroyMirror(branch, local, say);
            fs.rmSync(dir, { recursive: true, force: true });
        } catch (err) {
            process.stderr.write(`profile: the mirror of branch ${branch} was not destroyed (${err instanceof Error ? err.message : String(err)}); ` +
                `PROD_MIRROR_MIRRORS_DIR=${path.join(dir, "mirrors")} npx prod-mirror down --branch ${branch}\n`);
            code = 1;
        }
    }
    return code;
}

void main().then((code) => {
    process.exitCode = code;
});
