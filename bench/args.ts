// `npm run bench [-- --quick] [-- --out FILE]`: what a run measures, decided before anything runs.

export interface BenchPlan {
    quick: boolean;
    /** Runs of each alternating step (kubectl baseline, new mirror, renewing up, preview, down, images, unit suite). */
    runs: number;
    /** Live mirrors kept while one more is made: the growth levels, ascending. */
    liveMirrors: number[];
    /** Stacks on a throwaway backend that `ls` and `reap --dry-run` are timed against, ascending. */
    stackCounts: number[];
    /** Samples of `ls` and of `reap --dry-run` at each stack count. */
    listRuns: number;
    /** Where the Markdown report goes; undefined: printed only (the default of --quick). */
    out?: string;
}

export const BENCH_USAGE = `usage: npm run bench [-- --quick] [-- --out FILE]
  --quick     1 run of each step, growth with 0/2 live mirrors, ls/reap against 1/10 stacks; prints the
              report without writing it unless --out is given
  --out FILE  where the Markdown report goes (default: docs/benchmarks.md; none with --quick)
Needs the local environment up ('bash local/env.sh up', as 'npm start' does).`;

export const DEFAULT_REPORT = "docs/benchmarks.md";

export function parseBenchArgs(argv: readonly string[]): BenchPlan {
    let quick = false;
    let out: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--quick") {
            quick = true;
        } else if (arg === "--out") {
            const value = argv[i + 1];
            if (value === undefined || value.startsWith("--")) {
                throw new Error(`--out needs a file name, e.g. --out /tmp/bench.md\n${BENCH_USAGE}`);
            }
            out = value;
            i++;
        } else {
            throw new Error(`unknown argument ${JSON.stringify(arg)}\n${BENCH_USAGE}`);
        }
    }
    return quick
        ? { quick, runs: 1, liveMirrors: [0, 2], stackCounts: [1, 10], listRuns: 1, out }
        : { quick, runs: 3, liveMirrors: [0, 5, 10], stackCounts: [1, 10, 50], listRuns: 2, out: out ?? DEFAULT_REPORT };
}
