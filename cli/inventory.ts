// `prod-mirror ls`: the live mirrors on the backend, from each stack's summary and the tags the
// CLI stamps, without reading any stack's state (so it stays fast with many mirrors).
import { LocalWorkspace, type StackSummary } from "@pulumi/pulumi/automation";
import { repoRoot } from "./local-environment";
import { TAGS } from "./stack";
import { usableStacks } from "./stack-path";

export type MirrorStatus = "updating" | "expired" | "empty" | "live";

export interface MirrorRow {
    stack: string;
    branch: string;
    /** ISO timestamps, or undefined when the stack was not made by this CLI. */
    createdAt?: string;
    expiresAt?: string;
    lastUpdate?: string;
    status: MirrorStatus;
    entryUrl?: string;
    resourceCount?: number;
}

/** A stack's row, from its summary and tags. Pure. */
export function mirrorRow(summary: StackSummary, tags: Record<string, string>, now: Date): MirrorRow {
    const expiresAt = tags[TAGS.expiresAt];
    let status: MirrorStatus = "live";
    if (summary.updateInProgress === true) {
        status = "updating";
    } else if (expiresAt !== undefined && Date.parse(expiresAt) <= now.getTime()) {
        status = "expired";
    } else if ((summary.resourceCount ?? 0) === 0) {
        status = "empty";
    }
    return {
        stack: summary.name,
        branch: tags[TAGS.branch] ?? "?",
        createdAt: tags[TAGS.createdAt],
        expiresAt,
        lastUpdate: summary.lastUpdate,
        status,
        entryUrl: tags[TAGS.entryUrl],
        resourceCount: summary.resourceCount,
    };
}

/** `3d4h`, `5h12m`, `7m`: how long ago (or from now, for a future time). */
export function humanDuration(fromIso: string | undefined, to: Date): string {
    if (fromIso === undefined || Number.isNaN(Date.parse(fromIso))) {
        return "-";
    }
    let minutes = Math.floor(Math.abs(to.getTime() - Date.parse(fromIso)) / 60_000);
    const days = Math.floor(minutes / 1440);
    minutes -= days * 1440;
    const hours = Math.floor(minutes / 60);
    minutes -= hours * 60;
    if (days > 0) {
        return `${days}d${hours}h`;
    }
    return hours > 0 ? `${hours}h${minutes}m` : `${minutes}m`;
}

/** The table `ls` prints. Pure. */
export function formatMirrorTable(rows: MirrorRow[], now: Date): string {
    if (rows.length === 0) {
        return "no mirrors on this backend\n";
    }
    const header = ["BRANCH", "STACK", "AGE", "EXPIRES IN", "LAST UPDATE", "STATUS", "ENTRY"];
    const lines = rows.map((r) => [
        r.branch,
        r.stack,
        humanDuration(r.createdAt, now),
        r.expiresAt === undefined ? "-" : Date.parse(r.expiresAt) <= now.getTime() ? "expired" : humanDuration(r.expiresAt, now),
        r.lastUpdate === undefined ? "-" : `${humanDuration(r.lastUpdate, now)} ago`,
        r.status,
        r.entryUrl ?? "-",
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    return [header, ...lines].map((cells) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ")).join("\n") + "\n";
}

/**
 * Every stack of the project on the current backend, as rows, sorted by branch. A stack whose name
 * could leave a directory or garble the table is left out, and `log` says which and why.
 */
export async function listMirrors(now: Date, log: (line: string) => void): Promise<MirrorRow[]> {
    const workspace = await LocalWorkspace.create({ workDir: repoRoot });
    const { usable, skipped } = usableStacks(await workspace.listStacks());
    for (const s of skipped) {
        log(`skipped stack ${s.quoted}: ${s.reason}`);
    }
    const rows: MirrorRow[] = [];
    for (const summary of usable) {
        rows.push(mirrorRow(summary, await workspace.listTags(summary.name), now));
    }
    return rows.sort((a, b) => a.branch.localeCompare(b.branch) || a.stack.localeCompare(b.stack));
}
