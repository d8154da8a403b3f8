// The benchmark's pure parts: its arithmetic and tables, its arguments, and the baseline's rewrite of a
// live mirror's objects into what a kubectl script applies. No timing is asserted anywhere.
import * as assert from "assert";
import { parseBenchArgs } from "../../bench/args";
import { chooseLevel, cpuMillis, freeCpu, mirrorCpuRequest } from "../../bench/capacity";
import { asList, baselineObjects, moveBaseline, stripServerFields } from "../../bench/baseline";
import { headlineRatios } from "../../bench/report";
import { imageSeconds, loggedSeconds, pool, PULUMI_UP_LINE } from "../../bench/run";
import { ratioLine, stepTable, summarize } from "../../bench/stats";

const STACK = "prod-mirror.dev/stack";

describe("bench: figures", () => {
    it("summarizes min, median (odd and even counts) and max whatever the order", () => {
        assert.deepStrictEqual(summarize([9, 7.5, 8]), { n: 3, min: 7.5, median: 8, max: 9 });
        assert.deepStrictEqual(summarize([4, 1, 3, 2]), { n: 4, min: 1, median: 2.5, max: 4 });
        assert.deepStrictEqual(summarize([5]), { n: 1, min: 5, median: 5, max: 5 });
        assert.strictEqual(summarize([]), undefined);
    });

    it("divides medians, two decimals, and says n/a without samples or with a zero median", () => {
        assert.strictEqual(ratioLine("up/kubectl", [27.2, 28.9, 27.5], [7.8, 9.6, 8.5]), "ratio up/kubectl = 3.24");
        assert.strictEqual(ratioLine("up/kubectl", [], [8]), "ratio up/kubectl = n/a");
        assert.strictEqual(ratioLine("up/kubectl", [8], [0]), "ratio up/kubectl = n/a");
        assert.deepStrictEqual(headlineRatios([10], [12], [15], [11], [10], [5]), [
            "ratio up/kubectl = 1.20",
            "ratio command/kubectl = 1.50",
            "ratio down/delete-namespace = 1.10",
            "ratio renewing-up/kubectl = 0.50",
        ]);
    });

    it("prints one table row per step, a dash where a step has no sample", () => {
        assert.strictEqual(
            stepTable([{ name: "a", samples: [2, 1, 3] }, { name: "b", samples: [], note: "did not fit" }]),
            "| step | n | min s | median s | max s | note |\n|---|---:|---:|---:|---:|---|\n| a | 3 | 1.00 | 2.00 | 3.00 |  |\n| b | 0 | - | - | - | did not fit |\n",
        );
    });

    it("reads the CLI's own figures from its log, and fails loudly when the line is missing", () => {
        const log = "[prod-mirror] image 127.0.0.1:5000/prod-mirror/api:x-1 pushed in 1.5s\n[prod-mirror] image 127.0.0.1:5000/prod-mirror/web:x-1 pushed in 0.7s\n[prod-mirror] pulumi up succeeded in 27.2s\n";
        assert.strictEqual(loggedSeconds(log, PULUMI_UP_LINE), 27.2);
        assert.strictEqual(imageSeconds(log), 2.2);
        assert.strictEqual(imageSeconds("nothing"), 0);
        // The images go at once: the step's own wall-clock line wins over their sum.
        assert.strictEqual(imageSeconds(`${log}[prod-mirror] images pushed in 1.6s\n`), 1.6);
        assert.throws(() => loggedSeconds("[prod-mirror] pulumi up failed in 3.0s", PULUMI_UP_LINE), /^Error: no line matching \/pulumi up succeeded in/);
    });

    it("runs every item of a pool, no more than its width at once, and throws the first failure after all ran", async () => {
        let running = 0;
        let most = 0;
        const seen: number[] = [];
        await assert.rejects(
            pool([1, 2, 3, 4, 5], 2, async (n) => {
                running++;
                most = Math.max(most, running);
                await new Promise((r) => setTimeout(r, 5));
                seen.push(n);
                running--;
                if (n === 2) {
                    throw new Error("two failed");
                }
            }),
            /^Error: two failed$/,
        );
        assert.deepStrictEqual([...seen].sort(), [1, 2, 3, 4, 5]);
        assert.strictEqual(most, 2);
    });
});

describe("bench: arguments", () => {
    it("plans a full run by default and a quick one with --quick", () => {
        assert.deepStrictEqual(parseBenchArgs([]), { quick: false, runs: 3, liveMirrors: [0, 5, 10], stackCounts: [1, 10, 50], listRuns: 2, out: "docs/benchmarks.md" });
        assert.deepStrictEqual(parseBenchArgs(["--quick"]), { quick: true, runs: 1, liveMirrors: [0, 2], stackCounts: [1, 10], listRuns: 1, out: undefined });
        assert.strictEqual(parseBenchArgs(["--quick", "--out", "/tmp/q.md"]).out, "/tmp/q.md");
    });

    it("refuses an unknown argument and --out without a file, naming them", () => {
        assert.throws(() => parseBenchArgs(["--runs", "5"]), /^Error: unknown argument "--runs"\nusage: npm run bench/);
        assert.throws(() => parseBenchArgs(["--out"]), /^Error: --out needs a file name, e\.g\. --out \/tmp\/bench\.md\n/);
        assert.throws(() => parseBenchArgs(["--out", "--quick"]), /^Error: --out needs a file name/);
    });
});

function liveJob(): any {
    return {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: {
            name: "create-abc",
            namespace: "pm-feat-x",
            uid: "u-1",
            resourceVersion: "42",
            generation: 1,
            creationTimestamp: "2026-01-01T00:00:00Z",
            managedFields: [{ manager: "pulumi" }],
            labels: { [STACK]: "feat-x", "controller-uid": "u-1", "batch.kubernetes.io/job-name": "create-abc", app: "create" },
            annotations: { "batch.kubernetes.io/job-tracking": "", "pulumi.com/patchForce": "true" },
        },
        spec: {
            selector: { matchLabels: { "batch.kubernetes.io/controller-uid": "u-1" } },
            template: {
                metadata: { labels: { "controller-uid": "u-1", "job-name": "create-abc", [STACK]: "feat-x" } },
                spec: { containers: [{ name: "c", image: "127.0.0.1:5000/prod-mirror/api:feat-x-1234567", env: [{ name: "AWS_ENDPOINT_URL", value: "http://emulator.pm-feat-x.svc.cluster.local:5000" }] }] },
            },
        },
        status: { succeeded: 1 },
    };
}

describe("bench: the kubectl baseline", () => {
    it("strips what the API server and the Job controller set, and keeps what the program declared", () => {
        assert.deepStrictEqual(stripServerFields(liveJob()), {
            apiVersion: "batch/v1",
            kind: "Job",
            metadata: { name: "create-abc", namespace: "pm-feat-x", labels: { [STACK]: "feat-x", app: "create" }, annotations: { "pulumi.com/patchForce": "true" } },
            spec: { template: { metadata: { labels: { [STACK]: "feat-x" } }, spec: liveJob().spec.template.spec } },
        });
    });

    it("strips a Service's cluster IPs, a namespace's own name label and finalizers, and empty annotations", () => {
        const service = stripServerFields({
            kind: "Service",
            metadata: { name: "api", annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" } },
            spec: { clusterIP: "10.0.0.7", clusterIPs: ["10.0.0.7"], ports: [{ port: 80 }] },
        });
        assert.deepStrictEqual(service, { kind: "Service", metadata: { name: "api" }, spec: { ports: [{ port: 80 }] } });
        const ns = stripServerFields({ kind: "Namespace", metadata: { name: "pm-feat-x", labels: { "kubernetes.io/metadata.name": "pm-feat-x", "pod-security.kubernetes.io/enforce": "restricted" } }, spec: { finalizers: ["kubernetes"] }, status: { phase: "Active" } });
        assert.deepStrictEqual(ns, { kind: "Namespace", metadata: { name: "pm-feat-x", labels: { "pod-security.kubernetes.io/enforce": "restricted" } } });
    });

    it("keeps the stack's own objects, namespace first, and leaves out what a controller made or another stack labelled", () => {
        const ns = { kind: "Namespace", metadata: { name: "pm-feat-x" } };
        const objects = baselineObjects(ns, [
            { kind: "Service", metadata: { name: "api", labels: { [STACK]: "feat-x" } } },
            { kind: "Pod", metadata: { name: "api-1", labels: { [STACK]: "feat-x" }, ownerReferences: [{ kind: "ReplicaSet" }] } },
            { kind: "ConfigMap", metadata: { name: "kube-root-ca.crt" } },
            { kind: "Deployment", metadata: { name: "api", labels: { [STACK]: "feat-y" } } },
            { kind: "ConfigMap", metadata: { name: "aws", labels: { [STACK]: "feat-x" } } },
        ], "feat-x");
        assert.deepStrictEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), ["Namespace/pm-feat-x", "ConfigMap/aws", "Service/api"]);
    });

    it("moves every mention of the namespace and relabels the stack, but leaves image references and other labels alone", () => {
        const [job] = moveBaseline([stripServerFields(liveJob())], "pm-feat-x", "pmk-run-1", "feat-x", "bench-baseline");
        assert.strictEqual(job.metadata.namespace, "pmk-run-1");
        assert.strictEqual(job.metadata.labels[STACK], "bench-baseline");
        assert.strictEqual(job.spec.template.metadata.labels[STACK], "bench-baseline");
        assert.strictEqual(job.metadata.labels.app, "create");
        const container = job.spec.template.spec.containers[0];
        assert.strictEqual(container.image, "127.0.0.1:5000/prod-mirror/api:feat-x-1234567");
        assert.strictEqual(container.env[0].value, "http://emulator.pmk-run-1.svc.cluster.local:5000");
        assert.strictEqual(JSON.parse(asList([job])).kind, "List");
        assert.strictEqual(JSON.parse(asList([job])).items[0].metadata.namespace, "pmk-run-1");
    });
});

describe("bench: room on the cluster", () => {
    it("reads CPU quantities in cores and millicores, and nothing else", () => {
        assert.strictEqual(cpuMillis("50m"), 50);
        assert.strictEqual(cpuMillis("2"), 2000);
        assert.strictEqual(cpuMillis("0.25"), 250);
        assert.strictEqual(cpuMillis(1), 1000);
        assert.strictEqual(cpuMillis("1Gi"), undefined);
        assert.strictEqual(cpuMillis(undefined), undefined);
    });

    it("counts a mirror's Deployments by replicas, with the LimitRange's default for a container without requests, and no Job", () => {
        const objects = [
            { kind: "LimitRange", spec: { limits: [{ type: "Container", defaultRequest: { cpu: "100m" } }] } },
            { kind: "Deployment", spec: { replicas: 3, template: { spec: { containers: [{ resources: { requests: { cpu: "50m" } } }] } } } },
            { kind: "Deployment", spec: { template: { spec: { containers: [{}], initContainers: [{ resources: { requests: { cpu: "300m" } } }] } } } },
            { kind: "Job", spec: { template: { spec: { containers: [{ resources: { requests: { cpu: "1" } } }] } } } },
        ];
        assert.strictEqual(mirrorCpuRequest(objects), 3 * 50 + 300);
    });

    it("subtracts running pods' requests from schedulable nodes' allocatable CPU", () => {
        const nodes = [{ status: { allocatable: { cpu: "2" } } }, { spec: { unschedulable: true }, status: { allocatable: { cpu: "4" } } }];
        const pods = [
            { status: { phase: "Running" }, spec: { containers: [{ resources: { requests: { cpu: "250m" } } }, { resources: { limits: { cpu: "100m" } } }] } },
            { status: { phase: "Succeeded" }, spec: { containers: [{ resources: { requests: { cpu: "1" } } }] } },
        ];
        assert.strictEqual(freeCpu(nodes, pods), 2000 - 350);
    });
});

describe("bench: growth levels", () => {
    it("keeps the wanted level when it and the measured mirror fit, exactly at the limit too", () => {
        assert.deepStrictEqual(chooseLevel(5, 0, 0, 450, 2700), { level: 5 });
        assert.deepStrictEqual(chooseLevel(10, 5, 5, 450, 2700), { level: 10 });
    });

    it("falls back to the most that fit above the last level measured, and says why", () => {
        assert.deepStrictEqual(chooseLevel(5, 0, 0, 450, 1500), {
            level: 2,
            fallback: "5 live did not fit: 6 more mirror(s) request 2700m CPU (450m each), the cluster had 1500m unrequested",
        });
    });

    it("skips when nothing above the last level measured fits", () => {
        assert.deepStrictEqual(chooseLevel(10, 2, 2, 450, 800), {
            skipped: "10 live did not fit: 9 more mirror(s) request 4050m CPU (450m each), the cluster had 800m unrequested",
        });
    });
});
