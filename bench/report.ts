// docs/benchmarks.md from one run's figures. Pure: the caller gathers the machine and versions.
import { ratioLine, stepTable, type Step } from "./stats";

export interface Facts {
    date: string;
    command: string;
    commit: string;
    machine: string[];
    versions: string[];
}

export interface Results {
    /** The alternating steps: baseline and prod-mirror side by side. */
    main: Step[];
    images: Step[];
    growth: Step[];
    listing: Step[];
    ratios: string[];
    /** What the baseline applies, `Kind/name`, and how it was checked against the stack. */
    baseline: string[];
    notes: string[];
}

/** The ratio lines the issue asks for, from the steps named here. */
export function headlineRatios(kubectlReady: number[], pulumiUp: number[], command: number[], down: number[], deleteNs: number[], renew: number[]): string[] {
    return [
        ratioLine("up/kubectl", pulumiUp, kubectlReady),
        ratioLine("command/kubectl", command, kubectlReady),
        ratioLine("down/delete-namespace", down, deleteNs),
        ratioLine("renewing-up/kubectl", renew, kubectlReady),
    ];
}

export function renderReport(facts: Facts, results: Results): string {
    const bullets = (lines: readonly string[]): string => lines.map((l) => `- ${l}`).join("\n");
    return `# Benchmarks

Written by \`npm run bench\` (bench/main.ts); do not edit by hand, run it again. Figures are wall-clock
seconds on the machine below, the local environment warm (images' layers already in the registry),
each prod-mirror step alternating with the kubectl baseline in the same run on the same cluster.

- date: ${facts.date}
- command: \`${facts.command}\`
- commit: ${facts.commit}

## Machine
${bullets(facts.machine)}

## Versions
${bullets(facts.versions)}

## Ratios (medians)
\`\`\`
${results.ratios.join("\n")}
\`\`\`

## A ready mirror and nothing left: kubectl baseline vs prod-mirror
${stepTable(results.main)}
## The image step on its own
${stepTable(results.images)}
## Growth: one more mirror with others live
${stepTable(results.growth)}
## \`ls\` and \`reap --dry-run\` against many stacks
${stepTable(results.listing)}
## What the baseline applies
The objects of a real mirror made by \`prod-mirror up\` in this run, read back with \`kubectl get -o json\`
(those carrying its stack label and no owner, plus its namespace), with the fields the API server sets
removed, moved to a fresh namespace, applied with one \`kubectl apply -f\` and awaited with
\`kubectl wait --for=condition=complete job --all\` and \`kubectl wait --for=condition=available deployment --all\`.

${bullets(results.baseline)}

## Notes
${bullets(results.notes)}
`;
}
