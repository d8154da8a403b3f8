import * as assert from "assert";
import { renderLoadReport, type LoadReport } from "../load/load-report";

describe("load report (docs/load.md)", function () {
    const report: LoadReport = {
        date: "2026-11-26T19:00:00Z", command: "npm run test:load", commit: "abc1234",
        machine: ["nproc: 2"], versions: ["node v20"], perMirrorCpu: 450, freeCpu: 1950,
        levels: [
            { n: 1, ready: 1, unschedulable: 0, failed: 0, upSeconds: 31.04, lastReadySeconds: 31.04, downSeconds: 17.25, memoryBeforeGiB: 5.04, memoryPeakGiB: 6.96, leftovers: 0 },
            { n: 5, fit: 4, ready: 3, unschedulable: 2, failed: 0, upSeconds: 190, lastReadySeconds: 88.26, downSeconds: 40, memoryBeforeGiB: 5, memoryPeakGiB: 9.5, leftovers: 0 },
        ],
        listing: { stacks: 50, lsSeconds: [2.04, 1.96], reapDryRunSeconds: [3.5, 3.44] },
        notes: ["N=5: 2 up(s) waited on the scheduler"],
    };

    it("has a row per level, a dash where no fit was known, and the capacity sentence from the measured request", function () {
        const text = renderLoadReport(report);
        assert.ok(text.includes("| 1 | – | 1 | 0 | 0 | 31.0 | 31.0 | 17.3 | 5.0 | 7.0 | 0 |\n"), text);
        assert.ok(text.includes("| 5 | 4 | 3 | 2 | 0 | 190.0 | 88.3 | 40.0 | 5.0 | 9.5 | 0 |\n"), text);
        assert.ok(text.includes("requests 450m CPU (its pods, emulator included); the node had 1950m unrequested before the first level, room for 4 mirrors."), text);
        assert.ok(text.includes("| `prod-mirror ls --json` | 2.0, 2.0 |\n| `prod-mirror reap --dry-run` | 3.5, 3.4 |\n"), text);
        assert.ok(text.includes("## Notes\n\n- N=5: 2 up(s) waited on the scheduler\n"), text);
    });

    it("leaves out the capacity sentence and the listing when they were not measured", function () {
        const text = renderLoadReport({ ...report, perMirrorCpu: undefined, listing: undefined, notes: [] });
        assert.doesNotMatch(text, /room for [0-9]+ mirrors/);
        assert.ok(!text.includes("## 50 stacks on the backend"));
        assert.ok(!text.includes("## Notes"));
    });
});
