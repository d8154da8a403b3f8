// The README's plain-Pulumi commands as data: the fenced bash block after each
// `<!-- plain-pulumi:<name> -->` marker, and which step of the flow each line is. Pure, so that a
// moved marker or a dropped step fails with a message that says so, not with a confusing run.

/** The steps the flow must have, in this order; a line matching none is run and checked like any other. */
export const FLOW_STEPS = [
    { step: "template", pattern: /^cp Pulumi\.ci\.yaml Pulumi\.\S+\.yaml(\s|$)/ },
    { step: "stack", pattern: /^pulumi stack (select --create|init) \S+/ },
    { step: "secret", pattern: /^pulumi config set --secret prod-mirror:registryPassword / },
    { step: "up", pattern: /^pulumi up(\s|$)/ },
    { step: "outputs", pattern: /^pulumi stack output --json(\s|$)/ },
    { step: "destroy", pattern: /^pulumi destroy(\s|$)/ },
    { step: "rm", pattern: /^pulumi stack rm(\s|$)/ },
] as const;

export type FlowStep = (typeof FLOW_STEPS)[number]["step"];

export interface FlowLine {
    /** The line exactly as the README writes it (comment included: bash ignores it). */
    text: string;
    step?: FlowStep;
}

/** The command lines of the ```bash block right after `<!-- plain-pulumi:<name> -->`. */
export function readmeBlock(markdown: string, name: string): string[] {
    const marker = `<!-- plain-pulumi:${name} -->`;
    const lines = markdown.split("\n");
    const at = lines.flatMap((line, i) => (line.trim() === marker ? [i] : []));
    if (at.length !== 1) {
        throw new Error(`README.md has ${at.length} lines "${marker}", expected exactly one, right above the \`\`\`bash block it marks`);
    }
    if (lines[at[0] + 1]?.trim() !== "```bash") {
        throw new Error(`README.md: the line after "${marker}" must open the block with \`\`\`bash, found ${JSON.stringify(lines[at[0] + 1] ?? "(end of file)")}`);
    }
    const end = lines.findIndex((line, i) => i > at[0] + 1 && line.trim() === "```");
    if (end === -1) {
        throw new Error(`README.md: the block after "${marker}" is never closed with \`\`\``);
    }
    return lines.slice(at[0] + 2, end).map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("#"));
}

/** Labels each line with its step; throws unless every step is there, once, in FLOW_STEPS order. */
export function classifyFlow(lines: string[]): FlowLine[] {
    const labelled = lines.map((text) => ({ text, step: FLOW_STEPS.find((s) => s.pattern.test(text))?.step }));
    const order = labelled.flatMap((l) => (l.step === undefined ? [] : [l.step]));
    const expected = FLOW_STEPS.map((s) => s.step);
    if (JSON.stringify(order) !== JSON.stringify(expected)) {
        throw new Error(`README.md's plain-Pulumi flow has the steps [${order.join(", ")}], expected [${expected.join(", ")}], ` +
            `one line each (${FLOW_STEPS.map((s) => `${s.step}: ${s.pattern.source}`).join("; ")})`);
    }
    return labelled;
}
