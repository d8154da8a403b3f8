// Shared inputs for the unit tests: a branch context, a production description like the sample
// app's, and a deterministic generator of awkward branch names.
import type { AppSpec, BranchContext, ServiceSpec } from "../../components";

export const CONTEXT: BranchContext = {
    branch: "feature/Login-Flow",
    commit: "3f2a9c1d4e5b6a7980112233445566778899aabb",
    sha7: "3f2a9c1",
    owner: "Jane Doe <jane@example.com>",
    source: "config",
    expiresAt: "2026-11-28T06:00:00.000Z",
    expiresAtLabel: "20261128T060000Z",
};

export const PASSWORD = "hunter2-registry-password";

/** prod-mirror:emulatorImage, which an emulated stack must set (the program has no default). */
export const EMULATOR_IMAGE = "127.0.0.1:5000/prod-mirror/moto:5.2.5";

function service(name: string, port: number, extra: Partial<ServiceSpec> = {}): ServiceSpec {
    return {
        name,
        port,
        image: `127.0.0.1:5000/prod-mirror/${name}:{tag}`,
        env: {},
        replicas: 1,
        readinessPath: "/healthz",
        uses: { queues: [], buckets: [], tables: [], services: [] },
        ...extra,
    };
}

/** The sample app: api (table + queue), worker (queue + bucket), gateway (both services). */
export function sampleApp(): AppSpec {
    return {
        services: [
            service("api", 8080, { uses: { queues: ["deal-events"], buckets: [], tables: ["deals"], services: [] } }),
            service("worker", 8081, {
                image: undefined,
                build: { context: "app", dockerfile: "app/worker/Dockerfile", args: {} },
                uses: { queues: ["deal-events"], buckets: ["receipts"], tables: [], services: [] },
            }),
            service("gateway", 8000, { replicas: 2, env: { LOG_LEVEL: "debug" }, uses: { queues: [], buckets: [], tables: [], services: ["api", "worker"] } }),
        ],
        cloud: {
            queues: [{ name: "deal-events", visibilityTimeoutSeconds: 30 }],
            buckets: [{ name: "receipts" }],
            tables: [{ name: "deals", hashKey: "id", hashKeyType: "S", rangeKeyType: "S" }],
        },
    };
}

/** mulberry32: a tiny deterministic PRNG, so generated cases are the same on every run. */
export function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const PIECES = [
    "feature", "fix", "release", "JIRA-1234", "user", "über", "naïve", "日本語", "café", "a.b", "..", "--", "__",
    "UPPER", "MixedCase", "123", "0day", "🚀", "x", "deps", "v1.2.3", "hot fix", "#42", "@scope", "ß", "Ω",
];
const SEPARATORS = ["/", "-", "_", ".", "", "//", " ", "+"];

/** `count` branch names with slashes, unicode, dots, uppercase, leading digits and 300-char ones. */
export function generateBranches(count: number, seed = 42): string[] {
    const next = prng(seed);
    const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)];
    const out = new Set<string>();
    while (out.size < count) {
        const parts = Array.from({ length: 1 + Math.floor(next() * 5) }, () => pick(PIECES));
        let name = parts.map((p, i) => (i === 0 ? p : pick(SEPARATORS) + p)).join("");
        if (next() < 0.15) {
            name = name.repeat(Math.ceil(300 / name.length)).slice(0, 300);
        }
        if (/[A-Za-z0-9]/.test(name)) {
            out.add(name);
        }
    }
    return [...out];
}

/** Pairs of long branch names identical for their first 250 characters. */
export function pairsDifferingAfterTheCut(count: number): Array<[string, string]> {
    const stem = "feature/" + "very-long-branch-name-".repeat(12);
    return Array.from({ length: count }, (_, i) => [`${stem}${i}-a`, `${stem}${i}-b`] as [string, string]);
}
