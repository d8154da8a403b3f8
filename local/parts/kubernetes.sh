#!/usr/bin/env bash
# Single-node Kubernetes v$KUBERNETES_VERSION whose kubelet runs real containers:
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and
#   kube-proxy (built from their Go modules by local/kubernetes/build.sh), a containerd of its
#   own (Debian's, own config, socket and directories under $PM_STATE/kubernetes), CNI bridge pods on
#   $POD_CIDR, and CoreDNS at $DNS_IP. Pause and CoreDNS images are built here (node-images.sh) and
#   imported into containerd: nothing is pulled except from the local registry.
# Host clients use $PM_KUBECONFIG (https://127.0.0.1:6443).
#   install | start | status | stop
. "$(dirname "$0")/../lib.sh"
HERE=$PM_ROOT/local/kubernetes
. "$HERE/names.sh"

CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
P=$K/pki

kubectl() { "$K_BIN/kubectl" --kubeconfig "$PM_KUBECONFIG" "$@"; }
ctr_k8s() { ctr --address "$CTR_SOCK" --namespace k8s.io "$@"; }
crictl_k8s() { "$CRICTL_BIN" --runtime-endpoint "unix://$CTR_SOCK" --image-endpoint "unix://$CTR_SOCK" --timeout 30s "$@"; }

cmd_install() {
  pm_apt_install containerd runc containernetworking-plugins iptables conntrack openssl gcc libc6-dev curl python3
  bash "$HERE/build.sh"
  local c
  for c in "${CMDS[@]}"; do ln -sfn "$K_BIN/$c" "$PM_BIN/$c"; done
  ln -sfn "$CRICTL_BIN" "$PM_BIN/crictl"
  mkdir -p "$K"
  # For `crictl --config $K/crictl.yaml ...`: this node's containerd, not a system-wide one.
  put "$K/crictl.yaml" <<YAML
runtime-endpoint: unix://$CTR_SOCK
image-endpoint: unix://$CTR_SOCK
YAML
  bash "$HERE/node-images.sh"
  bash "$HERE/pki.sh"
}

# --- host network: our bridge, forwarding, bridged traffic through iptables -------------------------
setup_host_network() {
  # kube-proxy's Service rules only see bridged pod-to-pod traffic with br_netfilter on.
  if [ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
    modprobe br_netfilter 2>/dev/null || pm_die "br_netfilter is not loaded (modprobe br_netfilter)"
  fi
  echo 1 >/proc/sys/net/ipv4/ip_forward
  echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
  # Made here rather than by the CNI plugin, so that the node address exists before the API server
  # advertises it and the kubelet serves on it.
  if ! ip link show "$POD_BRIDGE" >/dev/null 2>&1; then
    ip link add "$POD_BRIDGE" type bridge
  fi
  # `replace` is idempotent. (A `ip addr show | grep -q` test failed now and then under pipefail:
  # grep exits at the first match, ip gets SIGPIPE, and the pipeline counts as false.)
  ip addr replace "$NODE_IP/${POD_CIDR#*/}" dev "$POD_BRIDGE"
  ip link set "$POD_BRIDGE" up
  apply_host_firewall
}

# --- host firewall: the node address and the pods answer the host only -------------------------------
# The API server binds one address or all, and it needs two: 127.0.0.1 for the host and $NODE_IP
# for pods (the `kubernetes` Service DNATs to the advertise address). So it binds all, which for a Go
# server on Linux means [::], IPv4 and IPv6 at once, and $INPUT_CHAIN (both families) narrows it:
#  - $NODE_IP answers only the host itself (lo) and the pods (the bridge). The kernel accepts a packet
#    for any of its addresses on any interface, so without this a neighbour that routes $POD_CIDR
#    through this machine would reach the API server and the kubelet on $NODE_IP.
#  - $API_PORT answers only on 127.0.0.0/8, ::1 and $NODE_IP. ::1 stays open because the API server's
#    own loopback client dials [::1] when it binds [::].
# $POD_FORWARD_CHAIN drops what is forwarded into the bridge from any other interface (NodePorts,
# hostPorts, ClusterIPs and pod IPs seen from a neighbour), except replies to connections a pod
# opened. It sits in the mangle table, which runs before filter: there kube-proxy's KUBE-FORWARD
# accepts Service traffic it marked for masquerade and docker puts its own chains first, in whatever
# order they start. Pod to pod (in and out of the bridge) and host to pod (OUTPUT) are not forwarded
# from elsewhere and pass; port-forward enters the pod's namespace through containerd and passes too.
# Chains are loaded with `*-restore --noflush`: a `:CHAIN` line empties it and the rules come in the
# same commit, so `start` on a running cluster never leaves them empty for a moment. `stop` removes
# them and their jumps.
# The same for both families: into the pod bridge, only what the bridge itself sends or answers.
pod_forward_rules() {
  cat <<RULES
*mangle
:$POD_FORWARD_CHAIN - [0:0]
-A $POD_FORWARD_CHAIN -i $POD_BRIDGE -j RETURN
-A $POD_FORWARD_CHAIN -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN
-A $POD_FORWARD_CHAIN -j DROP
COMMIT
RULES
}

apply_host_firewall() {
  {
    cat <<RULES
*filter
:$INPUT_CHAIN - [0:0]
-A $INPUT_CHAIN -d $NODE_IP -i lo -j RETURN
-A $INPUT_CHAIN -d $NODE_IP -i $POD_BRIDGE -j RETURN
-A $INPUT_CHAIN -d $NODE_IP -j DROP
-A $INPUT_CHAIN -d 127.0.0.0/8 -i lo -p tcp --dport $API_PORT -j RETURN
-A $INPUT_CHAIN -p tcp --dport $API_PORT -j DROP
COMMIT
RULES
    pod_forward_rules
  } | iptables-restore -w --noflush
  # Pods have no IPv6 addresses; the bridge's link-local one is no way in either.
  {
    cat <<RULES
*filter
:$INPUT_CHAIN - [0:0]
-A $INPUT_CHAIN -d ::1/128 -i lo -p tcp --dport $API_PORT -j RETURN
-A $INPUT_CHAIN -p tcp --dport $API_PORT -j DROP
COMMIT
RULES
    pod_forward_rules
  } | ip6tables-restore -w --noflush
  local ipt
  for ipt in iptables ip6tables; do
    $ipt -w -C INPUT -j "$INPUT_CHAIN" 2>/dev/null || $ipt -w -I INPUT -j "$INPUT_CHAIN"
    $ipt -w -t mangle -C FORWARD -o "$POD_BRIDGE" -j "$POD_FORWARD_CHAIN" 2>/dev/null ||
      $ipt -w -t mangle -I FORWARD -o "$POD_BRIDGE" -j "$POD_FORWARD_CHAIN"
  done
}
remove_host_firewall() {
  local ipt
  for ipt in iptables ip6tables; do
    while $ipt -w -D INPUT -j "$INPUT_CHAIN" 2>/dev/null; do :; done
    $ipt -w -F "$INPUT_CHAIN" 2>/dev/null && $ipt -w -X "$INPUT_CHAIN" 2>/dev/null || true
    while $ipt -w -t mangle -D FORWARD -o "$POD_BRIDGE" -j "$POD_FORWARD_CHAIN" 2>/dev/null; do :; done
    $ipt -w -t mangle -F "$POD_FORWARD_CHAIN" 2>/dev/null && $ipt -w -t mangle -X "$POD_FORWARD_CHAIN" 2>/dev/null || true
  done
}

# put FILE < CONTENT : replaces FILE only when CONTENT differs. kube-proxy watches its configuration
# file and exits when it changes, so a `start` that rewrote identical files would stop a running one.
put() {
  cat >"$1.tmp"
  if cmp -s "$1.tmp" "$1"; then rm -f "$1.tmp"; else mv "$1.tmp" "$1"; fi
}

write_configs() {
  mkdir -p "$K/containerd/certs.d/$PM_REGISTRY_ADDR" "$K/cni/net.d" "$K/cni/ipam" "$K/kubelet" "$K/etcd"
  put "$K/containerd/config.toml" <<TOML
# Generated by local/parts/kubernetes.sh. The Kubernetes node's containerd: nothing here is shared
# with the docker part's containerd or with a system-wide /run/containerd.
version = 2
root = "$K/containerd/root"
state = "$K/containerd/state"
[grpc]
  address = "$CTR_SOCK"
[ttrpc]
  address = "$CTR_SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$K/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  # This VM gives root no CAP_SYS_RESOURCE, so no process may lower its oom_score_adj below 0; the
  # kubelet asks -998 for every sandbox and -997 for Guaranteed/critical containers, and runc's init
  # then dies ("can't get final child's PID from pipe: EOF"). Clamp to containerd's own score instead.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$K/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$K/cni/net.d"
  # Per-host settings (plain http for the local registry) in hosts.toml files; credentials come
  # from each pod's imagePullSecrets, which the kubelet passes with every pull.
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$K/containerd/certs.d"
TOML
  put "$K/containerd/certs.d/$PM_REGISTRY_ADDR/hosts.toml" <<TOML
server = "http://$PM_REGISTRY_ADDR"
[host."http://$PM_REGISTRY_ADDR"]
  capabilities = ["pull", "resolve"]
TOML
  put "$K/cni/net.d/10-prod-mirror.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "prod-mirror",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$POD_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$K/cni/ipam",
        "ranges": [[{ "subnet": "$POD_CIDR", "gateway": "$NODE_IP" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
  put "$K/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $P/ca.crt
authorization:
  mode: Webhook
tlsCertFile: $P/kubelet-serving.crt
tlsPrivateKeyFile: $P/kubelet-serving.key
containerRuntimeEndpoint: unix://$CTR_SOCK
# No systemd on these machines.
cgroupDriver: cgroupfs
failSwapOn: false
clusterDNS: [$DNS_IP]
clusterDomain: $CLUSTER_DOMAIN
resolvConf: /etc/resolv.conf
serializeImagePulls: false
# The pause and CoreDNS images cannot be pulled again if garbage-collected.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# The node shares the machine's disk with the caches (tens of GB of Go builds): the default
# percentage thresholds (imagefs.available<15%) tainted it with disk-pressure on a large, busy disk
# that still had 35 GB free. Evict only when space is really short.
evictionHard:
  memory.available: 100Mi
  nodefs.available: 2Gi
  nodefs.inodesFree: 5%
  imagefs.available: 2Gi
YAML
  put "$K/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $K/kube-proxy.kubeconfig
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $POD_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
iptables:
  # true would set net.ipv4.conf.all.route_localnet=1 on the host.
  localhostNodePorts: false
conntrack:
  # Leave the host's conntrack table size alone.
  maxPerCore: 0
YAML
}

import_images() {
  local name tar
  for name in "$PAUSE_IMAGE:pause-$PAUSE_TAG" "$COREDNS_IMAGE:coredns-$COREDNS_VERSION"; do
    tar=$PM_CACHE/kubernetes/images/${name##*:}.tar
    name=${name%:*}
    # Re-import when the archive changed (a rebuild), so the image always matches the cache.
    if [ "$(ctr_k8s images ls -q "name==$name" 2>/dev/null)" != "$name" ] || [ "$tar" -nt "$K/containerd/imported-${name//[\/:]/_}" ]; then
      ctr_k8s images import --no-unpack=false "$tar" >/dev/null
      touch "$K/containerd/imported-${name//[\/:]/_}"
      pm_log "kubernetes: imported $name into containerd"
    fi
  done
}

etcd_ready() {
  curl -fsS --max-time 2 --cacert "$P/etcd-ca.crt" --cert "$P/apiserver-etcd-client.crt" --key "$P/apiserver-etcd-client.key" \
    "https://127.0.0.1:$ETCD_PORT/health" >/dev/null
}
api_ready() { curl -fsS --max-time 2 --cacert "$P/ca.crt" --cert "$P/admin.crt" --key "$P/admin.key" "https://127.0.0.1:$API_PORT/readyz" >/dev/null; }
node_ready() {
  [ "$(kubectl get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
# node_ready_since EPOCH : Ready, as reported by a kubelet heartbeat after EPOCH. Right after a quick
# stop/start the node object still says Ready from before (it turns NotReady only after 40s).
node_ready_since() {
  local hb
  node_ready || return 1
  hb=$(kubectl get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}' 2>/dev/null)
  [ -n "$hb" ] && [ "$(date -d "$hb" +%s)" -ge "$1" ]
}
# cluster_dns_answers : kubernetes.default.svc resolves through the kube-dns Service from the host,
# which takes CoreDNS serving, kube-proxy's rules and the pod network all working.
cluster_dns_answers() {
  python3 - "$DNS_IP" "kubernetes.default.svc.$CLUSTER_DOMAIN" "$SERVICE_IP" <<'PY'
import socket, struct, sys
server, name, want = sys.argv[1:]
q = struct.pack(">HHHHHH", 0x504D, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(q, (server, 53))
r = s.recv(512)
sys.exit(0 if r[3] & 15 == 0 and struct.unpack(">H", r[6:8])[0] >= 1 and socket.inet_ntoa(r[-4:]) == want else 1)
PY
}

start_control_plane() {
  # TLS with client certificates on both ports, from etcd's own CA (pki.sh): on loopback alone any
  # local user and any process of the machine could read every Secret or write the cluster's data.
  # The peer port is never dialled by a single member, but etcd always opens it.
  pm_start k8s-etcd "$ETCD_BIN" --name "$NODE_NAME" --data-dir "$K/etcd" \
    --listen-client-urls "https://127.0.0.1:$ETCD_PORT" --advertise-client-urls "https://127.0.0.1:$ETCD_PORT" \
    --cert-file "$P/etcd-server.crt" --key-file "$P/etcd-server.key" \
    --trusted-ca-file "$P/etcd-ca.crt" --client-cert-auth \
    --listen-peer-urls "https://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "https://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "$NODE_NAME=https://127.0.0.1:$ETCD_PEER_PORT" \
    --peer-cert-file "$P/etcd-server.crt" --peer-key-file "$P/etcd-server.key" \
    --peer-trusted-ca-file "$P/etcd-ca.crt" --peer-client-cert-auth \
    --listen-metrics-urls "" \
    --quota-backend-bytes 2147483648 --auto-compaction-retention 1h
  # An etcd started by an older checkout still runs, on plain http, and pm_start left it alone.
  pm_wait_for "etcd on https://127.0.0.1:$ETCD_PORT (if an older etcd on http runs: bash local/parts/kubernetes.sh stop, then up)" 60 etcd_ready

  # The one component that cannot stay on loopback: host clients use 127.0.0.1 and pods reach it on
  # the bridge address through the `kubernetes` Service, and it binds a single address or all of
  # them; apply_host_firewall keeps it to those two.
  pm_start kube-apiserver "$K_BIN/kube-apiserver" \
    --bind-address 0.0.0.0 --secure-port "$API_PORT" --advertise-address "$NODE_IP" \
    --etcd-servers "https://127.0.0.1:$ETCD_PORT" \
    --etcd-cafile "$P/etcd-ca.crt" --etcd-certfile "$P/apiserver-etcd-client.crt" --etcd-keyfile "$P/apiserver-etcd-client.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --tls-cert-file "$P/apiserver.crt" --tls-private-key-file "$P/apiserver.key" \
    --client-ca-file "$P/ca.crt" \
    --kubelet-client-certificate "$P/apiserver-kubelet-client.crt" --kubelet-client-key "$P/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$P/ca.crt" --kubelet-preferred-address-types InternalIP \
    --service-account-issuer "https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --service-account-key-file "$P/sa.pub" --service-account-signing-key-file "$P/sa.key" \
    --authorization-mode Node,RBAC \
    --enable-admission-plugins NodeRestriction,PodSecurity \
    --allow-privileged=true --profiling=false --v=1
  pm_wait_for "kube-apiserver on https://127.0.0.1:$API_PORT" 120 api_ready

  pm_start kube-controller-manager "$K_BIN/kube-controller-manager" \
    --kubeconfig "$K/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$K/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$K/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false \
    --cluster-signing-cert-file "$P/ca.crt" --cluster-signing-key-file "$P/ca.key" \
    --root-ca-file "$P/ca.crt" --service-account-private-key-file "$P/sa.key" \
    --use-service-account-credentials=true \
    --service-cluster-ip-range "$SERVICE_CIDR" --cluster-cidr "$POD_CIDR" --allocate-node-cidrs=false \
    --profiling=false --v=1
  pm_start kube-scheduler "$K_BIN/kube-scheduler" \
    --kubeconfig "$K/scheduler.kubeconfig" \
    --authentication-kubeconfig "$K/scheduler.kubeconfig" \
    --authorization-kubeconfig "$K/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --profiling=false --v=1
}

start_node() {
  # A kubelet started now must report after now; one already running reports only on changes (the
  # node lease is its heartbeat), so for it the Ready condition as it stands is the answer.
  local since=0
  pm_alive kubelet || since=$(date +%s)
  pm_start kubelet "$K_BIN/kubelet" --config "$K/kubelet/config.yaml" \
    --kubeconfig "$K/kubelet.kubeconfig" --root-dir "$K/kubelet/root" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v=1
  pm_start kube-proxy "$K_BIN/kube-proxy" --config "$K/kube-proxy.yaml" --v=1
  pm_wait_for "node $NODE_NAME Ready" 120 node_ready_since "$since"
}

deploy_coredns() {
  sed -e "s#@COREDNS_IMAGE@#$COREDNS_IMAGE#g" -e "s#@DNS_IP@#$DNS_IP#g" -e "s#@CLUSTER_DOMAIN@#$CLUSTER_DOMAIN#g" \
    "$HERE/manifests/coredns.yaml" | kubectl apply -f - >/dev/null
  # Not `rollout status`: once the deployment has passed its progress deadline (a node that was down
  # for a while) it fails at once, even though the pod answers seconds later.
  pm_wait_for "cluster DNS on $DNS_IP (kubectl -n kube-system describe pods -l k8s-app=kube-dns)" 120 cluster_dns_answers
}

cmd_start() {
  [ -x "$K_BIN/kubelet" ] || pm_die "kubernetes is not installed; run: bash local/parts/kubernetes.sh install"
  bash "$HERE/pki.sh"
  setup_host_network
  write_configs
  pm_start k8s-containerd containerd --config "$K/containerd/config.toml"
  pm_wait_for "containerd on $CTR_SOCK" 30 ctr --address "$CTR_SOCK" version
  # Its CRI service answers only once it has loaded its state (longer with many images): a kubelet
  # started before exits at once ("server is not initialized yet") and the node never gets Ready.
  pm_wait_for "containerd's CRI service on $CTR_SOCK" 60 crictl_k8s info
  import_images
  start_control_plane
  start_node
  deploy_coredns
  # What a team applies once on its own cluster (access/README.md); the CLI runs as that group here.
  kubectl apply -f "$PM_ROOT/access/" >/dev/null
}

cmd_status() {
  local why="" d
  if ! [ -x "$K_BIN/kubelet" ]; then why="not installed"; fi
  for d in k8s-containerd k8s-etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
    [ -n "$why" ] || pm_alive "$d" || why="$d is not running (log: $PM_LOGS/$d.log)"
  done
  if [ -n "$why" ]; then :
  elif ! api_ready 2>/dev/null; then why="API server does not answer on 127.0.0.1:$API_PORT"
  elif ! node_ready; then why="node $NODE_NAME is not Ready"
  elif ! cluster_dns_answers 2>/dev/null; then why="cluster DNS does not answer on $DNS_IP"
  fi
  pm_status_line kubernetes "v$KUBERNETES_VERSION" "$why"
}

# Shims of OUR containerd: they name its socket on their command line.
our_shims() {
  local pid
  for pid in $(pgrep -f containerd-shim-runc-v2 || true); do
    # grep without -q reads all of its input: with -q, tr could die of SIGPIPE and fail the pipeline.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -- "-address $CTR_SOCK " >/dev/null && echo "$pid"
  done
}

cmd_stop() {
  local d shims
  # The node first, so that nothing starts a pod again, then every pod sandbox through the CRI: that
  # stops its containers, runs the CNI DEL (veth, IP lease, portmap rules) and unmounts its
  # namespaces, which killing the processes would leave behind.
  for d in kube-proxy kubelet; do pm_stop "$d"; done
  if pm_alive k8s-containerd && [ -n "$(crictl_k8s pods -q 2>/dev/null)" ]; then
    crictl_k8s rmp --all --force >/dev/null 2>&1 || pm_log "kubernetes: could not remove every pod sandbox (crictl rmp)"
  fi
  pm_stop k8s-containerd
  shims=$(our_shims)
  if [ -n "$shims" ]; then
    pm_log "kubernetes: killing leftover shims $shims"
    # shellcheck disable=SC2086 # one pid per word
    kill -KILL $shims 2>/dev/null || true
  fi
  for d in kube-scheduler kube-controller-manager kube-apiserver k8s-etcd; do pm_stop "$d"; done
  # The kubelet leaves its pods' volumes (service account tokens on tmpfs) and its root directory
  # mounted; it mounts again what it needs when it starts.
  findmnt -rn -o TARGET | { grep -E "^$K/kubelet/root(/|$)" || true; } | sort -r | while read -r d; do umount "$d" || true; done
  # kube-proxy's chains (Service NAT, KUBE-FORWARD) and the kubelet's own would otherwise stay in the
  # host's iptables.
  [ ! -x "$K_BIN/kube-proxy" ] || "$K_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  remove_kubelet_chains
  remove_host_firewall
}
remove_kubelet_chains() {
  local ipt t c
  for ipt in iptables ip6tables; do
    for c in INPUT OUTPUT; do while $ipt -w -D "$c" -j KUBE-FIREWALL 2>/dev/null; do :; done; done
    $ipt -w -F KUBE-FIREWALL 2>/dev/null && $ipt -w -X KUBE-FIREWALL 2>/dev/null || true
    for t in filter nat mangle; do $ipt -w -t "$t" -X KUBE-KUBELET-CANARY 2>/dev/null || true; done
    $ipt -w -t mangle -X KUBE-IPTABLES-HINT 2>/dev/null || true
  done
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  status) cmd_status ;;
  stop) cmd_stop ;;
  *) echo "usage: $0 install|start|status|stop" >&2; exit 2 ;;
esac
