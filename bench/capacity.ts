// Whether N more mirrors fit on the cluster's CPU requests, decided before making them: a mirror that
// does not fit waits Pending until Pulumi's await times out (minutes), which would measure nothing.
// Pure: main.ts passes kubectl's JSON.

/* eslint-disable @typescript-eslint/no-explicit-any -- kubectl's JSON, read generically */

/** `50m` → 50, `1` → 1000, `0.5` → 500 (millicores); undefined when absent or unreadable. */
export function cpuMillis(quantity: unknown): number | undefined {
    if (typeof quantity !== "string" && typeof quantity !== "number") {
        return undefined;
    }
    const m = /^([0-9]+(?:\.[0-9]+)?)(m?)$/.exec(String(quantity).trim());
    if (m === null) {
        return undefined;
    }
    return m[2] === "m" ? Number(m[1]) : Math.round(Number(m[1]) * 1000);
}

/** A pod spec's CPU request as the scheduler counts it: the larger of its containers' sum and any one init container. */
export function podCpuRequest(spec: any, defaultRequest = 0): number {
    const of = (c: any): number => cpuMillis(c?.resources?.requests?.cpu) ?? cpuMillis(c?.resources?.limits?.cpu) ?? defaultRequest;
    const running = (spec?.containers ?? []).reduce((sum: number, c: any) => sum + of(c), 0);
    return Math.max(running, ...(spec?.initContainers ?? []).map(of));
}

/** What one mirror keeps requested: its Deployments' pods (a completed Job holds nothing), with the LimitRange's default where a container sets none. */
export function mirrorCpuRequest(objects: readonly any[]): number {
    const limitRange = objects.find((o) => o.kind === "LimitRange");
    const fallback = cpuMillis(limitRange?.spec?.limits?.find((l: any) => l.type === "Container")?.defaultRequest?.cpu) ?? 0;
    return objects
        .filter((o) => o.kind === "Deployment")
        .reduce((sum, d) => sum + (d.spec?.replicas ?? 1) * podCpuRequest(d.spec?.template?.spec, fallback), 0);
}

/** Allocatable CPU of the schedulable nodes minus what their running pods request. */
export function freeCpu(nodes: readonly any[], pods: readonly any[]): number {
    const allocatable = nodes.filter((n) => n.spec?.unschedulable !== true).reduce((sum, n) => sum + (cpuMillis(n.status?.allocatable?.cpu) ?? 0), 0);
    const requested = pods
        .filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed")
        .reduce((sum, p) => sum + podCpuRequest(p.spec), 0);
    return allocatable - requested;
}

export type LevelChoice = { level: number; fallback?: string } | { skipped: string };

/**
 * How many live mirrors to measure one more against, for `wanted` with `live` made already: `wanted`
 * when it and the measured one fit in `free`, else the most that fit if that is above the last level
 * measured (with why), else none (with why).
 */
export function chooseLevel(wanted: number, live: number, lastMeasured: number, perMirror: number, free: number): LevelChoice {
    const needed = (wanted - live + 1) * perMirror;
    if (needed <= free) {
        return { level: wanted };
    }
    const why = `${wanted} live did not fit: ${wanted - live + 1} more mirror(s) request ${needed}m CPU (${perMirror}m each), the cluster had ${free}m unrequested`;
    const most = live + Math.floor(free / perMirror) - 1;
    return most > lastMeasured ? { level: most, fallback: why } : { skipped: why };
}
