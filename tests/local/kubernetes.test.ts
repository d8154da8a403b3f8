// The kubernetes part of the local environment, used the way the mirror uses it: a namespace that
// enforces the `restricted` Pod Security level, a private image from the local registry pulled with
// the pod's own imagePullSecret (the node's containerd holds no credentials of its own), cluster DNS
// and Services, and `kubectl port-forward` from the host. Every test works in a namespace of its own
// and removes it afterwards.
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";

import { asClusterAdmin, ensureLocalEnv, httpGet } from "./local-env";
import { pinned, registryAddr } from "./local-state";
import { image, pullSecret, webPod } from "./web-pod";

const NODE = "prod-mirror";

interface Result {
    status: number | null;
    stdout: string;
    stderr: string;
}


function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

describe("local environment: kubernetes", function () {
    let env: NodeJS.ProcessEnv;
    const namespaces: string[] = [];

    before(function () {
        this.timeout(90 * 60 * 1000);
        env = asClusterAdmin(ensureLocalEnv());
    });

    after(function () {
        this.timeout(5 * 60 * 1000);
        // Whatever happened in the tests: no namespace of this run is left behind.
        for (const ns of namespaces) {
            kubectl(["delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=120s"]);
        }
    });

    function kubectl(args: string[], input?: string, timeoutMs = 3 * 60 * 1000): Result {
        const r = spawnSync("kubectl", args, { env, input, encoding: "utf8", timeout: timeoutMs });
        if (r.error) {
            throw r.error;
        }
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    }

    function kubectlOk(args: string[], input?: string, timeoutMs?: number): string {
        const r = kubectl(args, input, timeoutMs);
        assert.strictEqual(r.status, 0, `kubectl ${args.join(" ")} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
        return r.stdout;
    }

    /**
     * A namespace of this test alone, enforcing `restricted`, with the registry's credentials as a
     * dockerconfigjson secret (a namespace without it stands for "no credentials anywhere").
     */
    function namespace(role: string, withSecret: boolean): string {
        const ns = `pm-k8s-${role}-${process.pid}-${Date.now().toString(36)}`;
        namespaces.push(ns);
        kubectlOk(["create", "namespace", ns]);
        kubectlOk(["label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted"]);
        if (withSecret) {
            // Through stdin rather than `create secret docker-registry --docker-password=...`, so the
            // password never shows on a command line.
            kubectlOk(["-n", ns, "create", "-f", "-"], JSON.stringify(pullSecret()));
        }
        return ns;
    }

    function waitReady(ns: string, pod: string): void {
        const r = kubectl(["-n", ns, "wait", "--for=condition=Ready", `pod/${pod}`, "--timeout=120s"]);
        if (r.status !== 0) {
            const why = kubectl(["-n", ns, "describe", "pod", pod]).stdout;
            assert.fail(`pod ${ns}/${pod} not Ready in 120s\n${r.stderr}\n${why}`);
        }
    }

    it(`node ${NODE} is Ready, with the pinned kubelet on containerd`, function () {
        const node = JSON.parse(kubectlOk(["get", "node", NODE, "-o", "json"])) as {
            status: {
                conditions: Array<{ type: string; status: string }>;
                nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string };
            };
        };
        const ready = node.status.conditions.find((c) => c.type === "Ready");
        assert.strictEqual(ready?.status, "True");
        assert.strictEqual(node.status.nodeInfo.kubeletVersion, `v${pinned("KUBERNETES_VERSION")}`);
        assert.match(node.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\//);
    });

    it("pulls a private image with the pod's imagePullSecret under PSA restricted; the pod answers through port-forward", async function () {
        this.timeout(5 * 60 * 1000);
        const ns = namespace("pull", true);
        const token = `served-from-${ns}`;
        kubectlOk(["-n", ns, "apply", "-f", "-"], JSON.stringify(webPod("web", token, true)));
        waitReady(ns, "web");

        const status = JSON.parse(kubectlOk(["-n", ns, "get", "pod", "web", "-o", "json"])) as {
            status: { containerStatuses: Array<{ imageID: string }> };
        };
        assert.match(status.status.containerStatuses[0].imageID, new RegExp(`^${registryAddr}/prod-mirror/python@sha256:`));

        // The kubelet's streaming server, through the API server, to a port chosen on 127.0.0.1.
        const pf = spawn("kubectl", ["-n", ns, "port-forward", "--address", "127.0.0.1", "pod/web", ":8080"], {
            env,
            stdio: ["ignore", "pipe", "pipe"],
        });
        try {
            const port = await new Promise<number>((resolve, reject) => {
                let out = "";
                let err = "";
                const timer = setTimeout(() => reject(new Error(`port-forward printed no port in 30s\n${out}\n${err}`)), 30000);
                pf.stdout.on("data", (chunk: Buffer) => {
                    out += chunk.toString();
                    const m = /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(out);
                    if (m) {
                        clearTimeout(timer);
                        resolve(Number(m[1]));
                    }
                });
                pf.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
                pf.on("exit", (code) => {
                    clearTimeout(timer);
                    reject(new Error(`port-forward exited ${code}\n${out}\n${err}`));
                });
            });
            const answer = await httpGet(`http://127.0.0.1:${port}/`);
            assert.strictEqual(answer.status, 200);
            assert.strictEqual(answer.body.trim(), token);
        } finally {
            pf.kill();
        }
    });

    it("the same pod without the secret cannot pull the image (401 from the registry)", async function () {
        this.timeout(3 * 60 * 1000);
        const ns = namespace("nosecret", false);
        kubectlOk(["-n", ns, "apply", "-f", "-"], JSON.stringify(webPod("web", "never-served", false)));
        let reason = "";
        let message = "";
        for (let i = 0; i < 60 && !/^(ErrImagePull|ImagePullBackOff)$/.test(reason); i++) {
            await sleep(1000);
            const pod = JSON.parse(kubectlOk(["-n", ns, "get", "pod", "web", "-o", "json"])) as {
                status: { containerStatuses?: Array<{ state: { waiting?: { reason?: string; message?: string } } }> };
            };
            const waiting = pod.status.containerStatuses?.[0]?.state.waiting;
            reason = waiting?.reason ?? "";
            message = waiting?.message ?? message;
        }
        assert.match(reason, /^(ErrImagePull|ImagePullBackOff)$/, `pod stayed in ${JSON.stringify(reason)}`);
        const events = kubectlOk(["-n", ns, "get", "events", "--field-selector", "involvedObject.name=web", "-o",
            "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}"]);
        assert.match(`${message}\n${events}`, /401 Unauthorized|unauthorized/i);
    });

    it("CoreDNS resolves Service names from a pod, and the Service's ClusterIP answers (kube-proxy)", function () {
        this.timeout(5 * 60 * 1000);
        const ns = namespace("dns", true);
        const token = `through-the-service-${ns}`;
        kubectlOk(["-n", ns, "apply", "-f", "-"], JSON.stringify(webPod("web", token, true)));
        kubectlOk(
            ["-n", ns, "apply", "-f", "-"],
            JSON.stringify({
                apiVersion: "v1",
                kind: "Service",
                metadata: { name: "echo" },
                spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] },
            }),
        );
        waitReady(ns, "web");
        const serviceIP = kubectlOk(["-n", ns, "get", "service", "echo", "-o", "jsonpath={.spec.clusterIP}"]);
        const apiIP = kubectlOk(["-n", "default", "get", "service", "kubernetes", "-o", "jsonpath={.spec.clusterIP}"]);
        // From inside the pod: its resolv.conf points at the kube-dns Service; the request to the
        // Service name goes through kube-proxy's rules back to this very pod (hairpin). Those rules
        // follow the pod's readiness by a second or so (until then kube-proxy rejects: "no endpoints").
        const script = [
            "import socket, time, urllib.request",
            `print(socket.gethostbyname("echo.${ns}.svc.cluster.local"))`,
            'print(socket.gethostbyname("kubernetes.default.svc.cluster.local"))',
            "for attempt in range(30):",
            "    try:",
            '        print(urllib.request.urlopen("http://echo/", timeout=5).read().decode().strip())',
            "        break",
            "    except OSError as e:",
            "        last = e",
            "        time.sleep(1)",
            "else:",
            "    raise last",
        ].join("\n");
        const out = kubectlOk(["-n", ns, "exec", "web", "--", "python3", "-c", script]).trim().split("\n");
        assert.deepStrictEqual(out, [serviceIP, apiIP, token]);
    });

    it("PSA restricted rejects a privileged pod", function () {
        const ns = namespace("psa", false);
        const privileged = {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "privileged" },
            spec: {
                containers: [{ name: "c", image, command: ["sleep", "60"], securityContext: { privileged: true } }],
            },
        };
        const r = kubectl(["-n", ns, "apply", "-f", "-"], JSON.stringify(privileged));
        assert.notStrictEqual(r.status, 0, `a privileged pod was admitted:\n${r.stdout}`);
        assert.match(r.stderr, /violates PodSecurity "restricted:latest"/);
        assert.match(r.stderr, /privileged \(container "c" must not set securityContext\.privileged=true\)/);
        const left = kubectl(["-n", ns, "get", "pod", "privileged", "-o", "name"]);
        assert.notStrictEqual(left.status, 0, "the rejected pod exists");
    });
});
