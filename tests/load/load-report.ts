// What the load test measured, as docs/load.md: pure, so its shape is checked without a cluster.

/** One level: N mirrors brought up at once, then taken down at once. */
export interface LevelFigures {
    n: number;
    /** How many mirrors the cluster's unrequested CPU had room for when the level started (undefined before one was measured). */
    fit?: number;
    ready: number;
    /** Ups that waited with a pod the scheduler could not place, then were interrupted. */
    unschedulable: number;
    /** Ups that exited non-zero on their own. */
    failed: number;
    /** From the start until every up exited or was found waiting on an unschedulable pod. */
    upSeconds: number;
    /** From the start until the last up that succeeded exited. */
    lastReadySeconds: number;
    downSeconds: number;
    /** Machine memory in use (MemTotal - MemAvailable) when the level started, and its peak (sampled every second) until the downs ended. */
    memoryBeforeGiB: number;
    memoryPeakGiB: number;
    leftovers: number;
}

export interface ListingFigures {
    stacks: number;
    lsSeconds: number[];
    reapDryRunSeconds: number[];
}

export interface LoadReport {
    date: string;
    command: string;
    commit: string;
    machine: string[];
    versions: string[];
    perMirrorCpu?: number;
    freeCpu?: number;
    levels: LevelFigures[];
    listing?: ListingFigures;
    notes: string[];
}

const s = (seconds: number): string => seconds.toFixed(1);

export function renderLoadReport(r: LoadReport): string {
    const lines = [
        "# Load: N mirrors at once on one cluster",
        "",
        `Measured ${r.date} at commit ${r.commit} with \`${r.command}\` (tests/load/load.test.ts).`,
        "",
        "## Machine",
        ...r.machine.map((m) => `- ${m}`),
        "",
        "## Versions",
        ...r.versions.map((v) => `- ${v}`),
        "",
        "## Mirrors made concurrently, each from its own branch (`prod-mirror up --branch B --commit SHA --no-forward`), then destroyed concurrently (`prod-mirror down`)",
        "",
    ];
    if (r.perMirrorCpu !== undefined && r.freeCpu !== undefined) {
        lines.push(`One mirror of the sample app requests ${r.perMirrorCpu}m CPU (its pods, emulator included); the node had ${r.freeCpu}m unrequested before the first level, room for ${Math.floor(r.freeCpu / r.perMirrorCpu)} mirrors.`, "");
    }
    lines.push(
        "| N | fit | ready | unschedulable | failed | all ups settled (s) | last ready (s) | all downs (s) | memory used before (GiB) | peak memory used (GiB) | leftovers |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ...r.levels.map((l) =>
            `| ${l.n} | ${l.fit ?? "–"} | ${l.ready} | ${l.unschedulable} | ${l.failed} | ${s(l.upSeconds)} | ${s(l.lastReadySeconds)} | ${s(l.downSeconds)} | ${l.memoryBeforeGiB.toFixed(1)} | ${l.memoryPeakGiB.toFixed(1)} | ${l.leftovers} |`),
        "",
        "fit: the mirrors the unrequested CPU had room for when the level started (– before one mirror's request was measured). " +
            "unschedulable: ups whose mirror had a pod the scheduler could not place, with every other up settled, for 90 s; each was " +
            "interrupted (SIGINT, as Ctrl-C) and taken down with the rest. failed: ups that exited non-zero on their own. " +
            "all ups settled: until every up exited or was found waiting so; last ready: until the last successful up exited. " +
            "Memory: the machine's MemTotal - MemAvailable, sampled every second from the level's start to the end of its downs. " +
            "leftovers: namespaces, objects labelled with a level's stacks, and its stacks on the backend, after the downs.",
        "",
    );
    if (r.listing !== undefined) {
        lines.push(
            `## ${r.listing.stacks} stacks on the backend (made without deploying, as \`npm run bench\` makes them)`,
            "",
            "| command | seconds |",
            "|---|---|",
            `| \`prod-mirror ls --json\` | ${r.listing.lsSeconds.map(s).join(", ")} |`,
            `| \`prod-mirror reap --dry-run\` | ${r.listing.reapDryRunSeconds.map(s).join(", ")} |`,
            "",
        );
    }
    if (r.notes.length > 0) {
        lines.push("## Notes", "", ...r.notes.map((n) => `- ${n}`), "");
    }
    return lines.join("\n");
}
