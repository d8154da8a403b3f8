import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { LateValues } from "../../components/late-values";
import { useMocks, valueOf } from "./mocks";

describe("late values: placeholders through the rewrite, Outputs back before registration", () => {
    it("keeps a plain string as it is, and gives each Output a placeholder of its own", async () => {
        await useMocks(false);
        const late = new LateValues();
        assert.strictEqual(late.placeholder("pm-pull"), "pm-pull");
        const a = late.placeholder(pulumi.output("digest-a"));
        const b = late.placeholder(pulumi.output("digest-b"));
        assert.notStrictEqual(a, b);
        assert.match(a, /^prod-mirror-late-[0-9a-f]{12}-0$/);
        assert.match(b, /^prod-mirror-late-[0-9a-f]{12}-1$/);
        assert.notStrictEqual(new LateValues().placeholder(pulumi.output("x")), a, "two mirrors' placeholders never meet");
    });

    it("fills placeholders back as their Outputs at any depth, and leaves everything else alone", async () => {
        await useMocks(false);
        const late = new LateValues();
        const image = late.placeholder(pulumi.output("127.0.0.1:5000/prod-mirror/api@sha256:00"));
        const filled = late.fill({ spec: { containers: [{ image, ports: [{ containerPort: 8080 }], name: "api" }], paused: false, note: null } });
        assert.deepStrictEqual(await valueOf(pulumi.output(filled)), {
            spec: { containers: [{ image: "127.0.0.1:5000/prod-mirror/api@sha256:00", ports: [{ containerPort: 8080 }], name: "api" }], paused: false, note: null },
        });
    });

    it("refuses a placeholder built into a longer string instead of half-filling it", async () => {
        await useMocks(false);
        const late = new LateValues();
        const url = late.placeholder(pulumi.output("http://emulator:4566"));
        assert.throws(() => late.fill({ env: [{ value: `${url}/queue` }] }), (err: Error) => err.message.startsWith(`a late value was built into a longer string ("${url}/queue")`));
        // Another mirror's placeholder is not this one's: left as the text it is.
        assert.deepStrictEqual(late.fill("prod-mirror-late-000000000000-0"), "prod-mirror-late-000000000000-0");
    });
});
