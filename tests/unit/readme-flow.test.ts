// The README's plain-Pulumi blocks, read the way tests/integration/plain-pulumi-flow.test.ts reads
// them: the real README must parse and have every step, a broken README must fail with a message that
// says what is wrong, and the template's header comment must give the same commands.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { classifyFlow, readmeBlock } from "../integration/readme-flow";

const root = path.resolve(__dirname, "..", "..");
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");

const FLOW = [
    "cp Pulumi.ci.yaml Pulumi.feature-login.yaml",
    "pulumi stack select --create feature-login",
    'pulumi config set --secret prod-mirror:registryPassword "$REGISTRY_PULL_PASSWORD"',
    "pulumi up --yes",
    "pulumi stack output --json",
    "pulumi destroy --yes",
    "pulumi stack rm --yes",
];
const block = (lines: string[]): string => ["<!-- plain-pulumi:flow -->", "```bash", ...lines, "```", ""].join("\n");
const withoutComment = (line: string): string => line.replace(/\s+#.*$/, "");

describe("the README's plain-Pulumi blocks", () => {
    it("has the flow in the README, every step once and in order", () => {
        const lines = readmeBlock(readme, "flow");
        assert.deepStrictEqual(lines.map(withoutComment), FLOW);
        assert.deepStrictEqual(classifyFlow(lines).map((l) => l.step), ["template", "stack", "secret", "up", "outputs", "destroy", "rm"]);
    });

    it("runs without a terminal, as CI does: every command that would ask has --yes", () => {
        for (const line of readmeBlock(readme, "flow").filter((l) => /^pulumi (up|destroy|stack rm)\b/.test(l))) {
            assert.match(line, / --yes\b/, `${line} asks for confirmation in CI`);
        }
    });

    it("has the environment block: the local default's variables and the registry password", () => {
        assert.deepStrictEqual(readmeBlock(readme, "environment").map(withoutComment), [
            'eval "$(bash local/env.sh shellenv)"',
            'set -a && . "$PROD_MIRROR_STATE/registry/credentials.env" && set +a',
        ]);
    });

    it("gives the same first commands in Pulumi.ci.yaml's header, for any stack", () => {
        const header = fs.readFileSync(path.join(root, "Pulumi.ci.yaml"), "utf8").split("\n")
            .filter((l) => /^#\s+(cp|pulumi) /.test(l)).map((l) => l.replace(/^#\s+/, ""));
        assert.deepStrictEqual(header, FLOW.slice(0, 3).map((l) => l.split("feature-login").join("<stack>")));
    });

    it("skips blank and comment lines and keeps a trailing comment on its command", () => {
        assert.deepStrictEqual(readmeBlock(block(["", "# setup", "pulumi up --yes   # deploys", "  "]), "flow"), ["pulumi up --yes   # deploys"]);
    });

    it("fails when the marker is missing or twice in the README", () => {
        assert.throws(() => readmeBlock("# README\n```bash\npulumi up\n```\n", "flow"),
            { message: 'README.md has 0 lines "<!-- plain-pulumi:flow -->", expected exactly one, right above the ```bash block it marks' });
        assert.throws(() => readmeBlock(block(FLOW) + block(FLOW), "flow"), /README\.md has 2 lines "<!-- plain-pulumi:flow -->"/);
    });

    it("fails when the marker is not right above a ```bash block, or the block is not closed", () => {
        assert.throws(() => readmeBlock("<!-- plain-pulumi:flow -->\n\n```bash\npulumi up\n```\n", "flow"),
            { message: 'README.md: the line after "<!-- plain-pulumi:flow -->" must open the block with ```bash, found ""' });
        assert.throws(() => readmeBlock("<!-- plain-pulumi:flow -->\n```bash\npulumi up\n", "flow"),
            { message: 'README.md: the block after "<!-- plain-pulumi:flow -->" is never closed with ```' });
    });

    it("fails when a step is missing, doubled or out of order, naming the steps it found", () => {
        assert.throws(() => classifyFlow(FLOW.filter((l) => !l.startsWith("cp "))),
            /has the steps \[stack, secret, up, outputs, destroy, rm\], expected \[template, stack, secret, up, outputs, destroy, rm\]/);
        assert.throws(() => classifyFlow(["pulumi stack init feature-login --copy-config-from ci", ...FLOW.slice(2)]),
            /has the steps \[stack, secret, up, outputs, destroy, rm\]/);
        assert.throws(() => classifyFlow([...FLOW.slice(0, 5), "pulumi destroy --yes && pulumi stack rm --yes"]),
            /has the steps \[template, stack, secret, up, outputs, destroy\], expected/);
        assert.throws(() => classifyFlow([FLOW[1], FLOW[0], ...FLOW.slice(2)]), /has the steps \[stack, template, secret/);
    });
});
