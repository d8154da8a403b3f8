// Stack names read back from a backend are validated (naming.stackNameProblem) before they are used:
// a bad one is skipped with its reason, and no path is ever built from it.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { defaultOutDir } from "../../cli/mirror";
import { stopForwards } from "../../cli/port-forward";
import { distrustAbsence } from "../../cli/reap";
import { acquireRunLock, backendLocks } from "../../cli/run-lock";
import { stackPath, usableStacks } from "../../cli/stack-path";
import { checkedStackName, NamingError, stackName, stackNameProblem } from "../../components/naming";
import { generateBranches } from "./fixtures";

const PARTS = "expected <stack> or <organization>/<project>/<stack>, found 2 parts separated by /";
const CHARS = "each part may contain only [A-Za-z0-9._-]";
const DOT = "no part may start with a dot (. and .. name directories)";

describe("stack names read back from a backend", () => {
    it("accepts every name the CLI derives from a branch, plain or qualified", () => {
        for (const branch of [...generateBranches(300), "main", "feature/Login", "x".repeat(300)]) {
            assert.strictEqual(stackNameProblem(stackName(branch)), undefined, branch);
            assert.strictEqual(stackNameProblem(`organization/prod-mirror/${stackName(branch)}`), undefined, branch);
        }
    });

    it("refuses names that leave a directory or carry characters a path or terminal should not see", () => {
        const cases: Array<[string, string]> = [
            ["..", DOT],
            [".", DOT],
            [".hidden", DOT],
            ["../escape", PARTS],
            ["org/prod-mirror/..", DOT],
            ["a/../b", DOT],
            ["org/prod-mirror/x/..", "expected <stack> or <organization>/<project>/<stack>, found 4 parts separated by /"],
            ["", "each part must be 1 to 100 characters long"],
            ["org//dev", "each part must be 1 to 100 characters long"],
            ["x".repeat(101), "each part must be 1 to 100 characters long"],
            ["dev\n", CHARS],
            ["dev\u001b[2J", CHARS],
            ["dev lock", CHARS],
            ["C:\\x", CHARS],
        ];
        for (const [name, problem] of cases) {
            assert.strictEqual(stackNameProblem(name), problem, JSON.stringify(name));
        }
    });

    it("skips a bad listed name with its reason, quoted so it cannot garble a report", () => {
        const listed = [{ name: "pm-main" }, { name: "../../etc" }, { name: "org/prod-mirror/dev" }, { name: "x\u001b[2J" }];
        assert.deepStrictEqual(usableStacks(listed), {
            usable: [{ name: "pm-main" }, { name: "org/prod-mirror/dev" }],
            skipped: [
                { quoted: '"../../etc"', reason: `unusable stack name: ${DOT}` },
                { quoted: '"x\\u001b[2J"', reason: `unusable stack name: ${CHARS}` },
            ],
        });
    });

    it("makes reap keep what a skipped stack may own: absence from a listing with unusable names proves nothing", () => {
        const orphan = { kind: "namespace" as const, name: "pm-x", stack: "pm-x", reason: "no stack pm-x", action: "delete" as const };
        assert.deepStrictEqual(distrustAbsence(orphan, 0), orphan);
        assert.deepStrictEqual(distrustAbsence(orphan, 2), { ...orphan, action: "keep", reason: "no stack pm-x, but the backend lists 2 stack(s) under unusable names, which may own it" });
        const unlabelled = { kind: "namespace" as const, name: "pm-y", reason: "no prod-mirror.dev/stack annotation or label", action: "delete" as const };
        assert.deepStrictEqual(distrustAbsence(unlabelled, 2), unlabelled);
        const young = { kind: "namespace" as const, name: "pm-z", stack: "pm-z", reason: "no stack pm-z, but created 2026-11-25T11:45:00Z, less than --min-age 30m ago", action: "keep" as const };
        assert.deepStrictEqual(distrustAbsence(young, 2), young, "a kept item's reason was rewritten");
    });

    it("never joins a bad name into a path: locks, outputs, forwards, backend lock folders", async () => {
        assert.strictEqual(stackPath("/state/locks", "pm-main", ".lock"), "/state/locks/pm-main.lock");
        assert.throws(() => checkedStackName("org/prod-mirror/dev"), {
            message: 'stack name "org/prod-mirror/dev" cannot be used in a file path: it is qualified with an organization/project; only the stack\'s own name goes into a path',
        });
        assert.throws(() => stackPath("/state/locks", "..", ".lock"), (err: Error) => {
            assert.ok(err instanceof NamingError);
            assert.strictEqual(err.message, `stack name ".." cannot be used in a file path: ${DOT}`);
            return true;
        });
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "pm-stacknames-"));
        try {
            const lockDir = path.join(root, "state", "locks");
            await assert.rejects(acquireRunLock(lockDir, "../../escape", "reap", 100, () => undefined), { message: `stack name "../../escape" cannot be used in a file path: ${DOT}` });
            assert.throws(() => defaultOutDir(".."), NamingError);
            assert.throws(() => stopForwards(path.join(root, "run"), "../x"), NamingError);
            fs.mkdirSync(path.join(root, "backend", ".pulumi", "locks", "org", "prod-mirror"), { recursive: true });
            assert.throws(() => backendLocks(path.join(root, "backend"), "prod-mirror", ".."), NamingError);
            assert.deepStrictEqual(fs.readdirSync(root).sort(), ["backend", "state"], "nothing was written outside the state directories");
            assert.deepStrictEqual(fs.readdirSync(path.join(root, "state")), ["locks"]);
            assert.deepStrictEqual(fs.readdirSync(lockDir), []);
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });
});
