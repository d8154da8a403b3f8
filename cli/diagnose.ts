// Why a mirror's workloads are not ready, read from the cluster after `up` failed: the provider
// says only that a Deployment timed out. Each unready workload gets the reason its pods give: the
// image that cannot be pulled, the crash and the last lines the crashed container wrote, the failing
// readiness probe, or why no pod could be scheduled or created. Pure parsing of `kubectl get -o json`
// output (diagnoseWorkloads, formatDiagnosis), behind one thin shell that runs kubectl (diagnoseNamespace).
import { kubectl } from "./kubectl";

/** How many lines of a crashed container's log the diagnosis shows. */
export const CRASH_LOG_LINES = 10;
/** A message or log line longer than this is cut: a diagnosis is read, not searched. */
const MAX_LINE = 400;
/** How much of a cut line's start is kept; the rest of MAX_LINE goes to its end. */
const KEPT_HEAD = 250;

interface Meta {
    name: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
    creationTimestamp?: string;
}

/** A Deployment, StatefulSet or DaemonSet, as `kubectl get -o json` gives it (the fields read here). */
export interface Workload {
    kind: string;
    metadata: Meta;
    spec?: { replicas?: number };
    status?: {
        replicas?: number;
        readyReplicas?: number;
        availableReplicas?: number;
        updatedReplicas?: number;
        unavailableReplicas?: number;
        desiredNumberScheduled?: number;
        numberReady?: number;
    };
}

interface ContainerState {
    waiting?: { reason?: string; message?: string };
    running?: { startedAt?: string };
    terminated?: { exitCode?: number; reason?: string; message?: string };
}

export interface ContainerStatus {
    name: string;
    image?: string;
    ready?: boolean;
    restartCount?: number;
    state?: ContainerState;
    lastState?: ContainerState;
}

export interface Pod {
    metadata: Meta;
    status?: {
        phase?: string;
        conditions?: { type: string; status: string; reason?: string; message?: string }[];
        initContainerStatuses?: ContainerStatus[];
        containerStatuses?: ContainerStatus[];
    };
}

export interface KubeEvent {
    involvedObject: { kind?: string; name?: string };
    reason?: string;
    message?: string;
    type?: string;
    lastTimestamp?: string | null;
    eventTime?: string | null;
    firstTimestamp?: string | null;
    series?: { lastObservedTime?: string };
    metadata?: { creationTimestamp?: string };
}

/** Which container's log to show: the crashed one (`previous`) or the one that just exited. */
export interface LogSource {
    pod: string;
    container: string;
    previous: boolean;
}

/** One unready workload and why. */
export interface Finding {
    /** `Deployment api`. */
    workload: string;
    /** ErrImagePull, ImagePullBackOff, CrashLoopBackOff, ReadinessProbeFailed, Unschedulable, FailedCreate, or the kubelet's own reason. */
    reason: string;
    /** One line: what the cluster says, cut to a readable length. */
    detail: string;
    /** A crashed container's last log lines, oldest first. */
    log?: string[];
}

/** The image pull failures the kubelet reports as a container's waiting reason. */
const IMAGE_REASONS = ["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"];
/** Waiting reasons every pod passes through on its way to running: by themselves no diagnosis. */
const STARTING = ["ContainerCreating", "PodInitializing"];

/**
 * A message on one line, without control characters, at most MAX_LINE long. A longer one loses its
 * middle, not its end: the kubelet's errors wrap their cause last ("...: not found").
 */
export function oneLine(text: string): string {
    // eslint-disable-next-line no-control-regex
    const flat = text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").replace(/[\x00-\x1f\x7f]+/g, " ").replace(/\s+/g, " ").trim();
    return flat.length > MAX_LINE ? `${flat.slice(0, KEPT_HEAD)} ... ${flat.slice(flat.length - (MAX_LINE - KEPT_HEAD - 5))}` : flat;
}

/** Whether a workload has fewer ready (or up-to-date) pods than it wants. */
export function isUnready(w: Workload): boolean {
    const s = w.status ?? {};
    if (w.kind === "DaemonSet") {
        return (s.numberReady ?? 0) < (s.desiredNumberScheduled ?? 0);
    }
    const want = w.spec?.replicas ?? 1;
    // An update whose new pods fail while the old ones still serve: ready enough, yet not rolled out.
    const stuckRollout = w.kind === "Deployment" && ((s.unavailableReplicas ?? 0) > 0 || (s.replicas ?? 0) > (s.updatedReplicas ?? 0));
    return (s.readyReplicas ?? 0) < want || (s.updatedReplicas ?? 0) < want || stuckRollout;
}

/** The workload that owns a pod: a Deployment through its ReplicaSet `<deployment>-<pod-template-hash>`. */
export function ownerOf(pod: Pod): string | undefined {
    const owner = pod.metadata.ownerReferences?.[0];
    if (owner === undefined) {
        return undefined;
    }
    const hash = pod.metadata.labels?.["pod-template-hash"];
    if (owner.kind === "ReplicaSet" && hash !== undefined && owner.name.endsWith(`-${hash}`)) {
        return `Deployment ${owner.name.slice(0, -hash.length - 1)}`;
    }
    return `${owner.kind} ${owner.name}`;
}

function when(e: KubeEvent): string {
    return e.lastTimestamp ?? e.series?.lastObservedTime ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp ?? "";
}

/** The newest event about `kind name` that `matches`, if any. */
function latest(events: KubeEvent[], kind: string, name: (n: string) => boolean, matches: (e: KubeEvent) => boolean): KubeEvent | undefined {
    return events
        .filter((e) => e.involvedObject.kind === kind && name(e.involvedObject.name ?? "") && matches(e))
        .sort((a, b) => when(a).localeCompare(when(b)))
        .pop();
}

/** Why one pod is not ready, or undefined when it is (or is merely starting). */
function podFinding(workload: string, pod: Pod, events: KubeEvent[], logs: (source: LogSource) => string | undefined): Finding | undefined {
    const status = pod.status ?? {};
    if (status.phase === "Succeeded") {
        return undefined;
    }
    const about = (matches: (e: KubeEvent) => boolean): KubeEvent | undefined => latest(events, "Pod", (n) => n === pod.metadata.name, matches);
    const containers = [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])];
    for (const c of containers) {
        const waiting = c.state?.waiting?.reason;
        if (waiting !== undefined && IMAGE_REASONS.includes(waiting)) {
            // The back-off's own message only says it backs off; the kubelet's last pull failure says why.
            const pull = about((e) => e.reason === "Failed" && (e.message ?? "").startsWith("Failed to pull image"));
            const why = pull?.message ?? c.state?.waiting?.message ?? "";
            return { workload, reason: waiting, detail: oneLine(`container ${c.name} cannot pull image ${c.image ?? "(unknown)"}${why === "" ? "" : `: ${why}`}`) };
        }
        // Backing off after a crash, or caught between its exit and the restart: a running container
        // that restarted once is judged by its readiness below instead.
        // A finished init container (exit 0) is done, not crashed.
        if (waiting === "CrashLoopBackOff" || (c.state?.terminated !== undefined && c.state.terminated.exitCode !== 0)) {
            const crashed = c.state?.terminated ?? c.lastState?.terminated;
            const exit = crashed === undefined ? "" : ` exited with code ${crashed.exitCode ?? "?"}${crashed.reason === undefined ? "" : ` (${crashed.reason})`} and`;
            const text = logs({ pod: pod.metadata.name, container: c.name, previous: c.state?.terminated === undefined });
            const log = (text ?? "").split("\n").map((l) => oneLine(l)).filter((l) => l !== "").slice(-CRASH_LOG_LINES);
            const said = text === undefined ? "; its log could not be read" : log.length === 0 ? "; it wrote no log lines" : "; its last log lines:";
            return {
                workload,
                // Caught between an exit and the restart, a container that restarted before is in the same loop.
                reason: waiting ?? ((c.restartCount ?? 0) > 0 ? "CrashLoopBackOff" : "ContainerExited"),
                detail: `container ${c.name}${exit} was restarted ${c.restartCount ?? 0} times${said}`,
                ...(log.length > 0 ? { log } : {}),
            };
        }
        if (waiting !== undefined && !STARTING.includes(waiting)) {
            return { workload, reason: waiting, detail: oneLine(`container ${c.name}: ${c.state?.waiting?.message ?? "(no message)"}`) };
        }
    }
    const scheduled = status.conditions?.find((cond) => cond.type === "PodScheduled");
    if (scheduled?.status === "False") {
        return { workload, reason: scheduled.reason ?? "Unschedulable", detail: oneLine(`pod ${pod.metadata.name}: ${scheduled.message ?? "(no message)"}`) };
    }
    const unready = containers.filter((c) => c.state?.running !== undefined && c.ready === false);
    if (unready.length > 0) {
        // A startup probe holds readiness back until it passes; the mirror gives a container with a
        // readiness probe alone one that checks the same thing (components/rewrite.ts probe-period).
        const probe = about((e) => e.reason === "Unhealthy" && /^(Readiness|Startup) probe failed/.test(e.message ?? ""));
        return {
            workload,
            reason: "ReadinessProbeFailed",
            detail: oneLine(`container ${unready[0].name} runs but is not ready: ${probe?.message ?? "no readiness probe failure recorded yet"}`),
        };
    }
    const starting = containers.find((c) => c.state?.waiting !== undefined);
    if (starting !== undefined) {
        // Stuck before the container starts (a volume, a missing ConfigMap): the pod's newest warning says why.
        const warning = about((e) => e.type === "Warning");
        return { workload, reason: warning?.reason ?? starting.state?.waiting?.reason ?? "Pending", detail: oneLine(`pod ${pod.metadata.name}: ${warning?.message ?? "still starting"}`) };
    }
    return undefined;
}

/**
 * Every unready workload and why, by kind and name. `logs` reads a container's log (undefined when
 * it cannot); the caller runs kubectl, tests pass literals.
 */
export function diagnoseWorkloads(workloads: Workload[], pods: Pod[], events: KubeEvent[], logs: (source: LogSource) => string | undefined): Finding[] {
    const findings: Finding[] = [];
    const sorted = [...workloads].sort((a, b) => `${a.kind} ${a.metadata.name}`.localeCompare(`${b.kind} ${b.metadata.name}`));
    for (const w of sorted.filter(isUnready)) {
        const id = `${w.kind} ${w.metadata.name}`;
        const mine = pods.filter((p) => ownerOf(p) === id).sort((a, b) => (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? ""));
        // The newest pod first: after an update, that is the one the rollout waits for.
        const finding = mine.map((p) => podFinding(id, p, events, logs)).find((f) => f !== undefined);
        if (finding !== undefined) {
            findings.push(finding);
            continue;
        }
        // No pod says why: the controller may not have been allowed to make one (quota, Pod Security).
        const owners = (n: string): boolean => (w.kind === "Deployment" ? n.startsWith(`${w.metadata.name}-`) : n === w.metadata.name);
        const refused = latest(events, w.kind === "Deployment" ? "ReplicaSet" : w.kind, owners, (e) => e.reason === "FailedCreate");
        if (refused !== undefined) {
            findings.push({ workload: id, reason: "FailedCreate", detail: oneLine(refused.message ?? "") });
            continue;
        }
        const s = w.status ?? {};
        const ready = w.kind === "DaemonSet" ? `${s.numberReady ?? 0} of ${s.desiredNumberScheduled ?? 0}` : `${s.readyReplicas ?? 0} of ${w.spec?.replicas ?? 1}`;
        findings.push({ workload: id, reason: "NotReady", detail: `${ready} pods ready, and no pod or event says why` });
    }
    return findings;
}

/**
 * Whether a failed `pulumi up` ended because an object did not become ready in time: only then does
 * the diagnosis replace pulumi's error. Any other failure (a refused object, a registry that is down)
 * keeps its own message, even while pods are still starting. The kubernetes provider's words, for a
 * create or update whose await failed and for its timeout.
 */
export function isReadinessFailure(pulumiError: string): boolean {
    return /failed to fully initialize or become live|timed out waiting to be Ready/.test(pulumiError);
}

/** What the message after a failed `up` says about the bound and the way on. */
export interface DiagnosisContext {
    namespace: string;
    boundSeconds: number;
    /** The flags that name the mirror again, e.g. `--branch feature/x`. */
    refFlags: string;
}

/** The error `up` fails with: each unready workload and why, then what to do. */
export function formatDiagnosis(findings: Finding[], ctx: DiagnosisContext): string {
    const lines = [
        `${findings.length} workload(s) in namespace ${ctx.namespace} were not ready within the ${ctx.boundSeconds} s bound (prod-mirror:readyTimeoutSeconds):`,
    ];
    for (const f of findings) {
        lines.push(`  ${f.workload}: ${f.reason}: ${f.detail}`);
        lines.push(...(f.log ?? []).map((l) => `    | ${l}`));
    }
    lines.push(
        `fix the service (its image, command, configuration or readiness probe) and run 'prod-mirror up ${ctx.refFlags}' again; ` +
            `if it is only slow, raise the bound with --ready-timeout (e.g. --ready-timeout 5m); 'prod-mirror down ${ctx.refFlags}' removes the mirror as it is`,
    );
    return lines.join("\n");
}

/** Reads the namespace's workloads, pods, events and crashed containers' logs with kubectl, and diagnoses them. */
export function diagnoseNamespace(namespace: string, env: NodeJS.ProcessEnv): Finding[] {
    const list = <T>(kinds: string): T[] => {
        const r = kubectl(["get", kinds, "-n", namespace, "-o", "json"], env, 30_000);
        if (!r.ok) {
            throw new Error(`kubectl get ${kinds} -n ${namespace} ${r.failure}: ${r.stderr.trim()}`);
        }
        return (JSON.parse(r.stdout) as { items: T[] }).items;
    };
    const logs = (s: LogSource): string | undefined => {
        const r = kubectl(["logs", "-n", namespace, s.pod, "-c", s.container, "--tail", String(CRASH_LOG_LINES), ...(s.previous ? ["--previous"] : [])], env, 30_000);
        return r.ok ? r.stdout : undefined;
    };
    return diagnoseWorkloads(list<Workload>("deployments,statefulsets,daemonsets"), list<Pod>("pods"), list<KubeEvent>("events"), logs);
}
