// The local environment seen from the network: the API server answers only on loopback and the pod
// bridge, IPv6 included; what is forwarded into the pod bridge comes from the host only; etcd wants a
// client certificate of its own CA. The neighbour is a network namespace this test makes, joined to
// the host by a veth pair carrying addresses of the test's own choosing. Its only routes go over that
// veth (the cluster's ranges through the host, as a neighbour on the LAN could set them), so no packet
// of this test leaves the machine.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as net from "net";
import * as path from "path";

import { asClusterAdmin, ensureLocalEnv, httpGet, repoRoot } from "./local-env";
import { kubernetesName } from "./local-state";
import { pullSecret, webPod } from "./web-pod";

const NODE_IP = kubernetesName("NODE_IP");
const API_PORT = Number(kubernetesName("API_PORT"));
const ETCD_PORT = Number(kubernetesName("ETCD_PORT"));
const ETCD_PEER_PORT = Number(kubernetesName("ETCD_PEER_PORT"));
const KUBELET_PORT = 10250;

// Fixed names, so that a run killed halfway is cleaned up by the next one (the local suite runs under
// the cluster lock, one run at a time). A link-local IPv4 /30 and a ULA /126 that before() checks
// nothing else on the machine uses.
const NETNS = "pm-netexp";
const HOST_VETH = "pm-netexp-h";
const NS_VETH = "pm-netexp-n";
const HOST_V4 = "169.254.77.1";
const NS_V4 = "169.254.77.2";
const HOST_V6 = "fd6d:706d:6e65::1";
const NS_V6 = "fd6d:706d:6e65::2";
/** Long enough for a SYN and its answer on a veth; a drop shows as this timeout. */
const PROBE_SECONDS = 3;

interface Result {
    status: number | null;
    stdout: string;
    stderr: string;
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv, input?: string): Result {
    const r = spawnSync(cmd, args, { env, input, encoding: "utf8", timeout: 3 * 60_000 });
    if (r.error) {
        throw r.error;
    }
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function runOk(cmd: string, args: string[], env?: NodeJS.ProcessEnv, input?: string): string {
    const r = run(cmd, args, env, input);
    assert.strictEqual(r.status, 0, `${cmd} ${args.join(" ")} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
}

/** `host:port`, with IPv6 addresses in brackets. */
function target(address: string, port: number): string {
    return net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

/** TCP connection attempts to every target at once, from the neighbour or from the host: target -> outcome. */
function probe(fromNeighbour: boolean, targets: string[]): Record<string, string> {
    const script = path.join(repoRoot, "tests", "local", "fixtures", "tcp_probe.py");
    const args = ["python3", script, String(PROBE_SECONDS), ...targets];
    const out = fromNeighbour ? runOk("ip", ["netns", "exec", NETNS, ...args]) : runOk(args[0], args.slice(1));
    return JSON.parse(out) as Record<string, string>;
}

function expectAll(targets: string[], outcome: string): Record<string, string> {
    return Object.fromEntries(targets.map((t) => [t, outcome]));
}

/** A socket some daemon of the environment listens on (TCP) or is bound to (UDP). */
interface Listener {
    daemon: string;
    proto: string;
    address: string;
    port: number;
}

/**
 * Every listening socket of the host's network namespace that belongs to a daemon `local:up` started:
 * its process, or a child in the session the daemon leads (pm_start runs each under setsid).
 */
function environmentListeners(runDir: string): Listener[] {
    const daemons = new Map<number, string>();
    for (const file of fs.readdirSync(runDir).filter((f) => f.endsWith(".pid"))) {
        const pid = Number(fs.readFileSync(path.join(runDir, file), "utf8").trim().split(/\s+/)[0]);
        daemons.set(pid, file.replace(/\.pid$/, ""));
    }
    const sessionOf = (pid: number): number | undefined => {
        try {
            const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
            // After the command name in parentheses: state, ppid, pgrp, session.
            return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
        } catch {
            return undefined;
        }
    };
    const listeners: Listener[] = [];
    for (const line of runOk("ss", ["-H", "-l", "-t", "-u", "-n", "-p"]).trim().split("\n")) {
        const fields = line.trim().split(/\s+/);
        const local = fields[4].replace(/%[^:\]]+(?=:\d+$)/, "");
        const i = local.lastIndexOf(":");
        for (const m of line.matchAll(/pid=(\d+)/g)) {
            const pid = Number(m[1]);
            const daemon = daemons.get(pid) ?? daemons.get(sessionOf(pid) ?? -1);
            if (daemon) {
                listeners.push({ daemon, proto: fields[0], address: local.slice(0, i), port: Number(local.slice(i + 1)) });
            }
        }
    }
    return listeners;
}

type Scope = "loopback" | "node" | "all addresses" | "other";
function scopeOf(address: string): Scope {
    if (address === "*" || address === "0.0.0.0" || address === "[::]") {
        return "all addresses";
    }
    if (/^127\./.test(address) || address === "[::1]") {
        return "loopback";
    }
    return address === NODE_IP ? "node" : "other";
}

function describeListener(l: Listener): string {
    return `${l.daemon} ${l.proto} ${l.address}:${l.port}`;
}

/** Outcome of a request as one comparable string: `HTTP <status> <body>` or `error <code>`. */
async function outcome(url: string, tls?: https.RequestOptions): Promise<string> {
    try {
        const a = await httpGet(url, tls);
        return `HTTP ${a.status} ${a.body.trim()}`;
    } catch (e) {
        const err = e as NodeJS.ErrnoException;
        return `error ${err.code ?? err.message}`;
    }
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

function removeNeighbour(): void {
    // Deleting the namespace deletes its end of the pair and with it the host's end.
    run("ip", ["netns", "delete", NETNS]);
    run("ip", ["link", "delete", HOST_VETH]);
}

describe("local environment: not reachable from the network", function () {
    let env: NodeJS.ProcessEnv;
    let pki: string;
    let listeners: Listener[];
    const namespaces: string[] = [];
    const servers: net.Server[] = [];

    before(function () {
        this.timeout(90 * 60_000);
        env = asClusterAdmin(ensureLocalEnv());
        const state = env.PROD_MIRROR_STATE as string;
        pki = path.join(state, "kubernetes", "pki");
        listeners = environmentListeners(path.join(state, "run"));

        removeNeighbour();
        for (const [family, prefix] of [["-4", "169.254.77.0/30"], ["-6", "fd6d:706d:6e65::/126"]]) {
            const used = runOk("ip", [family, "-o", "addr", "show", "to", prefix]).trim();
            assert.strictEqual(used, "", `the test's neighbour range ${prefix} is already in use here:\n${used}`);
        }
        runOk("ip", ["netns", "add", NETNS]);
        runOk("ip", ["link", "add", HOST_VETH, "type", "veth", "peer", "name", NS_VETH, "netns", NETNS]);
        runOk("ip", ["addr", "add", `${HOST_V4}/30`, "dev", HOST_VETH]);
        runOk("ip", ["-6", "addr", "add", `${HOST_V6}/126`, "dev", HOST_VETH, "nodad"]);
        runOk("ip", ["link", "set", HOST_VETH, "up"]);
        runOk("ip", ["-n", NETNS, "addr", "add", `${NS_V4}/30`, "dev", NS_VETH]);
        runOk("ip", ["-n", NETNS, "-6", "addr", "add", `${NS_V6}/126`, "dev", NS_VETH, "nodad"]);
        runOk("ip", ["-n", NETNS, "link", "set", NS_VETH, "up"]);
        // What a neighbour that wants in would do: send the pod and Service ranges to this machine.
        for (const range of [kubernetesName("POD_CIDR"), kubernetesName("SERVICE_CIDR")]) {
            runOk("ip", ["-n", NETNS, "route", "add", range, "via", HOST_V4]);
        }
    });

    after(function () {
        this.timeout(5 * 60_000);
        for (const server of servers) {
            server.close();
        }
        removeNeighbour();
        for (const ns of namespaces) {
            run("kubectl", ["delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=120s"], env);
        }
    });

    /** A TCP listener of the test's own on the host: proof that the neighbour's path works at all. */
    async function controlListener(address: string): Promise<string> {
        const server = net.createServer((socket) => socket.end());
        servers.push(server);
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, address, resolve);
        });
        return target(address, (server.address() as net.AddressInfo).port);
    }

    it("every socket the environment's daemons listen on is on loopback or the node address, or on all addresses and firewalled", function () {
        const table = listeners.map((l) => `${describeListener(l)} -> ${scopeOf(l.address)}`);
        // The table is the real one: the sockets every cluster has are in it, where they belong.
        for (const expected of [
            `k8s-etcd tcp 127.0.0.1:${ETCD_PORT} -> loopback`,
            `k8s-etcd tcp 127.0.0.1:${ETCD_PEER_PORT} -> loopback`,
            `kube-apiserver tcp *:${API_PORT} -> all addresses`,
            `kubelet tcp ${NODE_IP}:${KUBELET_PORT} -> node`,
        ]) {
            assert.ok(table.includes(expected), `no "${expected}" among\n${table.join("\n")}`);
        }
        assert.deepStrictEqual(table.filter((l) => l.endsWith("-> other")), [], table.join("\n"));
        // Only TCP has a firewall rule (the next test proves it per port): a UDP socket on every
        // address would be open to the network.
        assert.deepStrictEqual(
            table.filter((l) => / udp .* -> all addresses$/.test(l)),
            [],
            table.join("\n"),
        );
    });

    it("from a neighbour, every port on all addresses (IPv4 and IPv6) and every port on the node address is dropped", async function () {
        this.timeout(60_000);
        const dropped = new Set<string>([
            target(HOST_V4, API_PORT),
            target(HOST_V6, API_PORT),
            target(NODE_IP, API_PORT),
        ]);
        for (const l of listeners.filter((x) => x.proto === "tcp")) {
            const scope = scopeOf(l.address);
            if (scope === "node") {
                dropped.add(target(NODE_IP, l.port));
            } else if (scope === "all addresses") {
                if (l.address !== "[::]") {
                    dropped.add(target(HOST_V4, l.port));
                }
                if (l.address !== "0.0.0.0") {
                    dropped.add(target(HOST_V6, l.port));
                }
            }
        }
        const controls = [await controlListener(HOST_V4), await controlListener(HOST_V6)];
        const targets = [...dropped].sort();
        assert.deepStrictEqual(probe(true, [...targets, ...controls]), {
            ...expectAll(targets, "timeout"),
            ...expectAll(controls, "open"),
        });
    });

    it("from the host, the API server answers on loopback (IPv4 and IPv6) and the node address, and on no other address", function () {
        this.timeout(60_000);
        const open = [target("127.0.0.1", API_PORT), target("::1", API_PORT), target(NODE_IP, API_PORT)];
        const dropped = [target(HOST_V4, API_PORT), target(HOST_V6, API_PORT)];
        assert.deepStrictEqual(probe(false, [...open, ...dropped]), {
            ...expectAll(open, "open"),
            ...expectAll(dropped, "timeout"),
        });
    });

    it("a pod and its Service answer the host, and neither answers a neighbour that routes their ranges here", async function () {
        this.timeout(5 * 60_000);
        const ns = `pm-netexp-${process.pid}-${Date.now().toString(36)}`;
        namespaces.push(ns);
        const token = `only-for-the-host-${ns}`;
        runOk("kubectl", ["create", "namespace", ns], env);
        runOk("kubectl", ["-n", ns, "create", "-f", "-"], env, JSON.stringify(pullSecret()));
        runOk("kubectl", ["-n", ns, "apply", "-f", "-"], env, JSON.stringify(webPod("web", token, true)));
        runOk(
            "kubectl",
            ["-n", ns, "apply", "-f", "-"],
            env,
            JSON.stringify({
                apiVersion: "v1",
                kind: "Service",
                metadata: { name: "web" },
                spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] },
            }),
        );
        const wait = run("kubectl", ["-n", ns, "wait", "--for=condition=Ready", "pod/web", "--timeout=120s"], env);
        assert.strictEqual(wait.status, 0, `${wait.stderr}\n${run("kubectl", ["-n", ns, "describe", "pod", "web"], env).stdout}`);
        const podIP = runOk("kubectl", ["-n", ns, "get", "pod", "web", "-o", "jsonpath={.status.podIP}"], env);
        const serviceIP = runOk("kubectl", ["-n", ns, "get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"], env);

        assert.strictEqual(await outcome(`http://${podIP}:8080/`), `HTTP 200 ${token}`);
        // kube-proxy follows the pod's readiness by a second or so; until then it rejects.
        let viaService = "";
        for (let i = 0; i < 30 && viaService !== `HTTP 200 ${token}`; i++) {
            viaService = await outcome(`http://${serviceIP}/`);
            if (viaService !== `HTTP 200 ${token}`) {
                await sleep(1000);
            }
        }
        assert.strictEqual(viaService, `HTTP 200 ${token}`);

        // The Service case is the one a rule appended to filter/FORWARD would miss: kube-proxy marks
        // outside traffic to a ClusterIP for masquerade and its KUBE-FORWARD accepts it first.
        const dropped = [target(podIP, 8080), target(serviceIP, 80)];
        assert.deepStrictEqual(probe(true, dropped), expectAll(dropped, "timeout"));
    });

    it("the firewall chains are jumped to once each, in both families, after `up` ran on a running environment", function () {
        // ensureLocalEnv ran `local/env.sh up` again in this process: a start that is not idempotent
        // shows here as a second jump.
        const input = kubernetesName("INPUT_CHAIN");
        const forward = kubernetesName("POD_FORWARD_CHAIN");
        const bridge = kubernetesName("POD_BRIDGE");
        const jumps = (tool: string, table: string, from: string, to: string): string[] =>
            runOk(tool, ["-w", "-t", table, "-S", from]).split("\n").filter((r) => r.endsWith(` -j ${to}`));
        for (const tool of ["iptables", "ip6tables"]) {
            assert.deepStrictEqual(jumps(tool, "filter", "INPUT", input), [`-A INPUT -j ${input}`], tool);
            assert.deepStrictEqual(jumps(tool, "mangle", "FORWARD", forward), [`-A FORWARD -o ${bridge} -j ${forward}`], tool);
        }
    });

    describe("etcd", function () {
        const health = `https://127.0.0.1:${ETCD_PORT}/health`;
        const tls = (client?: string): https.RequestOptions => ({
            ca: fs.readFileSync(path.join(pki, "etcd-ca.crt")),
            ...(client
                ? { cert: fs.readFileSync(path.join(pki, `${client}.crt`)), key: fs.readFileSync(path.join(pki, `${client}.key`)) }
                : {}),
        });

        it("answers the API server's client certificate (the control for the refusals below)", async function () {
            assert.match(await outcome(health, tls("apiserver-etcd-client")), /^HTTP 200 \{"health":"true"/);
            assert.match(
                await outcome(`https://127.0.0.1:${ETCD_PEER_PORT}/members`, tls("etcd-server")),
                /^HTTP 200 \[\{"id":/,
            );
        });

        it("refuses plain HTTP on its client port (closes the connection)", async function () {
            assert.strictEqual(await outcome(`http://127.0.0.1:${ETCD_PORT}/health`), "error ECONNRESET");
        });

        it("refuses TLS without a client certificate, on the client and the peer port", async function () {
            assert.strictEqual(await outcome(health, tls()), "error ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED");
            assert.strictEqual(
                await outcome(`https://127.0.0.1:${ETCD_PEER_PORT}/members`, tls()),
                "error ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED",
            );
        });

        it("refuses a client certificate of the cluster's CA (the admin's)", async function () {
            const admin: https.RequestOptions = {
                ...tls(),
                cert: fs.readFileSync(path.join(pki, "admin.crt")),
                key: fs.readFileSync(path.join(pki, "admin.key")),
            };
            assert.strictEqual(await outcome(health, admin), "error ERR_SSL_TLSV1_ALERT_UNKNOWN_CA");
        });
    });
});
