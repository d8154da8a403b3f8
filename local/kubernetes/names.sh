# Names and addresses the kubernetes part's scripts share. Sourced after lib.sh.
# shellcheck disable=SC2034
K=$PM_STATE/kubernetes
K_BIN=$PM_CACHE/kubernetes/$KUBERNETES_VERSION/bin
ETCD_BIN=$PM_CACHE/kubernetes/etcd-$ETCD_VERSION/etcd
CRICTL_BIN=$PM_CACHE/kubernetes/crictl-$CRICTL_VERSION/crictl
NODE_NAME=prod-mirror
# Pods live on our own bridge; the host end (the gateway) is also the node's address, the one the
# API server advertises, so pods reach it through the `kubernetes` Service.
POD_BRIDGE=pm-cni0
POD_CIDR=10.88.0.0/16
NODE_IP=10.88.0.1
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1
DNS_IP=10.96.0.10
CLUSTER_DOMAIN=cluster.local
API_PORT=6443
ETCD_PORT=2379
ETCD_PEER_PORT=2380
# Our firewall chains (local/parts/kubernetes.sh): what may reach the node, and the pods.
INPUT_CHAIN=PM-KUBE-INPUT
POD_FORWARD_CHAIN=PM-KUBE-POD-FORWARD
CTR_SOCK=$K/containerd/containerd.sock
# Not under registry.k8s.io: these are our own builds, never to be mistaken for upstream's.
PAUSE_TAG=3.10
PAUSE_IMAGE=prod-mirror.local/pause:$PAUSE_TAG
COREDNS_IMAGE=prod-mirror.local/coredns:$COREDNS_VERSION
