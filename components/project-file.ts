// Reads prod-mirror:appFile for index.ts and the CLI: the rules that need the filesystem (where a
// symbolic link really leads, how big the file is). The rules on the text of the path are
// app-file.appFileProblem's, checked before this is called.
import * as fs from "fs";
import * as path from "path";

/**
 * The file at `relative` under `projectDir`, refusing anything that resolves (through symbolic
 * links too) outside the project directory, that is not a regular file, or that is larger than
 * `maxBytes`, before reading a byte of it. Errors name paths and sizes, never contents.
 */
export function readProjectFile(projectDir: string, relative: string, maxBytes: number): string {
    const root = fs.realpathSync(projectDir);
    const real = fs.realpathSync(path.resolve(root, relative));
    const inside = path.relative(root, real);
    // The project directory itself ("" here) is no regular file: the check below refuses it.
    if (inside.split(path.sep)[0] === ".." || path.isAbsolute(inside)) {
        throw new Error(`it resolves to ${real}, outside the project directory ${root} (a symbolic link leads out)`);
    }
    const fd = fs.openSync(real, "r");
    try {
        const stat = fs.fstatSync(fd);
        if (!stat.isFile()) {
            throw new Error(`${real} is not a regular file`);
        }
        if (stat.size > maxBytes) {
            throw new Error(`it is ${stat.size} bytes, more than the ${maxBytes} an app description may be`);
        }
        // Read at most one byte more than allowed, so a file that grows after fstat is still caught.
        const buffer = Buffer.alloc(maxBytes + 1);
        let length = 0;
        for (let n = -1; n !== 0 && length < buffer.length; length += n) {
            n = fs.readSync(fd, buffer, length, buffer.length - length, length);
        }
        if (length > maxBytes) {
            throw new Error(`it is more than the ${maxBytes} bytes an app description may be`);
        }
        return buffer.subarray(0, length).toString("utf8");
    } finally {
        fs.closeSync(fd);
    }
}
