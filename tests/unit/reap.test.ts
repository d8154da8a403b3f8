import * as assert from "assert";
import { formatReapReport, planReap, type PlannedItem, type ReapAwsResource, type ReapReport } from "../../cli/reap";
import { labelValue } from "../../components/naming";

const now = new Date("2026-11-25T12:00:00Z");
const ours = (stack: string): Record<string, string> => ({ "prod-mirror:managed-by": "prod-mirror", "prod-mirror:stack": stack });
const only = (items: PlannedItem[], name: string): PlannedItem => {
    const found = items.filter((i) => i.name === name);
    assert.strictEqual(found.length, 1, `want exactly one item ${name} in ${JSON.stringify(items)}`);
    return found[0];
};

describe("cli: reap plan", () => {
    it("destroys a stack whose expiry passed, naming when", () => {
        const items = planReap([{ name: "feature-old", expiresAt: "2026-11-25T11:59:59Z" }], [], [], now);
        assert.deepStrictEqual(items, [{ kind: "stack", name: "feature-old", stack: "feature-old", reason: "expired at 2026-11-25T11:59:59Z", action: "destroy" }]);
    });

    it("takes an expiry equal to now as passed, and strips the backend's org/project prefix", () => {
        const items = planReap([{ name: "organization/prod-mirror/feature-x", expiresAt: now.toISOString() }], [], [], now);
        assert.strictEqual(only(items, "feature-x").action, "destroy");
    });

    it("keeps a live stack and a stack without expiry, saying which", () => {
        const items = planReap([{ name: "live", expiresAt: "2026-11-26T12:00:00Z" }, { name: "handmade" }, { name: "garbled", expiresAt: "soon" }], [], [], now);
        assert.deepStrictEqual(only(items, "live"), { kind: "stack", name: "live", stack: "live", reason: "expires at 2026-11-26T12:00:00Z", action: "keep" });
        assert.strictEqual(only(items, "handmade").action, "keep");
        assert.match(only(items, "handmade").reason, /^no expiry/);
        assert.strictEqual(only(items, "garbled").action, "keep");
        assert.match(only(items, "garbled").reason, /"soon" is not a date/);
    });

    it("deletes a namespace whose stack is not on the backend, keeps one of a live stack", () => {
        const items = planReap(
            [{ name: "live", expiresAt: "2026-11-26T12:00:00Z" }],
            [
                { name: "pm-gone", stackAnnotation: "gone", stackLabel: "gone" },
                { name: "pm-live", stackAnnotation: "live", stackLabel: "live" },
            ],
            [],
            now,
        );
        assert.deepStrictEqual(only(items, "pm-gone"), { kind: "namespace", name: "pm-gone", stack: "gone", reason: "no stack gone", action: "delete" });
        assert.deepStrictEqual(only(items, "pm-live"), { kind: "namespace", name: "pm-live", stack: "live", reason: "stack live exists", action: "keep" });
    });

    it("matches a namespace by the exact annotation first, by the label-safe form when only the label is there", () => {
        const long = `feature-${"x".repeat(80)}`;
        assert.notStrictEqual(labelValue(long), long, "the label must be a cut form for this case to mean anything");
        const items = planReap(
            [{ name: long, expiresAt: "2026-11-26T12:00:00Z" }],
            [
                { name: "by-label", stackLabel: labelValue(long) },
                { name: "annotation-wins", stackAnnotation: "other", stackLabel: labelValue(long) },
                { name: "unmarked" },
            ],
            [],
            now,
        );
        assert.strictEqual(only(items, "by-label").action, "keep");
        assert.strictEqual(only(items, "annotation-wins").action, "delete");
        assert.deepStrictEqual(only(items, "unmarked"), { kind: "namespace", name: "unmarked", reason: "no prod-mirror.dev/stack annotation or label", action: "delete" });
    });

    it("leaves a namespace of an expired stack to that stack's destroy", () => {
        const items = planReap([{ name: "old", expiresAt: "2026-11-01T00:00:00Z" }], [{ name: "pm-old", stackAnnotation: "old" }], [], now);
        assert.strictEqual(only(items, "pm-old").action, "keep");
        assert.strictEqual(only(items, "pm-old").reason, "its stack old expired: removed by that stack's destroy");
    });

    it("deletes orphan buckets, queues and tables, keeps a live stack's, ignores what is not ours", () => {
        const resources: ReapAwsResource[] = [
            { kind: "bucket", name: "orphan-bucket", tags: ours("gone") },
            { kind: "queue", name: "http://127.0.0.1:4566/000000000000/orphan-queue", tags: ours("gone") },
            { kind: "table", name: "orphan-table", tags: ours("gone") },
            { kind: "bucket", name: "live-bucket", tags: ours("live") },
            { kind: "table", name: "live-table", tags: ours("live") },
            { kind: "bucket", name: "someone-elses", tags: { "prod-mirror:stack": "gone" } },
            { kind: "queue", name: "other-tool", tags: { "prod-mirror:managed-by": "terraform", "prod-mirror:stack": "gone" } },
            { kind: "table", name: "untagged-table", tags: {} },
        ];
        const items = planReap([{ name: "live", expiresAt: "2026-11-26T12:00:00Z" }], [], resources, now).filter((i) => i.kind !== "stack");
        assert.deepStrictEqual(
            items.map((i) => [i.kind, i.name, i.action, i.reason]),
            [
                ["bucket", "orphan-bucket", "delete", "no stack gone"],
                ["queue", "http://127.0.0.1:4566/000000000000/orphan-queue", "delete", "no stack gone"],
                ["table", "orphan-table", "delete", "no stack gone"],
                ["bucket", "live-bucket", "keep", "stack live exists"],
                ["table", "live-table", "keep", "stack live exists"],
            ],
        );
    });

    it("matches an AWS stack tag against the tag-safe form of the stack name", () => {
        const items = planReap([{ name: "a+b", expiresAt: "2026-11-26T12:00:00Z" }], [], [{ kind: "bucket", name: "b1", tags: ours("a+b") }], now);
        assert.strictEqual(only(items, "b1").action, "keep");
    });

    it("deletes a managed resource with no stack tag", () => {
        const items = planReap([], [], [{ kind: "queue", name: "q", tags: { "prod-mirror:managed-by": "prod-mirror" } }], now);
        assert.deepStrictEqual(items, [{ kind: "queue", name: "q", reason: "no prod-mirror:stack tag", action: "delete" }]);
    });
});

describe("cli: reap report", () => {
    const report: ReapReport = {
        dryRun: false,
        failed: 1,
        items: [
            { kind: "stack", name: "old", stack: "old", reason: "expired at 2026-11-01T00:00:00Z", action: "destroyed" },
            { kind: "stack", name: "busy", stack: "busy", reason: "expired at 2026-11-01T00:00:00Z", action: "skipped: busy" },
            { kind: "namespace", name: "pm-gone", stack: "gone", reason: "no stack gone", action: "deleted" },
            { kind: "bucket", name: "b1", stack: "gone", reason: "no stack gone", action: "failed", error: "AccessDenied" },
            { kind: "stack", name: "live", stack: "live", reason: "expires at 2026-11-26T12:00:00Z", action: "kept" },
        ],
    };

    it("prints one line per item with kind, name, stack, reason and action, then the counts", () => {
        assert.strictEqual(
            formatReapReport(report),
            [
                "stack      old  stack=old  expired at 2026-11-01T00:00:00Z  -> destroyed",
                "stack      busy  stack=busy  expired at 2026-11-01T00:00:00Z  -> skipped: busy",
                "namespace  pm-gone  stack=gone  no stack gone  -> deleted",
                "bucket     b1  stack=gone  no stack gone  -> failed: AccessDenied",
                "stack      live  stack=live  expires at 2026-11-26T12:00:00Z  -> kept",
                "reap: 5 item(s): 1 destroyed, 1 skipped: busy, 1 deleted, 1 failed, 1 kept",
                "",
            ].join("\n"),
        );
    });

    it("says when it was a dry run, and when there was nothing", () => {
        assert.strictEqual(formatReapReport({ dryRun: true, failed: 0, items: [] }), "reap (dry run): 0 item(s): nothing to reap\n");
        const dry = formatReapReport({ dryRun: true, failed: 0, items: [{ kind: "table", name: "t", reason: "no stack x", stack: "x", action: "would delete" }] });
        assert.match(dry, /-> would delete\nreap \(dry run\): 1 item\(s\): 1 would delete\n$/);
    });
});
