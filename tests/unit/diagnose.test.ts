// cli/diagnose.ts: why a mirror's workloads are not ready, from `kubectl get -o json` output written
// out literally here in the shape the cluster gives it (trimmed to the fields the kubelet fills).
import * as assert from "assert";
import { CRASH_LOG_LINES, diagnoseWorkloads, formatDiagnosis, isReadinessFailure, isUnready, oneLine, ownerOf, type KubeEvent, type LogSource, type Pod, type Workload } from "../../cli/diagnose";

const IMAGE = "127.0.0.1:5000/prod-mirror/crash:no-such-tag";

function deployment(name: string, status: Workload["status"], replicas = 1): Workload {
    return { kind: "Deployment", metadata: { name }, spec: { replicas }, status };
}

/** A pod of Deployment `deploy` through its ReplicaSet, as the controller names both. */
function podOf(deploy: string, suffix: string, status: Pod["status"], created = "2026-11-26T18:00:00Z", hash = "5d8f7c9b6"): Pod {
    return {
        metadata: {
            name: `${deploy}-${hash}-${suffix}`,
            labels: { "pod-template-hash": hash, "app.kubernetes.io/name": deploy },
            ownerReferences: [{ kind: "ReplicaSet", name: `${deploy}-${hash}` }],
            creationTimestamp: created,
        },
        status,
    };
}

function event(kind: string, name: string, reason: string, message: string, lastTimestamp: string, type = "Warning"): KubeEvent {
    return { involvedObject: { kind, name }, reason, message, type, lastTimestamp };
}

const UNAVAILABLE = { replicas: 1, updatedReplicas: 1, unavailableReplicas: 1 };
const READY = { replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 };
const noLogs = (): string | undefined => assert.fail("no log should be read");

describe("cli: diagnose unready workloads", () => {
    it("names an image that cannot be pulled with the kubelet's last pull failure, not the back-off's message", () => {
        const pod = podOf("bad-tag", "x7k2p", {
            phase: "Pending",
            containerStatuses: [
                { name: "bad-tag", image: IMAGE, ready: false, restartCount: 0, state: { waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${IMAGE}"` } } },
            ],
        });
        const events = [
            event("Pod", pod.metadata.name, "Failed", `Failed to pull image "${IMAGE}": rpc error: code = NotFound desc = failed to pull and unpack image: not found (older)`, "2026-11-26T18:00:05Z"),
            event("Pod", pod.metadata.name, "Failed", `Failed to pull image "${IMAGE}": rpc error: code = NotFound desc = ${IMAGE}: not found`, "2026-11-26T18:00:40Z"),
            event("Pod", pod.metadata.name, "Failed", "Error: ImagePullBackOff", "2026-11-26T18:00:50Z"),
            event("Pod", "other-pod", "Failed", 'Failed to pull image "elsewhere": not found', "2026-11-26T18:00:59Z"),
        ];
        assert.deepStrictEqual(diagnoseWorkloads([deployment("bad-tag", UNAVAILABLE)], [pod], events, noLogs), [
            {
                workload: "Deployment bad-tag",
                reason: "ImagePullBackOff",
                detail: `container bad-tag cannot pull image ${IMAGE}: Failed to pull image "${IMAGE}": rpc error: code = NotFound desc = ${IMAGE}: not found`,
            },
        ]);
        // Without an event (events expire), the waiting message is all there is.
        assert.deepStrictEqual(diagnoseWorkloads([deployment("bad-tag", UNAVAILABLE)], [pod], [], noLogs)[0].detail, `container bad-tag cannot pull image ${IMAGE}: Back-off pulling image "${IMAGE}"`);
    });

    it("names a crash loop with the exit, the restarts and the last lines of the previous container's log", () => {
        const pod = podOf("crash", "q9w8e", {
            phase: "Running",
            containerStatuses: [
                {
                    name: "crash",
                    image: "127.0.0.1:5000/prod-mirror/crash:main-0123456",
                    ready: false,
                    restartCount: 3,
                    state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 40s restarting failed container=crash pod=crash-5d8f7c9b6-q9w8e_pm-x(uid)" } },
                    lastState: { terminated: { exitCode: 1, reason: "Error" } },
                },
            ],
        });
        const asked: LogSource[] = [];
        const lines = Array.from({ length: 12 }, (_, i) => `line ${i + 1}`);
        const logs = (s: LogSource): string => {
            asked.push(s);
            return `${lines.join("\n")}\n\u001b[31mTraceback\u001b[0m: boom\tend\n`;
        };
        assert.deepStrictEqual(diagnoseWorkloads([deployment("crash", UNAVAILABLE)], [pod], [], logs), [
            {
                workload: "Deployment crash",
                reason: "CrashLoopBackOff",
                detail: "container crash exited with code 1 (Error) and was restarted 3 times; its last log lines:",
                log: ["line 4", "line 5", "line 6", "line 7", "line 8", "line 9", "line 10", "line 11", "line 12", "Traceback: boom end"],
            },
        ]);
        assert.strictEqual(CRASH_LOG_LINES, 10);
        assert.deepStrictEqual(asked, [{ pod: "crash-5d8f7c9b6-q9w8e", container: "crash", previous: true }]);
    });

    it("reads the log of a container caught between its exit and the restart, and says when there is none to read", () => {
        const exited = (restartCount: number): Pod =>
            podOf("crash", "q9w8e", {
                phase: "Running",
                containerStatuses: [{ name: "crash", ready: false, restartCount, state: { terminated: { exitCode: 2, reason: "Error" } } }],
            });
        const asked: LogSource[] = [];
        const findings = [
            ...diagnoseWorkloads([deployment("crash", UNAVAILABLE)], [exited(2)], [], (s) => (asked.push(s), "")),
            ...diagnoseWorkloads([deployment("crash", UNAVAILABLE)], [exited(0)], [], () => undefined),
        ];
        assert.deepStrictEqual(findings, [
            { workload: "Deployment crash", reason: "CrashLoopBackOff", detail: "container crash exited with code 2 (Error) and was restarted 2 times; it wrote no log lines" },
            { workload: "Deployment crash", reason: "ContainerExited", detail: "container crash exited with code 2 (Error) and was restarted 0 times; its log could not be read" },
        ]);
        assert.deepStrictEqual(asked, [{ pod: "crash-5d8f7c9b6-q9w8e", container: "crash", previous: false }]);
    });

    it("names a failing readiness probe with the newest probe failure of that pod", () => {
        const pod = podOf("unready", "m3n4b", {
            phase: "Running",
            initContainerStatuses: [{ name: "wait", ready: true, restartCount: 0, state: { terminated: { exitCode: 0, reason: "Completed" } } }],
            containerStatuses: [{ name: "unready", ready: false, restartCount: 0, state: { running: { startedAt: "2026-11-26T18:00:03Z" } } }],
        });
        const events = [
            event("Pod", pod.metadata.name, "Unhealthy", "Readiness probe failed: Get \"http://10.0.0.7:8080/not-here\": dial tcp 10.0.0.7:8080: connect: connection refused", "2026-11-26T18:00:04Z"),
            event("Pod", pod.metadata.name, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 404", "2026-11-26T18:00:58Z"),
            event("Pod", pod.metadata.name, "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500", "2026-11-26T18:00:59Z"),
        ];
        assert.deepStrictEqual(diagnoseWorkloads([deployment("unready", UNAVAILABLE)], [pod], events, noLogs), [
            { workload: "Deployment unready", reason: "ReadinessProbeFailed", detail: "container unready runs but is not ready: Readiness probe failed: HTTP probe failed with statuscode: 404" },
        ]);
        assert.deepStrictEqual(diagnoseWorkloads([deployment("unready", UNAVAILABLE)], [pod], [], noLogs)[0].detail, "container unready runs but is not ready: no readiness probe failure recorded yet");
        // A startup probe (the mirror's copy of the readiness check, or production's) holds readiness back.
        const starting = [...events, event("Pod", pod.metadata.name, "Unhealthy", "Startup probe failed: HTTP probe failed with statuscode: 503", "2026-11-26T18:01:00Z")];
        assert.deepStrictEqual(diagnoseWorkloads([deployment("unready", UNAVAILABLE)], [pod], starting, noLogs)[0].detail, "container unready runs but is not ready: Startup probe failed: HTTP probe failed with statuscode: 503");
    });

    it("names a pod the scheduler cannot place, and a pod the quota refused (no pod at all)", () => {
        const pending = podOf("big", "r5t6y", {
            phase: "Pending",
            conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available." }],
        });
        const quota = event(
            "ReplicaSet",
            "greedy-7c6b5a4d3",
            "FailedCreate",
            'Error creating: pods "greedy-7c6b5a4d3-abcde" is forbidden: exceeded quota: pm-x-quota, requested: limits.memory=64Gi, used: limits.memory=1Gi, limited: limits.memory=16Gi',
            "2026-11-26T18:00:30Z",
        );
        // A ReplicaSet of another Deployment whose name starts the same: not greedy's.
        const other = event("ReplicaSet", "greedy2-7c6b5a4d3", "FailedCreate", "Error creating: someone else's", "2026-11-26T18:00:31Z");
        const workloads = [deployment("greedy", { replicas: 0 }), deployment("big", UNAVAILABLE)];
        assert.deepStrictEqual(diagnoseWorkloads(workloads, [pending], [quota, other], noLogs), [
            { workload: "Deployment big", reason: "Unschedulable", detail: `pod ${pending.metadata.name}: 0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available.` },
            { workload: "Deployment greedy", reason: "FailedCreate", detail: quota.message },
        ]);
    });

    it("diagnoses the new pod of an update whose old pod still serves, and leaves ready workloads and finished pods out", () => {
        const old = podOf("api", "a1a1a", { phase: "Running", containerStatuses: [{ name: "api", ready: true, restartCount: 0, state: { running: {} } }] }, "2026-11-26T17:00:00Z", "11111111");
        const fresh = podOf(
            "api",
            "b2b2b",
            { phase: "Pending", containerStatuses: [{ name: "api", image: IMAGE, ready: false, restartCount: 0, state: { waiting: { reason: "ErrImagePull", message: "not found" } } }] },
            "2026-11-26T18:00:00Z",
            "22222222",
        );
        const done: Pod = {
            metadata: { name: "create-resources-x1", ownerReferences: [{ kind: "Job", name: "create-resources" }] },
            status: { phase: "Succeeded", containerStatuses: [{ name: "c", ready: false, state: { terminated: { exitCode: 0, reason: "Completed" } } }] },
        };
        const rolling = deployment("api", { replicas: 2, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, unavailableReplicas: 1 });
        assert.strictEqual(isUnready(rolling), true);
        assert.deepStrictEqual(diagnoseWorkloads([deployment("emulator", READY), rolling], [done, old, fresh], [], noLogs), [
            { workload: "Deployment api", reason: "ErrImagePull", detail: `container api cannot pull image ${IMAGE}: not found` },
        ]);
    });

    it("says so when nothing in the cluster explains an unready workload, for each kind", () => {
        const workloads: Workload[] = [
            { kind: "StatefulSet", metadata: { name: "db" }, spec: { replicas: 2 }, status: { replicas: 2, readyReplicas: 1, updatedReplicas: 2 } },
            { kind: "DaemonSet", metadata: { name: "agent" }, status: { desiredNumberScheduled: 3, numberReady: 2 } },
            { kind: "DaemonSet", metadata: { name: "fine" }, status: { desiredNumberScheduled: 1, numberReady: 1 } },
        ];
        assert.deepStrictEqual(diagnoseWorkloads(workloads, [], [], noLogs), [
            { workload: "DaemonSet agent", reason: "NotReady", detail: "2 of 3 pods ready, and no pod or event says why" },
            { workload: "StatefulSet db", reason: "NotReady", detail: "1 of 2 pods ready, and no pod or event says why" },
        ]);
    });

    it("finds the workload of a pod: a Deployment through its ReplicaSet, any other owner as itself", () => {
        assert.strictEqual(ownerOf(podOf("web-api", "z", {}, undefined, "6b7c8d")), "Deployment web-api");
        assert.strictEqual(ownerOf({ metadata: { name: "db-0", ownerReferences: [{ kind: "StatefulSet", name: "db" }] } }), "StatefulSet db");
        // A ReplicaSet made by hand, whose name does not end with the hash: itself.
        assert.strictEqual(ownerOf({ metadata: { name: "rs-x", labels: { "pod-template-hash": "abc" }, ownerReferences: [{ kind: "ReplicaSet", name: "rs" }] } }), "ReplicaSet rs");
        assert.strictEqual(ownerOf({ metadata: { name: "bare" } }), undefined);
    });

    it("keeps each message on one line, without terminal escapes, at most 400 characters with its start and its cause at the end", () => {
        assert.strictEqual(oneLine("  a\r\n\tb \u001b[1;31mred\u001b[0m\u0007 "), "a b red");
        assert.strictEqual(oneLine("y".repeat(400)), "y".repeat(400));
        const long = oneLine(`${"h".repeat(250)}${"m".repeat(200)}${"t".repeat(144)}: not found`);
        assert.strictEqual(long, `${"h".repeat(250)} ... ${"t".repeat(134)}: not found`);
        assert.strictEqual(long.length, 400);
    });

    it("takes only the provider's readiness failures for a readiness problem, not any failed update", () => {
        const created =
            '  kubernetes:apps/v1:Deployment (pm-x/crash):\n    error: 3 errors occurred:\n\t* resource "pm-x/crash" was successfully created, but the Kubernetes API server reported that it failed to fully initialize or become live: ' +
            "'crash' timed out waiting to be Ready\n\t* Minimum number of live Pods was not attained";
        assert.deepStrictEqual(
            [
                created,
                "error: 'pm-x/crash' timed out waiting to be Ready",
                '  kubernetes:core/v1:ConfigMap (pm-x/app): error: configmaps "app" is forbidden: exceeded quota',
                "error: failed to push image: connection refused",
            ].map(isReadinessFailure),
            [true, true, false, false],
        );
    });

    it("formats the error: each workload and its reason, the crash's log lines, then the way on", () => {
        const text = formatDiagnosis(
            [
                { workload: "Deployment bad-tag", reason: "ImagePullBackOff", detail: `container bad-tag cannot pull image ${IMAGE}: not found` },
                { workload: "Deployment crash", reason: "CrashLoopBackOff", detail: "container crash exited with code 1 (Error) and was restarted 3 times; its last log lines:", log: ["Traceback", "SystemExit: 1"] },
            ],
            { namespace: "pm-feature-x", boundSeconds: 60, refFlags: "--branch feature/x" },
        );
        assert.strictEqual(
            text,
            "2 workload(s) in namespace pm-feature-x were not ready within the 60 s bound (prod-mirror:readyTimeoutSeconds):\n" +
                `  Deployment bad-tag: ImagePullBackOff: container bad-tag cannot pull image ${IMAGE}: not found\n` +
                "  Deployment crash: CrashLoopBackOff: container crash exited with code 1 (Error) and was restarted 3 times; its last log lines:\n" +
                "    | Traceback\n" +
                "    | SystemExit: 1\n" +
                "fix the service (its image, command, configuration or readiness probe) and run 'prod-mirror up --branch feature/x' again; " +
                "if it is only slow, raise the bound with --ready-timeout (e.g. --ready-timeout 5m); 'prod-mirror down --branch feature/x' removes the mirror as it is",
        );
    });
});
