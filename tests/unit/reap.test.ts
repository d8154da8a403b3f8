import * as assert from "assert";
import {
    formatReapReport,
    planReap,
    stackExpiry,
    type PlannedItem,
    type ReapAwsResource,
    type ReapNamespace,
    type ReapPolicy,
    type ReapReport,
    type ReapStack,
} from "../../cli/reap/plan";
import { labelValue } from "../../components/naming";

const now = new Date("2026-11-25T12:00:00Z");
const OLD = "2026-11-25T10:00:00Z";
const policy: ReapPolicy = { installation: "team-a", namePrefix: "pm", minAgeMs: 30 * 60_000, maxDeletions: 10, now };

const live: ReapStack = { name: "live", installation: "team-a", expiry: { tag: "2026-11-26T12:00:00Z" } };

/** A namespace exactly as BranchNamespace labels it. */
function ns(name: string, stack: string, over: { labels?: Record<string, string>; annotations?: Record<string, string>; createdAt?: string } = {}): ReapNamespace {
    return {
        name,
        labels: { "app.kubernetes.io/managed-by": "prod-mirror", "prod-mirror.dev/installation": "team-a", "prod-mirror.dev/stack": labelValue(stack), ...over.labels },
        annotations: { "prod-mirror.dev/stack": stack, ...over.annotations },
        createdAt: over.createdAt ?? OLD,
    };
}

const tags = (stack: string, installation = "team-a"): Record<string, string> => ({
    "prod-mirror:managed-by": "prod-mirror",
    "prod-mirror:installation": installation,
    "prod-mirror:stack": stack,
});

const plan = (stacks: ReapStack[], namespaces: ReapNamespace[], awsResources: ReapAwsResource[] = [], over: Partial<ReapPolicy> = {}) =>
    planReap({ stacks, namespaces, awsResources }, { ...policy, ...over });

const only = (items: PlannedItem[], name: string): PlannedItem => {
    const found = items.filter((i) => i.name === name);
    assert.strictEqual(found.length, 1, `want exactly one item ${name} in ${JSON.stringify(items)}`);
    return found[0];
};

describe("cli: reap plan, stacks", () => {
    it("destroys a stack whose expiry passed, naming when and from where", () => {
        const { items, refusal } = plan([{ name: "feature-old", installation: "team-a", expiry: { tag: "2026-11-25T11:59:59Z" } }], []);
        assert.strictEqual(refusal, undefined);
        assert.deepStrictEqual(items, [{ kind: "stack", name: "feature-old", stack: "feature-old", reason: "expired at 2026-11-25T11:59:59Z (tag)", action: "destroy" }]);
    });

    it("takes an expiry equal to now as passed, and strips the backend's org/project prefix", () => {
        const { items } = plan([{ name: "organization/prod-mirror/feature-x", installation: "team-a", expiry: { config: now.toISOString() } }], []);
        assert.deepStrictEqual(items, [{ kind: "stack", name: "feature-x", stack: "feature-x", reason: "expired at 2026-11-25T12:00:00.000Z (config)", action: "destroy" }]);
    });

    it("keeps a live stack, a stack without expiry and one with a garbled expiry, saying which", () => {
        const { items } = plan([live, { name: "handmade", installation: "team-a", expiry: {} }, { name: "garbled", installation: "team-a", expiry: { tag: "soon" } }], []);
        assert.deepStrictEqual(items, [
            { kind: "stack", name: "live", stack: "live", reason: "expires at 2026-11-26T12:00:00Z (tag)", action: "keep" },
            { kind: "stack", name: "handmade", stack: "handmade", reason: "no expiry (no tag, config or output prod-mirror:expiresAt, no namespace label prod-mirror.dev/expires-at)", action: "keep" },
            { kind: "stack", name: "garbled", stack: "garbled", reason: 'expiry "soon" is not a date', action: "keep" },
        ]);
    });

    it("never uses a backend stack name that is not a stack name in a path", () => {
        const { items } = plan([{ name: "org/proj/..", installation: "team-a", expiry: { tag: OLD } }], []);
        assert.deepStrictEqual(items, [{ kind: "stack", name: "..", stack: "..", reason: "not a stack name prod-mirror makes", action: "keep" }]);
    });
});

describe("cli: reap plan, expiry sources", () => {
    const stack = (expiry: ReapStack["expiry"]): ReapStack => ({ name: "s", installation: "team-a", expiry });

    it("takes the LATER of tag and config: a renewing up that failed (new config, old tag) is not reaped", () => {
        assert.deepStrictEqual(stackExpiry(stack({ tag: "2026-11-25T11:00:00Z", config: "2026-11-28T11:00:00Z" }), []), { expiresAt: "2026-11-28T11:00:00Z", source: "config" });
        assert.deepStrictEqual(stackExpiry(stack({ tag: "2026-11-28T11:00:00Z", config: "2026-11-25T11:00:00Z" }), []), { expiresAt: "2026-11-28T11:00:00Z", source: "tag" });
        const { items } = plan([{ ...stack({ tag: "2026-11-25T11:00:00Z", config: "2026-11-28T11:00:00Z" }) }], []);
        assert.deepStrictEqual(items[0], { kind: "stack", name: "s", stack: "s", reason: "expires at 2026-11-28T11:00:00Z (config)", action: "keep" });
    });

    it("ignores a garbled source when another is a date", () => {
        assert.deepStrictEqual(stackExpiry(stack({ tag: "soon", config: "2026-11-20T00:00:00Z" }), []), { expiresAt: "2026-11-20T00:00:00Z", source: "config" });
    });

    it("names the tag when tag and config agree, and the first garbled source when none is a date", () => {
        assert.deepStrictEqual(stackExpiry(stack({ tag: "2026-11-20T00:00:00Z", config: "2026-11-20T00:00:00Z" }), []), { expiresAt: "2026-11-20T00:00:00Z", source: "tag" });
        assert.deepStrictEqual(stackExpiry(stack({ config: "soon" }), []), { problem: 'expiry "soon" is not a date' });
        assert.deepStrictEqual(stackExpiry(stack({ output: "later" }), []), { problem: 'expiry "later" is not a date' });
    });

    it("falls back to the stack's expiresAt output (a plain-Pulumi stack with ttlHours only)", () => {
        assert.deepStrictEqual(stackExpiry(stack({ output: "2026-11-24T00:00:00.000Z" }), []), { expiresAt: "2026-11-24T00:00:00.000Z", source: "output" });
        assert.deepStrictEqual(stackExpiry(stack({ tag: "2026-11-30T00:00:00Z", output: "2026-11-24T00:00:00.000Z" }), []).source, "tag");
    });

    it("falls back last to the expiry label of the stack's own namespace of the same installation", () => {
        const own = ns("pm-s", "s", { labels: { "prod-mirror.dev/expires-at": "20261124T060000Z" } });
        assert.deepStrictEqual(stackExpiry(stack({}), [own]), { expiresAt: "2026-11-24T06:00:00Z", source: "namespace pm-s label" });
        const other = ns("pm-s", "s", { labels: { "prod-mirror.dev/expires-at": "20261124T060000Z", "prod-mirror.dev/installation": "team-b" } });
        assert.deepStrictEqual(stackExpiry(stack({}), [other]), {}, "another installation's namespace says nothing about this stack");
        const forged = ns("pm-s", "t", { labels: { "prod-mirror.dev/expires-at": "20261124T060000Z" } });
        assert.deepStrictEqual(stackExpiry(stack({}), [forged]), {});
        const helm = ns("pm-s", "s", { labels: { "prod-mirror.dev/expires-at": "20261124T060000Z", "app.kubernetes.io/managed-by": "Helm" } });
        assert.deepStrictEqual(stackExpiry(stack({}), [helm]), {}, "a namespace prod-mirror does not manage says nothing about this stack");
    });
});

describe("cli: reap plan, namespaces", () => {
    it("deletes a namespace of this installation whose stack is not on the backend, keeps one of a live stack", () => {
        const { items } = plan([live], [ns("pm-gone", "gone"), ns("pm-live", "live")]);
        assert.deepStrictEqual(items.slice(1), [
            { kind: "namespace", name: "pm-gone", stack: "gone", reason: "no stack gone", action: "delete" },
            { kind: "namespace", name: "pm-live", stack: "live", reason: "stack live exists", action: "keep" },
        ]);
    });

    it("never deletes what it cannot prove is this installation's, and says why", () => {
        const bare: ReapNamespace = { name: "pm-bare", labels: { "app.kubernetes.io/managed-by": "prod-mirror" }, annotations: {}, createdAt: OLD };
        const long = `feature-${"x".repeat(80)}`;
        const { items } = plan(
            [live],
            [
                bare,
                ns("pm-theirs", "gone", { labels: { "prod-mirror.dev/installation": "team-b" } }),
                ns("kube-gone", "gone"),
                { ...ns("pm-label-only", "gone"), annotations: {} },
                ns("pm-mismatch", "gone", { annotations: { "prod-mirror.dev/stack": "other" } }),
                ns("pm-escape", "../../etc", { labels: { "prod-mirror.dev/stack": "etc" } }),
                ns("pm-helm", "gone", { labels: { "app.kubernetes.io/managed-by": "Helm" } }),
                ns("pm-long", long),
            ],
        );
        assert.deepStrictEqual(items.slice(1), [
            { kind: "namespace", name: "pm-bare", reason: "no prod-mirror.dev/installation label", action: "not provably ours" },
            { kind: "namespace", name: "pm-theirs", reason: "installation team-b, not this one (team-a)", action: "not provably ours" },
            { kind: "namespace", name: "kube-gone", reason: "name does not start with pm-", action: "not provably ours" },
            { kind: "namespace", name: "pm-label-only", reason: "no prod-mirror.dev/stack annotation", action: "not provably ours" },
            { kind: "namespace", name: "pm-mismatch", reason: 'prod-mirror.dev/stack label "gone" does not match its annotation "other"', action: "not provably ours" },
            { kind: "namespace", name: "pm-escape", reason: 'prod-mirror.dev/stack "../../etc" is not a stack name', action: "not provably ours" },
            { kind: "namespace", name: "pm-helm", reason: "no app.kubernetes.io/managed-by=prod-mirror label", action: "not provably ours" },
            { kind: "namespace", name: "pm-long", stack: long, reason: `no stack ${long}`, action: "delete" },
        ]);
    });

    it("keeps an orphan younger than the minimum age, or of unknown age", () => {
        const { items } = plan([live], [ns("pm-young", "gone", { createdAt: "2026-11-25T11:45:00Z" }), { ...ns("pm-ageless", "gone"), createdAt: undefined }]);
        assert.deepStrictEqual(items.slice(1), [
            { kind: "namespace", name: "pm-young", stack: "gone", reason: "no stack gone, but created 2026-11-25T11:45:00Z, less than --min-age 30m ago", action: "keep" },
            { kind: "namespace", name: "pm-ageless", stack: "gone", reason: "no stack gone, but its creation time is unknown", action: "keep" },
        ]);
        assert.strictEqual(only(plan([live], [ns("pm-young", "gone", { createdAt: "2026-11-25T11:29:59Z" })]).items, "pm-young").action, "delete");
        assert.strictEqual(only(plan([live], [ns("pm-young", "gone", { createdAt: "2026-11-25T11:30:00Z" })]).items, "pm-young").action, "delete", "exactly --min-age old");
        const noLabel: ReapNamespace = { ...ns("pm-annotation-only", "gone"), labels: { "app.kubernetes.io/managed-by": "prod-mirror", "prod-mirror.dev/installation": "team-a" } };
        assert.deepStrictEqual(only(plan([live], [noLabel]).items, "pm-annotation-only"), {
            kind: "namespace",
            name: "pm-annotation-only",
            reason: "no prod-mirror.dev/stack label",
            action: "not provably ours",
        });
    });

    it("leaves a namespace of an expired stack to that stack's destroy", () => {
        const { items } = plan([live, { name: "old", installation: "team-a", expiry: { tag: "2026-11-01T00:00:00Z" } }], [ns("pm-old", "old")]);
        assert.deepStrictEqual(only(items, "pm-old"), { kind: "namespace", name: "pm-old", stack: "old", reason: "its stack old expired: left to that stack's destroy", action: "keep" });
    });
});

describe("cli: reap plan, AWS resources", () => {
    it("deletes this installation's orphans, keeps a live stack's, reports other installations', ignores what prod-mirror does not manage", () => {
        const resources: ReapAwsResource[] = [
            { kind: "bucket", name: "pm-gone-1a2b3c4d-receipts", tags: tags("gone"), createdAt: OLD },
            { kind: "queue", name: "http://127.0.0.1:4566/000000000000/pm-gone-1a2b3c4d-events", tags: tags("gone"), createdAt: OLD },
            { kind: "table", name: "pm-gone-1a2b3c4d-deals", tags: tags("gone"), createdAt: OLD },
            { kind: "bucket", name: "pm-live-1a2b3c4d-receipts", tags: tags("live"), createdAt: OLD },
            { kind: "table", name: "pm-gone-1a2b3c4d-young", tags: tags("gone"), createdAt: "2026-11-25T11:59:00Z" },
            { kind: "bucket", name: "pm-theirs-1a2b3c4d-x", tags: tags("gone", "team-b"), createdAt: OLD },
            { kind: "queue", name: "http://127.0.0.1:4566/000000000000/other-events", tags: tags("gone"), createdAt: OLD },
            { kind: "table", name: "pm-no-installation", tags: { "prod-mirror:managed-by": "prod-mirror", "prod-mirror:stack": "gone" }, createdAt: OLD },
            { kind: "table", name: "pm-no-stack", tags: { "prod-mirror:managed-by": "prod-mirror", "prod-mirror:installation": "team-a" }, createdAt: OLD },
            { kind: "bucket", name: "pm-someone-elses", tags: { "prod-mirror:stack": "gone", "prod-mirror:installation": "team-a" }, createdAt: OLD },
            { kind: "queue", name: "pm-other-tool", tags: { ...tags("gone"), "prod-mirror:managed-by": "terraform" }, createdAt: OLD },
        ];
        const { items, refusal } = plan([live], [], resources);
        assert.strictEqual(refusal, undefined);
        assert.deepStrictEqual(items.slice(1), [
            { kind: "bucket", name: "pm-gone-1a2b3c4d-receipts", stack: "gone", reason: "no stack gone", action: "delete" },
            { kind: "queue", name: "http://127.0.0.1:4566/000000000000/pm-gone-1a2b3c4d-events", stack: "gone", reason: "no stack gone", action: "delete" },
            { kind: "table", name: "pm-gone-1a2b3c4d-deals", stack: "gone", reason: "no stack gone", action: "delete" },
            { kind: "bucket", name: "pm-live-1a2b3c4d-receipts", stack: "live", reason: "stack live exists", action: "keep" },
            { kind: "table", name: "pm-gone-1a2b3c4d-young", stack: "gone", reason: "no stack gone, but created 2026-11-25T11:59:00Z, less than --min-age 30m ago", action: "keep" },
            { kind: "bucket", name: "pm-theirs-1a2b3c4d-x", reason: "installation team-b, not this one (team-a)", action: "not provably ours" },
            { kind: "queue", name: "http://127.0.0.1:4566/000000000000/other-events", reason: "name does not start with pm-", action: "not provably ours" },
            { kind: "table", name: "pm-no-installation", reason: "no prod-mirror:installation tag", action: "not provably ours" },
            { kind: "table", name: "pm-no-stack", reason: "no prod-mirror:stack tag", action: "not provably ours" },
        ]);
    });

    it("never takes a stack tag that is not a stack name", () => {
        const { items } = plan([live], [], [{ kind: "bucket", name: "pm-escape-x", tags: tags("../../etc"), createdAt: OLD }]);
        assert.deepStrictEqual(items.slice(1), [{ kind: "bucket", name: "pm-escape-x", reason: 'prod-mirror:stack "../../etc" is not a stack name', action: "not provably ours" }]);
    });
});

describe("cli: reap plan, refusal and cap", () => {
    it("refuses everything when the backend lists no stack of this installation while objects of it exist", () => {
        const { items, refusal } = plan(
            [{ name: "theirs", installation: "team-b", expiry: { tag: "2026-11-01T00:00:00Z" } }],
            [ns("pm-a", "a"), { name: "pm-bare", labels: { "app.kubernetes.io/managed-by": "prod-mirror" }, annotations: {}, createdAt: OLD }],
            [{ kind: "bucket", name: "pm-b", tags: tags("b"), createdAt: OLD }, { kind: "queue", name: "http://h/0/pm-c", tags: tags("c"), createdAt: OLD }, { kind: "table", name: "pm-d", tags: tags("d"), createdAt: OLD }],
        );
        assert.strictEqual(
            refusal,
            "the backend lists no stack of installation team-a, yet 4 object(s) of it exist (namespace pm-a, bucket pm-b, queue http://h/0/pm-c and 1 more): " +
                "a wiped or wrong backend would make every one of them look orphaned, so reap removes nothing. " +
                "Check PULUMI_BACKEND_URL and PROD_MIRROR_INSTALLATION; if these objects truly are leftovers, delete them by hand.",
        );
        assert.deepStrictEqual(items.map((i) => [i.name, i.action]), [
            ["theirs", "refused"],
            ["pm-a", "refused"],
            ["pm-bare", "not provably ours"],
            ["pm-b", "refused"],
            ["http://h/0/pm-c", "refused"],
            ["pm-d", "refused"],
        ]);
    });

    it("lists up to three objects in a refusal in full", () => {
        const { refusal } = plan([], [ns("pm-a", "a")], [{ kind: "bucket", name: "pm-b", tags: tags("b"), createdAt: OLD }, { kind: "table", name: "pm-d", tags: tags("d"), createdAt: OLD }]);
        assert.strictEqual(
            refusal,
            "the backend lists no stack of installation team-a, yet 3 object(s) of it exist (namespace pm-a, bucket pm-b, table pm-d): " +
                "a wiped or wrong backend would make every one of them look orphaned, so reap removes nothing. " +
                "Check PULUMI_BACKEND_URL and PROD_MIRROR_INSTALLATION; if these objects truly are leftovers, delete them by hand.",
        );
    });

    it("does not refuse an empty backend when nothing of this installation exists", () => {
        const bare: ReapNamespace = { name: "pm-bare", labels: { "app.kubernetes.io/managed-by": "prod-mirror" }, annotations: {}, createdAt: OLD };
        assert.deepStrictEqual(plan([], [bare]), { items: [{ kind: "namespace", name: "pm-bare", reason: "no prod-mirror.dev/installation label", action: "not provably ours" }] });
    });

    it("removes at most --max-deletions items, stacks first, and reports the rest as skipped: cap", () => {
        const expired = (name: string): ReapStack => ({ name, installation: "team-a", expiry: { tag: "2026-11-01T00:00:00Z" } });
        const { items } = plan([live, expired("x1")], [ns("pm-g1", "g1"), ns("pm-g2", "g2")], [{ kind: "table", name: "pm-t", tags: tags("g3"), createdAt: OLD }], { maxDeletions: 2 });
        assert.deepStrictEqual(items.map((i) => [i.name, i.action]), [
            ["live", "keep"],
            ["x1", "destroy"],
            ["pm-g1", "delete"],
            ["pm-g2", "skipped: cap"],
            ["pm-t", "skipped: cap"],
        ]);
        assert.deepStrictEqual(plan([live], [ns("pm-g1", "g1")], [], { maxDeletions: 0 }).items[1].action, "skipped: cap");
    });
});

describe("cli: reap report", () => {
    const report: ReapReport = {
        dryRun: false,
        failed: 1,
        items: [
            { kind: "stack", name: "old", stack: "old", reason: "expired at 2026-11-01T00:00:00Z (tag)", action: "destroyed" },
            { kind: "stack", name: "busy", stack: "busy", reason: "expired at 2026-11-01T00:00:00Z (tag)", action: "skipped: busy" },
            { kind: "namespace", name: "pm-gone", stack: "gone", reason: "no stack gone", action: "deleted" },
            { kind: "namespace", name: "pm-bare", reason: "no prod-mirror.dev/installation label", action: "not provably ours" },
            { kind: "bucket", name: "b1", stack: "gone", reason: "no stack gone", action: "failed", error: "AccessDenied" },
            { kind: "stack", name: "live", stack: "live", reason: "expires at 2026-11-26T12:00:00Z (config)", action: "kept" },
        ],
    };

    it("prints one line per item with kind, name, stack, reason and action, then the counts", () => {
        assert.strictEqual(
            formatReapReport(report),
            [
                "stack      old  stack=old  expired at 2026-11-01T00:00:00Z (tag)  -> destroyed",
                "stack      busy  stack=busy  expired at 2026-11-01T00:00:00Z (tag)  -> skipped: busy",
                "namespace  pm-gone  stack=gone  no stack gone  -> deleted",
                "namespace  pm-bare  stack=-  no prod-mirror.dev/installation label  -> not provably ours",
                "bucket     b1  stack=gone  no stack gone  -> failed: AccessDenied",
                "stack      live  stack=live  expires at 2026-11-26T12:00:00Z (config)  -> kept",
                "reap: 6 item(s): 1 destroyed, 1 skipped: busy, 1 deleted, 1 not provably ours, 1 failed, 1 kept",
                "",
            ].join("\n"),
        );
    });

    it("says why it refused, when it was a dry run, and when there was nothing", () => {
        assert.strictEqual(formatReapReport({ dryRun: true, failed: 0, items: [] }), "reap (dry run): 0 item(s): nothing to reap\n");
        const dry = formatReapReport({ dryRun: true, failed: 0, items: [{ kind: "table", name: "t", reason: "no stack x", stack: "x", action: "would delete" }] });
        assert.match(dry, /-> would delete\nreap \(dry run\): 1 item\(s\): 1 would delete\n$/);
        const refused = formatReapReport({ dryRun: false, failed: 0, refusal: "the backend lists no stack", items: [{ kind: "namespace", name: "pm-a", stack: "a", reason: "no stack a", action: "refused" }] });
        assert.strictEqual(refused, "namespace  pm-a  stack=a  no stack a  -> refused\nreap refused: the backend lists no stack\nreap: 1 item(s): 1 refused\n");
    });
});
