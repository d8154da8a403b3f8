// access/ is plain YAML a team applies with kubectl; these checks keep its names equal to the code's.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { DEFAULT_NAME_PREFIX } from "../../components/app-spec";
import { KEYS, MANAGED_BY, MIRROR_ADMIN_ROLE, OPERATOR_GROUP } from "../../components/manifests";

const ACCESS = path.join(__dirname, "..", "..", "access");
const load = (file: string): any[] => yaml.loadAll(fs.readFileSync(path.join(ACCESS, file), "utf8")) as any[];

describe("access/ manifests", () => {
    const rbac = load("rbac.yaml");
    const [policy, binding] = load("policy.yaml");
    const variable = (name: string): string => policy.spec.variables.find((v: any) => v.name === name).expression;
    const rules = policy.spec.validations.map((v: any) => v.expression).join("\n");

    it("narrows writes to namespaces named with prod-mirror's default prefix", () => {
        assert.strictEqual(variable("prefix"), `'${DEFAULT_NAME_PREFIX}-'`);
    });

    it("names the group and the role the program binds", () => {
        assert.strictEqual(variable("group"), `'${OPERATOR_GROUP}'`);
        assert.deepStrictEqual(policy.spec.matchConditions, [{ name: "from-operators", expression: `'${OPERATOR_GROUP}' in request.userInfo.groups` }]);
        assert.ok(rules.includes(`object.roleRef.name != '${MIRROR_ADMIN_ROLE}'`), rules);
        const binding = rbac.find((o) => o.kind === "ClusterRoleBinding");
        assert.deepStrictEqual(binding.subjects, [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: OPERATOR_GROUP }]);
        assert.deepStrictEqual(rbac.filter((o) => o.kind === "ClusterRole").map((o) => o.metadata.name), ["prod-mirror:operator", MIRROR_ADMIN_ROLE, "prod-mirror:mirror-limits"]);
        const bind = rbac[0].rules.find((r: any) => r.verbs.includes("bind"));
        assert.deepStrictEqual(bind.resourceNames, [MIRROR_ADMIN_ROLE]);
    });

    it("requires the labels the code puts on every namespace", () => {
        assert.ok(rules.includes(`l[?'${KEYS.managedBy}'].orValue('') == '${MANAGED_BY}'`), rules);
        assert.ok(rules.includes(`l[?'${KEYS.stack}'].orValue('') != ''`), rules);
    });

    it("denies, and binds the policy it defines", () => {
        assert.deepStrictEqual(binding.spec, { policyName: policy.metadata.name, validationActions: ["Deny"] });
        assert.strictEqual(policy.spec.failurePolicy, "Fail");
    });

    it("grants the group nothing that reads Secrets or writes another cluster-scoped kind", () => {
        const granted = rbac[0].rules.flatMap((r: any) => r.resources.map((res: string) => `${res}:${r.verbs.join(",")}`));
        assert.deepStrictEqual(granted, ["namespaces:get,list,watch,create,update,patch,delete", "rolebindings:create,update,patch", "clusterroles:bind"]);
    });
});
