// The manifest pieces every pod shares, checked as plain values: the components' tests read them
// through the engine, where a memoised construction hides most of them from mutation runs.
import * as assert from "assert";
import { containerResources, namespaceLabels, restrictedContainerSecurity, restrictedPodSecurity, TMP_MOUNT, TMP_VOLUME } from "../../components";
import { CONTEXT } from "./fixtures";

describe("manifests", () => {
    it("restricted pod security: non-root uid/gid 65532, fsGroup for the volumes, RuntimeDefault seccomp", () => {
        assert.deepStrictEqual(restrictedPodSecurity(), { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } });
    });

    it("restricted container security: no escalation, read-only root, every capability dropped", () => {
        assert.deepStrictEqual(restrictedContainerSecurity(), {
            runAsNonRoot: true,
            runAsUser: 65532,
            runAsGroup: 65532,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        });
    });

    it("namespace labels enforce, warn and audit Pod Security `restricted`", () => {
        const labels = namespaceLabels(CONTEXT, "dev", "team-a");
        assert.deepStrictEqual(
            Object.fromEntries(Object.entries(labels).filter(([k]) => k.startsWith("pod-security."))),
            {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/audit": "restricted",
            },
        );
    });

    it("a bounded writable /tmp, since the root filesystem is read-only", () => {
        assert.deepStrictEqual(TMP_VOLUME, { name: "tmp", emptyDir: { sizeLimit: "256Mi" } });
        assert.deepStrictEqual(TMP_MOUNT, { name: "tmp", mountPath: "/tmp" });
    });

    const resources: Array<[string, Parameters<typeof containerResources>[0], ReturnType<typeof containerResources>]> = [
        ["none given: none set, the namespace's LimitRange applies", undefined, undefined],
        ["requests only", { requests: { cpu: "100m" } }, { requests: { cpu: "100m" } }],
        ["limits only", { limits: { memory: "256Mi" } }, { limits: { memory: "256Mi" } }],
        ["both", { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "1", memory: "256Mi" } }, { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "1", memory: "256Mi" } }],
        ["neither part: an empty object", {}, {}],
    ];
    for (const [what, given, expected] of resources) {
        it(`container resources, ${what}`, () => {
            const out = containerResources(given);
            assert.deepStrictEqual(out, expected);
            // Only the parts that are set appear: an explicit `undefined` would reach the engine as a null.
            assert.deepStrictEqual(Object.keys(out ?? {}), Object.keys(expected ?? {}));
        });
    }

    it("container resources are copies: editing one pod's does not change the description", () => {
        const given = { requests: { cpu: "100m" }, limits: { memory: "256Mi" } };
        const out = containerResources(given)!;
        (out.requests as Record<string, string>).cpu = "2";
        (out.limits as Record<string, string>).memory = "1Gi";
        assert.deepStrictEqual(given, { requests: { cpu: "100m" }, limits: { memory: "256Mi" } });
    });
});
