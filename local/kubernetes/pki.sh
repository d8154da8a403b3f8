#!/usr/bin/env bash
# Certificates and kubeconfigs for the local cluster, made once with openssl under $K/pki and kept
# across stop/start (delete $K/pki to start over). ECDSA P-256 keys: quick to make, accepted by
# every component.
. "$(dirname "$0")/../lib.sh"
. "$PM_ROOT/local/kubernetes/names.sh"
P=$K/pki
mkdir -p "$P"
chmod 700 "$P"
DAYS=3650

# ca NAME CN : a self-signed certificate authority NAME.crt/NAME.key.
ca() {
  [ -s "$P/$1.crt" ] && return 0
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$P/$1.key" \
    -subj "/CN=$2" -days $DAYS -out "$P/$1.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  chmod 600 "$P/$1.key"
}

# cert NAME SUBJECT EXT [CA] : key + certificate signed by CA (default: the cluster CA `ca`), EXT as
# an openssl extension section.
cert() {
  local name=$1 subj=$2 ext=$3 ca=${4:-ca}
  [ -s "$P/$name.crt" ] && return 0
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$P/$name.key" \
    -subj "$subj" -out "$P/$name.csr" 2>/dev/null
  printf '[ext]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n%s\n' "$ext" >"$P/$name.ext"
  openssl x509 -req -in "$P/$name.csr" -CA "$P/$ca.crt" -CAkey "$P/$ca.key" -CAcreateserial -days $DAYS \
    -extfile "$P/$name.ext" -extensions ext -out "$P/$name.crt" 2>/dev/null
  rm -f "$P/$name.csr" "$P/$name.ext"
  chmod 600 "$P/$name.key"
}
client() { cert "$1" "$2" "extendedKeyUsage=clientAuth" "${3:-ca}"; }

# kubeconfig NAME CERT : a self-contained kubeconfig for the client certificate CERT.
kubeconfig() {
  local name=$1 c=$2 f=$K/$1.kubeconfig
  [ -s "$f" ] && [ "$f" -nt "$P/$c.crt" ] && return 0
  (umask 077 && cat >"$f.tmp" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: prod-mirror
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 "$P/ca.crt")
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 "$P/$c.crt")
    client-key-data: $(base64 -w0 "$P/$c.key")
contexts:
- name: prod-mirror
  context:
    cluster: prod-mirror
    user: $name
current-context: prod-mirror
YAML
  )
  mv "$f.tmp" "$f"
}

[ -s "$P/ca.crt" ] || pm_log "kubernetes: generating certificates in $P"
ca ca prod-mirror-ca
cert apiserver "/CN=kube-apiserver" "extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:$SERVICE_IP,IP:$NODE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN"
cert kubelet-serving "/CN=$NODE_NAME" "extendedKeyUsage=serverAuth
subjectAltName=IP:$NODE_IP,IP:127.0.0.1,DNS:$NODE_NAME"
client apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
client admin "/O=system:masters/CN=prod-mirror-admin"
client mirror-operator "/O=prod-mirror:operators/CN=prod-mirror-operator"
client controller-manager "/CN=system:kube-controller-manager"
client scheduler "/CN=system:kube-scheduler"
client kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
client kube-proxy "/CN=system:kube-proxy"
# etcd trusts its own CA only. Trusting the cluster CA would let every certificate the cluster hands
# out (kubelet, kube-proxy, any CSR the controller-manager signs with ca.key) read and write etcd.
ca etcd-ca prod-mirror-etcd-ca
# Server and peer certificate at once: a peer presents it as a client too.
cert etcd-server "/CN=prod-mirror-etcd" "extendedKeyUsage=serverAuth,clientAuth
subjectAltName=IP:127.0.0.1,DNS:localhost" etcd-ca
client apiserver-etcd-client "/CN=kube-apiserver-etcd-client" etcd-ca
if [ ! -s "$P/sa.key" ]; then
  openssl ecparam -name prime256v1 -genkey -noout -out "$P/sa.key" 2>/dev/null
  openssl ec -in "$P/sa.key" -pubout -out "$P/sa.pub" 2>/dev/null
  chmod 600 "$P/sa.key"
fi
kubeconfig admin admin
kubeconfig mirror-operator mirror-operator
kubeconfig controller-manager controller-manager
kubeconfig scheduler scheduler
kubeconfig kubelet kubelet
kubeconfig kube-proxy kube-proxy
