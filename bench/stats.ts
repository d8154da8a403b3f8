// Pure arithmetic and formatting of the benchmark's figures, so that what `npm run bench` prints and
// what docs/benchmarks.md holds come from the same calls (and are unit-tested without a cluster).

/** The samples of one step, in seconds, in the order they were taken. */
export interface Step {
    /** What the step measures, as the table shows it. */
    name: string;
    samples: number[];
    /** Why the step has fewer samples than asked for, or what to keep in mind reading it. */
    note?: string;
}

export interface Summary {
    n: number;
    min: number;
    median: number;
    max: number;
}

/** min/median/max of the samples; the median of an even count is the mean of the middle two. */
export function summarize(samples: readonly number[]): Summary | undefined {
    if (samples.length === 0) {
        return undefined;
    }
    const sorted = [...samples].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    return { n: sorted.length, min: sorted[0], median, max: sorted[sorted.length - 1] };
}

/** `ratio <label> = X.XX`: the medians' quotient, or `n/a` when either side has no sample. */
export function ratioLine(label: string, numerator: readonly number[], denominator: readonly number[]): string {
    const top = summarize(numerator);
    const bottom = summarize(denominator);
    if (top === undefined || bottom === undefined || bottom.median === 0) {
        return `ratio ${label} = n/a`;
    }
    return `ratio ${label} = ${(top.median / bottom.median).toFixed(2)}`;
}

const secs = (s: number): string => s.toFixed(2);

/** A Markdown table, one row per step: n, min, median, max in seconds, and the note. */
export function stepTable(steps: readonly Step[]): string {
    const rows = steps.map((step) => {
        const s = summarize(step.samples);
        const cells = s === undefined ? ["0", "-", "-", "-"] : [String(s.n), secs(s.min), secs(s.median), secs(s.max)];
        return `| ${step.name} | ${cells.join(" | ")} | ${step.note ?? ""} |`;
    });
    return ["| step | n | min s | median s | max s | note |", "|---|---:|---:|---:|---:|---|", ...rows].join("\n") + "\n";
}

/** Seconds since a `process.hrtime.bigint()` reading. */
export function secondsSince(start: bigint): number {
    return Number(process.hrtime.bigint() - start) / 1e9;
}
