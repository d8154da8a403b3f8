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
        assert.strictEqual(cliInstallation({ PULUMI_BACKEND_URL: "s3://bucket/state/" }), cliInstallation({ PULUMI_BACKEND_URL: "s3://bucket/state" }));
    });

    it("takes PROD_MIRROR_INSTALLATION when set, validated", () => {
        assert.strictEqual(cliInstallation({ PROD_MIRROR_INSTALLATION: "team-a", PULUMI_BACKEND_URL: "file:///x" }), "team-a");
        assert.throws(() => cliInstallation({ PROD_MIRROR_INSTALLATION: "Team A" }), {
            message: 'PROD_MIRROR_INSTALLATION "Team A" is invalid: expected 1 to 40 lowercase letters, digits and hyphens, starting and ending with a letter or digit, e.g. PROD_MIRROR_INSTALLATION=team-a',
        });
    });

    it("refuses to guess without a backend URL or an explicit id", () => {
        assert.throws(() => cliInstallation({}), { message: /^cannot tell which installation this is: neither PROD_MIRROR_INSTALLATION nor PULUMI_BACKEND_URL is set\. / });
    });
});
