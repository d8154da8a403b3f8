// `prod-mirror reap` as CI's scheduled job runs it, on the real local environment: pointed at a
// backend that lists no stack (wiped, or the wrong one) while a mirror's namespace of its
// installation exists, it removes nothing, says why and exits non-zero. The run gets a mirrors
// directory and an installation of its own, so it can see no one else's objects and no one else's
// reap can see its namespace.
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KEYS, MANAGED_BY } from "../../components/manifests";
import { asClusterAdmin, ensureLocalEnv } from "../local/local-env";
import { cli } from "./cli-runner";
import { kubectl } from "./cluster";

describe("prod-mirror reap against an empty backend (issue 8)", function () {
    const suffix = crypto.randomBytes(3).toString("hex");
    const installation = `t-reapcli-${suffix}`;
    const stack = `reapcli-${suffix}`;
    const namespace = `pm-${stack}`;
    let env: NodeJS.ProcessEnv;
    let mirrorsDir: string;

    before(function () {
        this.timeout(90 * 60_000);
        mirrorsDir = fs.mkdtempSync(path.join(os.tmpdir(), "pm-reapcli-"));
        // The backend of this mirrors directory: the suite's own (in the environment ensureLocalEnv gives)
        // would name another, which the CLI takes for an external target's.
        env = { ...ensureLocalEnv(), PROD_MIRROR_MIRRORS_DIR: mirrorsDir, PROD_MIRROR_INSTALLATION: installation, PULUMI_BACKEND_URL: `file://${path.join(mirrorsDir, "pulumi-backend")}` };
        // A live mirror's namespace, labelled exactly as ProductionMirror labels one.
        const manifest = {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: {
                name: namespace,
                labels: { [KEYS.managedBy]: MANAGED_BY, [KEYS.installation]: installation, [KEYS.stack]: stack, "pod-security.kubernetes.io/enforce": "restricted" },
                annotations: { [KEYS.stack]: stack },
            },
        };
        const file = path.join(mirrorsDir, "namespace.json");
        fs.writeFileSync(file, JSON.stringify(manifest));
        kubectl(env, "apply", "-f", file);
    });

    after(function () {
        this.timeout(5 * 60_000);
        kubectl(asClusterAdmin(env), "delete", "namespace", namespace, "--ignore-not-found", "--wait=true");
        fs.rmSync(mirrorsDir, { recursive: true, force: true });
    });

    it("removes nothing, names the reason and exits 1, with and without --dry-run", async function () {
        this.timeout(10 * 60_000);
        for (const flags of [["--dry-run"], []]) {
            const r = await cli(env, "reap", "--min-age", "0", ...flags);
            assert.strictEqual(r.code, 1, `reap ${flags.join(" ")} exited ${r.code}:\n${r.stdout}\n${r.stderr.slice(-2000)}`);
            assert.match(r.stdout, new RegExp(`^namespace\\s+${namespace}\\s+stack=${stack}\\s+.*-> refused$`, "m"), r.stderr.slice(-2000));
            assert.ok(
                r.stdout.includes(`reap refused: the backend lists no stack of installation ${installation}, yet 1 object(s) of it exist (namespace ${namespace}): ` +
                    "a wiped or wrong backend would make every one of them look orphaned, so reap removes nothing."),
                `no refusal in:\n${r.stdout}`,
            );
            assert.strictEqual(kubectl(env, "get", "namespace", namespace, "-o", "jsonpath={.status.phase}"), "Active");
        }
    });
});
