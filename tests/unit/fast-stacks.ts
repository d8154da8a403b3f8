// ts-node maps every stack trace through source maps. Pulumi captures a full stack for every
// resource and promise it creates (source positions for the engine), which made that mapping the
// largest single cost of this suite. Stacks captured inside @pulumi/* are formatted by V8 as they
// are; every other stack, a failing assertion's included, still points into the TypeScript source.
import * as path from "path";

const PULUMI = `${path.sep}node_modules${path.sep}@pulumi${path.sep}`;
const mapped = Error.prepareStackTrace;

if (mapped !== undefined) {
    Error.prepareStackTrace = (error, frames) => {
        if ((frames[0]?.getFileName() ?? "").includes(PULUMI)) {
            return `${String(error)}\n${frames.map((frame) => `    at ${String(frame)}`).join("\n")}`;
        }
        return mapped(error, frames);
    };
}
