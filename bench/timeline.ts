// The profile's arithmetic (bench/profile.ts), kept pure for its unit test.

/** One resource's step in an update, in ms since the update started; `end` is unset when it never finished. */
export interface ResourceSpan {
    urn: string;
    type: string;
    op: string;
    start: number;
    end?: number;
}

export interface ProfileRow {
    name: string;
    type: string;
    op: string;
    start: number;
    end?: number;
}

/** The resource's own name: the URN's last `::` part. */
function shortName(urn: string): string {
    return urn.slice(urn.lastIndexOf("::") + 2);
}

/** The spans sorted by start, then end, named by their short names. */
export function profileRows(spans: readonly ResourceSpan[]): ProfileRow[] {
    return [...spans]
        .sort((a, b) => a.start - b.start || (a.end ?? Infinity) - (b.end ?? Infinity))
        .map((s) => ({ name: shortName(s.urn), type: s.type, op: s.op, start: s.start, end: s.end }));
}

const sec = (ms: number): string => (ms / 1000).toFixed(1).padStart(6);

/**
 * A table of each step's start, end and duration in seconds, then three lines: the time before the
 * first step began (language host, program, providers), the step that ended last, and the time after it.
 */
export function profileTable(rows: readonly ProfileRow[], totalMs: number): string {
    const lines = [`${"start".padStart(6)} ${"end".padStart(6)} ${"took".padStart(6)}  op       type / name`];
    for (const r of rows) {
        const end = r.end === undefined ? "     -" : sec(r.end);
        const took = r.end === undefined ? "     -" : sec(r.end - r.start);
        lines.push(`${sec(r.start)} ${end} ${took}  ${r.op.padEnd(8)} ${r.type} ${r.name}`);
    }
    const first = rows.length === 0 ? totalMs : Math.min(...rows.map((r) => r.start));
    const finished = rows.filter((r) => r.end !== undefined);
    const last = finished.reduce<ProfileRow | undefined>((a, r) => (a === undefined || (r.end as number) > (a.end as number) ? r : a), undefined);
    lines.push("");
    lines.push(`before the first step: ${sec(first).trim()} s (language host, program start, provider start)`);
    if (last !== undefined) {
        lines.push(`last to finish: ${last.type} ${last.name} at ${sec(last.end as number).trim()} s`);
        lines.push(`after it: ${sec(totalMs - (last.end as number)).trim()} s (outputs, state, engine exit)`);
    }
    lines.push(`pulumi up in all: ${sec(totalMs).trim()} s`);
    return `${lines.join("\n")}\n`;
}
