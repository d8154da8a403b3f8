#!/usr/bin/env bash
# Docker engine from Debian's docker.io, private to prod-mirror: its own containerd, data-root,
# exec-root and pidfile under $PM_STATE/docker, listening only on the unix socket $PM_DOCKER_HOST.
#   install | start | status | stop
. "$(dirname "$0")/../lib.sh"

D=$PM_STATE/docker
SOCK=${PM_DOCKER_HOST#unix://}
CTR_SOCK=$D/containerd/containerd.sock
CTR_CONFIG=$D/containerd/config.toml

# dockerd 20.10 uses /run/containerd/containerd.sock whenever that file exists instead of
# supervising a containerd of its own, and the Kubernetes part may run a containerd there. So the
# engine's containerd is started here, with a socket and directories nobody else uses, and passed
# to dockerd explicitly.
write_containerd_config() {
  mkdir -p "$D/containerd"
  cat >"$CTR_CONFIG" <<TOML
version = 2
root = "$D/containerd/root"
state = "$D/containerd/state"
# The CRI plugin belongs to the Kubernetes part's containerd; this one only serves dockerd.
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$CTR_SOCK"

[plugins."io.containerd.internal.v1.opt"]
  path = "$D/containerd/opt"
TOML
}

docker_cli() { DOCKER_HOST=$PM_DOCKER_HOST DOCKER_CONFIG=$D/client docker "$@"; }

cmd_install() {
  pm_apt_install docker.io iptables
}

cmd_start() {
  mkdir -p "$D/data" "$D/exec" "$D/client"
  chmod 700 "$D" "$D/client"
  if ! pm_alive docker-containerd; then
    write_containerd_config
    pm_start docker-containerd containerd --config "$CTR_CONFIG"
    pm_wait_for "the engine's containerd on $CTR_SOCK" 30 test -S "$CTR_SOCK"
  fi
  if ! pm_alive dockerd; then
    # dockerd sets the FORWARD policy to DROP when it has to turn IP forwarding on itself, which would
    # also drop the Kubernetes part's pod traffic across its bridge; with forwarding already on, it
    # leaves the policy alone and only adds its own chains for docker0.
    [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || echo 1 >/proc/sys/net/ipv4/ip_forward
    # A pidfile left by a killed dockerd makes the next one refuse to start.
    if [ -f "$D/dockerd.pid" ] && ! kill -0 "$(cat "$D/dockerd.pid")" 2>/dev/null; then rm -f "$D/dockerd.pid"; fi
    # --host with a unix:// address only: the engine is never reachable over TCP. --ip-forward and
    # --iptables (dockerd's defaults) give containers the bridge network and published ports.
    pm_start dockerd dockerd \
      --host "$PM_DOCKER_HOST" \
      --containerd "$CTR_SOCK" \
      --data-root "$D/data" \
      --exec-root "$D/exec" \
      --pidfile "$D/dockerd.pid" \
      --storage-driver overlay2 \
      --log-driver json-file --log-opt max-size=10m --log-opt max-file=2
  fi
  pm_wait_for "dockerd on $PM_DOCKER_HOST" 60 docker_cli version
}

cmd_status() {
  local v why=""
  if ! v=$(docker_cli version --format '{{.Server.Version}}' 2>/dev/null) || [ -z "$v" ]; then
    why="dockerd not running"
    pm_alive dockerd && why="dockerd running but not answering on $PM_DOCKER_HOST"
    v=$(dpkg-query -W -f='${Version}' docker.io 2>/dev/null | sed 's/-[^-]*$//' || echo -)
  fi
  pm_status_line docker "$v" "$why"
}

# Shims outlive a killed containerd (they run in their own process group): find the ones that belong
# to OUR containerd by the address on their command line, never by name alone.
our_shims() {
  local p
  for p in /proc/[0-9]*; do
    { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -- "-address $CTR_SOCK" >/dev/null && echo "${p#/proc/}"
  done
  return 0
}

cmd_stop() {
  # dockerd stops its containers on shutdown (no live-restore), then the shims exit by themselves.
  pm_stop dockerd 40
  pm_stop docker-containerd 20
  local pids
  pids=$(our_shims)
  if [ -n "$pids" ]; then
    pm_log "stopping leftover containerd shims: $pids"
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    sleep 1
    pids=$(our_shims)
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  fi
  rm -f "$D/dockerd.pid"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  status) cmd_status ;;
  stop) cmd_stop ;;
  *) echo "usage: $0 install|start|status|stop" >&2; exit 2 ;;
esac
