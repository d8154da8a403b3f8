// The one way the CLI takes a stack's name from a backend and puts it into a file path: a listed
// name may be anything, so listings are split by naming.stackNameProblem, and a name is checked
// again (naming.checkedStackName) right where it would become a path.
import * as path from "path";
import { checkedStackName, stackNameProblem } from "../components/naming";

/** `<dir>/<stack><suffix>`; throws NamingError for a stack name that could leave `dir`. */
export function stackPath(dir: string, stackName: string, suffix = ""): string {
    return path.join(dir, `${checkedStackName(stackName)}${suffix}`);
}

/** A stack a backend listed under a name the CLI will not use, and why. */
export interface SkippedStack {
    /** The listed name, JSON-quoted so that control characters cannot garble a report or a terminal. */
    quoted: string;
    reason: string;
}

/** Splits a backend's listing into the stacks whose names stackNameProblem accepts and the rest. */
export function usableStacks<T extends { name: string }>(listed: readonly T[]): { usable: T[]; skipped: SkippedStack[] } {
    const usable: T[] = [];
    const skipped: SkippedStack[] = [];
    for (const stack of listed) {
        const problem = stackNameProblem(stack.name);
        if (problem === undefined) {
            usable.push(stack);
        } else {
            skipped.push({ quoted: JSON.stringify(stack.name), reason: `unusable stack name: ${problem}` });
        }
    }
    return { usable, skipped };
}
