// Mutation testing of the unit suite (`npm run test:mutation`): every mutant is a small bug put into
// the code; a mutant the unit tests still pass with is a bug they would miss. The scope is the code
// whose behaviour the unit tests claim to pin: the components and the CLI's pure modules. The CLI's
// shells around pulumi, kubectl and git are covered by the integration suite instead.
import * as os from "node:os";
import * as path from "node:path";

// Outside the repo, like every long build's output (README, "Caches"): the incremental file lets a
// re-run mutate only what changed since the last one; the report is a page to open, not a file to commit.
const cacheDir = process.env.PROD_MIRROR_STRYKER_DIR ?? path.join(os.homedir(), ".cache", "prod-mirror", "stryker");

// When that directory is inside the project (GitLab keeps artifacts only from there), Stryker must not
// copy it into its own sandbox.
const cacheInProject = path.relative(process.cwd(), cacheDir);
const ignorePatterns = cacheInProject.startsWith("..") || path.isAbsolute(cacheInProject) ? [] : [`/${cacheInProject}`];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
    testRunner: "mocha",
    mochaOptions: { config: ".mocharc.unit.json" },
    mutate: [
        "components/**/*.ts",
        "!components/index.ts",
        "cli/args.ts",
        "cli/outputs.ts",
        "cli/inventory.ts",
        "cli/installation.ts",
        "cli/stack-path.ts",
        "cli/process-record.ts",
        "cli/run-lock.ts",
        "cli/guarded-run.ts",
        "cli/reap/plan.ts",
        "cli/diagnose.ts",
        "cli/stuck.ts",
    ],
    ignorePatterns,
    coverageAnalysis: "perTest",
    incremental: true,
    incrementalFile: path.join(cacheDir, "incremental.json"),
    tempDirName: path.join(cacheDir, "sandbox"),
    cleanTempDir: "always",
    reporters: ["clear-text", "progress-append-only", "html"],
    htmlReporter: { fileName: path.join(cacheDir, "report.html") },
    clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
    thresholds: { high: 90, low: 80, break: 80 },
    // Two cores here: one test runner per core.
    concurrency: Math.max(1, Math.min(2, os.availableParallelism())),
    timeoutMS: 10000,
};
