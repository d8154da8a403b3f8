// The least-privilege identity of access/ on the real local cluster: the group prod-mirror:operators
// (local/env.sh shellenv's KUBECONFIG) is refused in kube-system, in a namespace not named for a
// mirror, and for cluster-scoped objects, by RBAC (`kubectl auth can-i`) or by the CEL admission
// policy; yet `up`, `outputs`, `down` and `reap` run with it from start to end.
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import { repoRoot } from "../../cli/local-environment";
import { TAGS } from "../../cli/stack";
import { KEYS, MANAGED_BY, OPERATOR_GROUP } from "../../components/manifests";
import { stackName as stackNameFor } from "../../components/naming";
import { ensureLocalEnv } from "../local/local-env";
import { cli, expectOk } from "./cli-runner";
import { kubectl } from "./cluster";

const VAP = (rule: string): RegExp => new RegExp(`ValidatingAdmissionPolicy 'prod-mirror-operators' with binding 'prod-mirror-operators' denied request: ${rule}`);

describe("restricted identity prod-mirror:operators (access/)", function () {
    const suffix = crypto.randomBytes(3).toString("hex");
    const foreign = `it-foreign-${suffix}`;
    let env: NodeJS.ProcessEnv;
    let admin: NodeJS.ProcessEnv;

    /** kubectl as the restricted identity, for a refusal: its exit status and stderr. */
    const attempt = (input: unknown, ...args: string[]): { status: number | null; stderr: string } => {
        const r = spawnSync("kubectl", args, { env, input: input === undefined ? undefined : JSON.stringify(input), encoding: "utf8" });
        return { status: r.status, stderr: r.stderr };
    };
    const mirrorLabels = (stack: string, enforce = "restricted"): Record<string, string> => ({
        [KEYS.managedBy]: MANAGED_BY,
        [KEYS.stack]: stack,
        "pod-security.kubernetes.io/enforce": enforce,
    });
    const namespace = (name: string, labels: Record<string, string>): unknown => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
    const operatorBinding = (ns: string, group = OPERATOR_GROUP): unknown => ({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "operators", namespace: ns },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "prod-mirror:mirror-admin" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: group }],
    });

    before(function () {
        this.timeout(90 * 60_000);
        env = ensureLocalEnv();
        assert.ok(env.PROD_MIRROR_ADMIN_KUBECONFIG, "local/env.sh shellenv exports no PROD_MIRROR_ADMIN_KUBECONFIG");
        admin = { ...env, KUBECONFIG: env.PROD_MIRROR_ADMIN_KUBECONFIG };
        // A namespace that is someone else's, with a Secret in it, made with cluster-admin.
        kubectl(admin, "create", "namespace", foreign);
        kubectl(admin, "-n", foreign, "create", "secret", "generic", "theirs", "--from-literal=k=v");
    });

    after(function () {
        this.timeout(5 * 60_000);
        kubectl(admin, "delete", "namespace", foreign, `pm-it-access-${suffix}`, "--ignore-not-found", "--wait=false");
    });

    it("is the group prod-mirror:operators, not system:masters", function () {
        this.timeout(60_000);
        const groups = JSON.parse(kubectl(env, "auth", "whoami", "-o", "json")).status.userInfo.groups as string[];
        assert.deepStrictEqual(groups.sort(), [OPERATOR_GROUP, "system:authenticated"]);
    });

    it("is refused by RBAC (kubectl auth can-i) in kube-system, in another namespace and for cluster-scoped objects", function () {
        this.timeout(60_000);
        const asked: Array<[string, string, string | undefined]> = [
            ["get", "secrets", "kube-system"],
            ["create", "pods", "kube-system"],
            ["list", "secrets", foreign],
            ["create", "deployments", foreign],
            ["list", "secrets", undefined], // -A
            ["list", "nodes", undefined],
            ["create", "clusterroles", undefined],
            ["create", "clusterrolebindings", undefined],
            ["delete", "persistentvolumes", undefined],
            ["create", "validatingadmissionpolicies.admissionregistration.k8s.io", undefined],
            ["bind", "clusterroles/cluster-admin", undefined],
            ["bind", "clusterroles/admin", undefined],
        ];
        const answers = asked.map(([verb, resource, ns]) => {
            const r = spawnSync("kubectl", ["auth", "can-i", verb, resource, ...(ns === undefined ? ["-A"] : ["-n", ns])], { env, encoding: "utf8" });
            return `${verb} ${resource} ${ns ?? "-A"}: ${r.stdout.trim()}`;
        });
        assert.deepStrictEqual(answers, asked.map(([verb, resource, ns]) => `${verb} ${resource} ${ns ?? "-A"}: no`));
    });

    it("is refused by an actual attempt: Secrets elsewhere, nodes, ClusterRoles, RoleBindings outside mirrors", function () {
        this.timeout(60_000);
        const forbidden = (what: string, r: { status: number | null; stderr: string }, pattern: RegExp): void => {
            assert.notStrictEqual(r.status, 0, `${what} succeeded`);
            assert.match(r.stderr, pattern, what);
        };
        forbidden("read a Secret in kube-system", attempt(undefined, "get", "secrets", "-n", "kube-system"), /secrets is forbidden: User "prod-mirror-operator" cannot list resource "secrets" in API group "" in the namespace "kube-system"/);
        forbidden("read the foreign Secret", attempt(undefined, "get", "secret", "theirs", "-n", foreign), new RegExp(`cannot get resource "secrets" in API group "" in the namespace "${foreign}"`));
        forbidden("list nodes", attempt(undefined, "get", "nodes"), /cannot list resource "nodes" in API group "" at the cluster scope/);
        const role = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: `it-access-${suffix}` }, rules: [] };
        forbidden("create a ClusterRole", attempt(role, "create", "-f", "-"), /cannot create resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope/);
        forbidden("bind itself admin in kube-system", attempt(operatorBinding("kube-system"), "create", "-f", "-"), VAP("prod-mirror:operators may only write namespace kube-system if its name starts with pm-"));
        forbidden("bind itself admin in the foreign namespace", attempt(operatorBinding(foreign), "create", "-f", "-"), VAP(`prod-mirror:operators may only write namespace ${foreign} if its name starts with pm-`));
    });

    it("creates, changes and deletes only namespaces named pm-* with prod-mirror's labels and Pod Security restricted, and binds in them only itself", function () {
        this.timeout(3 * 60_000);
        const refused = (what: string, input: unknown, args: string[], rule: string): void => {
            const r = attempt(input, ...args);
            assert.notStrictEqual(r.status, 0, `${what} succeeded`);
            assert.match(r.stderr, VAP(rule), what);
        };
        const stack = `it-access-${suffix}`;
        const mine = `pm-it-access-${suffix}`;
        refused("a namespace named otherwise", namespace(`it-other-${suffix}`, mirrorLabels(stack)), ["create", "-f", "-"], `prod-mirror:operators may only write namespace it-other-${suffix} if its name starts with pm-`);
        refused("a pm- namespace without the labels", namespace(mine, { "pod-security.kubernetes.io/enforce": "restricted" }), ["create", "-f", "-"],
            `prod-mirror:operators may only write namespace ${mine} if it carries the labels app.kubernetes.io/managed-by=prod-mirror and prod-mirror.dev/stack`);
        refused("a pm- namespace with Pod Security privileged", namespace(mine, mirrorLabels(stack, "privileged")), ["create", "-f", "-"],
            `prod-mirror:operators may only write namespace ${mine} with the label pod-security.kubernetes.io/enforce=restricted`);
        refused("deleting the foreign namespace", undefined, ["delete", "namespace", foreign], `prod-mirror:operators may only write namespace ${foreign} if its name starts with pm-`);
        refused("relabelling kube-system", undefined, ["label", "namespace", "kube-system", `${KEYS.managedBy}=${MANAGED_BY}`], "prod-mirror:operators may only write namespace kube-system if its name starts with pm-");
        assert.strictEqual(kubectl(admin, "get", "namespace", foreign, "-o", "jsonpath={.status.phase}"), "Active");

        // What a mirror does: its namespace, the binding, then anything inside.
        const made = attempt(namespace(mine, mirrorLabels(stack)), "create", "-f", "-");
        assert.strictEqual(made.status, 0, made.stderr);
        refused("binding prod-mirror:mirror-admin to another group", operatorBinding(mine, "system:serviceaccounts"), ["create", "-f", "-"], "prod-mirror:operators may bind prod-mirror:mirror-admin only to the group prod-mirror:operators");
        const bound = attempt(operatorBinding(mine), "create", "-f", "-");
        assert.strictEqual(bound.status, 0, bound.stderr);
        const secret = attempt(undefined, "-n", mine, "create", "secret", "generic", "ours", "--from-literal=k=v");
        assert.strictEqual(secret.status, 0, secret.stderr);
        refused("dropping the stack label", undefined, ["label", "namespace", mine, `${KEYS.stack}-`],
            `prod-mirror:operators may only write namespace ${mine} if it carries the labels app.kubernetes.io/managed-by=prod-mirror and prod-mirror.dev/stack`);
        const gone = attempt(undefined, "delete", "namespace", mine, "--wait=false");
        assert.strictEqual(gone.status, 0, gone.stderr);
    });

    it("runs up, outputs, down and reap with it", async function () {
        this.timeout(30 * 60_000);
        const commit = "0123456789abcdef0123456789abcdef01234567";
        const downed = `it/access-down-${suffix}`;
        const reaped = `it/access-reap-${suffix}`;
        try {
            expectOk("up", await cli(env, "up", "--branch", downed, "--commit", commit, "--ttl", "1h", "--no-forward"));
            const outputs = await cli(env, "outputs", "--branch", downed);
            expectOk("outputs", outputs);
            const ns = JSON.parse(outputs.stdout).namespace as string;
            assert.strictEqual(kubectl(env, "-n", ns, "get", "rolebindings", "-o", "jsonpath={.items[*].roleRef.name}"), "prod-mirror:mirror-admin");
            const down = await cli(env, "down", "--branch", downed);
            expectOk("down", down);
            assert.match(down.stderr, /nothing labelled with it is left/);
            assert.strictEqual(kubectl(admin, "get", "namespace", ns, "--ignore-not-found").trim(), "");

            expectOk("up", await cli(env, "up", "--branch", reaped, "--commit", commit, "--ttl", "1h", "--no-forward"));
            const stack = stackNameFor(reaped);
            // Expired a minute ago, by the tag and the config reap reads.
            const past = new Date(Date.now() - 60_000).toISOString();
            const pulumi = (...args: string[]): string => execFileSync("pulumi", [...args, "--stack", stack, "--non-interactive"], { cwd: repoRoot, env, encoding: "utf8" });
            pulumi("stack", "tag", "set", TAGS.expiresAt, past);
            pulumi("config", "set", "prod-mirror:expiresAt", past);
            const reap = await cli(env, "reap", "--min-age", "0");
            expectOk("reap", reap);
            assert.match(reap.stdout, new RegExp(`^stack\\s+${stack}\\s+.*expired at ${past.replace(/\./g, "\\.")}.*-> destroyed$`, "m"));
            assert.strictEqual(kubectl(admin, "get", "namespaces", "-l", `${KEYS.stack}=${stack}`, "-o", "name").trim(), "");
        } finally {
            for (const branch of [downed, reaped]) {
                await cli(env, "down", "--branch", branch);
            }
        }
    });
});
