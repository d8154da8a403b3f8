import * as assert from "assert";
import * as os from "os";
import { cliInstallation } from "../../cli/installation";

describe("cli: installation identity", () => {
    // The literal is sha256("prod-mirror\nfile:///var/lib/pm-state") as `sha256sum` prints it: a change of the rule shows here.
    it("derives i-<hash12> from project and backend URL, the same for every spelling of one backend", () => {
        const a = cliInstallation({ PULUMI_BACKEND_URL: "file:///var/lib/pm-state" });
        assert.strictEqual(a, "i-747d27d68550");
        assert.strictEqual(cliInstallation({ PULUMI_BACKEND_URL: "file:///var/lib/pm-state/" }), a);
        assert.strictEqual(cliInstallation({ PULUMI_BACKEND_URL: "file://~/x" }), cliInstallation({ PULUMI_BACKEND_URL: `file://${os.homedir()}/x` }));
        assert.notStrictEqual(cliInstallation({ PULUMI_BACKEND_URL: "file:///var/lib/other" }), a, "another backend is another installation");
        // sha256("prod-mirror\ns3://bucket/state"), by `sha256sum`: every trailing slash goes, not only the last.
        for (const url of ["s3://bucket/state", "s3://bucket/state/", "s3://bucket/state//"]) {
            assert.strictEqual(cliInstallation({ PULUMI_BACKEND_URL: url }), "i-ed39e8eda7c2", url);
        }
    });

    it("derives the id when PROD_MIRROR_INSTALLATION is set but empty", () => {
        assert.strictEqual(cliInstallation({ PROD_MIRROR_INSTALLATION: "", PULUMI_BACKEND_URL: "file:///var/lib/pm-state" }), "i-747d27d68550");
    });

    it("takes PROD_MIRROR_INSTALLATION when set, validated", () => {
        assert.strictEqual(cliInstallation({ PROD_MIRROR_INSTALLATION: "team-a", PULUMI_BACKEND_URL: "file:///x" }), "team-a");
        assert.throws(() => cliInstallation({ PROD_MIRROR_INSTALLATION: "Team A" }), {
            message: 'PROD_MIRROR_INSTALLATION "Team A" is invalid: expected 1 to 40 lowercase letters, digits and hyphens, starting and ending with a letter or digit, e.g. PROD_MIRROR_INSTALLATION=team-a',
        });
    });

    it("refuses to guess without a backend URL or an explicit id", () => {
        const message =
            "cannot tell which installation this is: neither PROD_MIRROR_INSTALLATION nor PULUMI_BACKEND_URL is set. Set PULUMI_BACKEND_URL to the backend " +
            "your stacks live on, or PROD_MIRROR_INSTALLATION=<id> (1 to 40 lowercase letters, digits and hyphens, starting and ending with a letter or digit), " +
            "e.g. PROD_MIRROR_INSTALLATION=team-a";
        assert.throws(() => cliInstallation({}), { message });
        assert.throws(() => cliInstallation({ PULUMI_BACKEND_URL: "", PROD_MIRROR_INSTALLATION: "" }), { message });
    });
});
