#!/usr/bin/env bash
# The local environment's one entry point: `up`, `status`, `down`.
#   up      installs what is missing (cached under ~/.cache/prod-mirror), starts what is stopped,
#           and prints how to use it. Safe to run again at any time.
#   status  one line per part; exits 0 only when every part answers.
#   down    stops every process `up` started, by the pid it recorded; keeps caches and state.
# Each part is a script local/parts/<part>.sh taking install|start|status|stop.
. "$(dirname "$0")/lib.sh"

# Start order matters: images need docker and the registry; kubernetes imports images built
# by the images part; the emulator image is pushed to the registry. actionlint (for the tests of
# .github/workflows) depends on nothing.
PARTS_UP=(pulumi actionlint docker registry images kubernetes emulator)

# 9>&-: the lock is this script's alone; a daemon a part starts must not inherit it and hold it
# for as long as it runs.
part() { bash "$PM_ROOT/local/parts/$1.sh" "$2" 9>&-; }

# Two `up`s at once (two pipelines, two test suites) would both configure the same bridge, ports
# and daemons: `up` and `down` take turns on one lock file.
serialize() {
  mkdir -p "$PM_STATE"
  exec 9>"$PM_STATE/env.lock"
  if ! flock -n 9; then
    pm_log "another 'local/env.sh up|down' is running; waiting for it"
    flock 9
  fi
}

# Every `prod-mirror up|down|reap` runs `up`, and walking every part costs 4-5 s when all is up. A
# full `up` therefore ends by writing a stamp: a fingerprint of every file that defines the
# environment (versions.env, the part scripts, image and cluster sources, access/) and the pid record of
# each daemon. While both match, with every daemon alive, the next `up` is done; an edit, a
# version bump, a dead or restarted daemon, or `down` takes the full path again.
UP_STAMP=$PM_RUN/up.stamp

up_fingerprint() {
  { cd "$PM_ROOT" && find local access -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    printf '%s\n' "$PM_CACHE" "$PM_REGISTRY_ADDR"; } | sha256sum | cut -c1-16
}

write_up_stamp() {
  local f
  { up_fingerprint
    for f in "$PM_RUN"/*.pid; do printf '%s %s\n' "$(basename "$f" .pid)" "$(cat "$f")"; done
  } >"$UP_STAMP.tmp"
  mv "$UP_STAMP.tmp" "$UP_STAMP"
}

up_stamp_holds() {
  local fingerprint name pid start daemons=0
  [ -f "$UP_STAMP" ] || return 1
  { read -r fingerprint
    [ "$fingerprint" = "$(up_fingerprint)" ] || return 1
    while read -r name pid start; do
      [ "$(pm_pid "$name" 2>/dev/null)" = "$pid" ] && [ "$(cut -d' ' -f2 "$PM_RUN/$name.pid")" = "$start" ] || return 1
      daemons=$((daemons + 1))
    done
  } <"$UP_STAMP"
  # A stamp with no daemons in it proves nothing.
  [ "$daemons" -gt 0 ]
}

cmd_up() {
  local t0=$SECONDS p
  serialize
  if up_stamp_holds; then
    pm_log "local environment up: unchanged since $(date -r "$UP_STAMP" +%H:%M:%S), every daemon alive (full check: rm $UP_STAMP)"
    print_usage
    return 0
  fi
  rm -f "$UP_STAMP"
  for p in "${PARTS_UP[@]}"; do
    pm_timed "$p: install" part "$p" install
    pm_timed "$p: start" part "$p" start
  done
  pm_log "local environment up in $((SECONDS - t0))s"
  cmd_status || pm_die "a part does not answer after up; see the logs in $PM_LOGS"
  write_up_stamp
  print_usage
}

cmd_status() {
  local ok=0 p
  for p in pulumi kubernetes registry docker emulator actionlint; do part "$p" status || ok=1; done
  return $ok
}

cmd_down() {
  local i
  serialize
  rm -f "$UP_STAMP"
  for ((i = ${#PARTS_UP[@]} - 1; i >= 0; i--)); do part "${PARTS_UP[$i]}" stop; done
  pm_log "local environment stopped (caches kept in $PM_CACHE, state in $PM_STATE)"
}

print_usage() {
  cat <<USAGE

The local environment is up. To use it from a shell:
  export PATH="$PM_BIN:\$PATH"
  export KUBECONFIG="$PM_OPERATOR_KUBECONFIG"
  export DOCKER_HOST="$PM_DOCKER_HOST"
  export DOCKER_CONFIG="$PM_STATE/docker/client"
  export PULUMI_BACKEND_URL="$PM_PULUMI_BACKEND_URL"
  export PULUMI_CONFIG_PASSPHRASE_FILE="$PM_STATE/pulumi-passphrase"
  export PULUMI_HOME="$PM_PULUMI_HOME"
KUBECONFIG is the group prod-mirror:operators (access/); cluster-admin: $PM_KUBECONFIG
Registry (htpasswd auth):   http://$PM_REGISTRY_ADDR  (credentials: $PM_STATE/registry/credentials.env)
AWS emulator for tests:     $(part emulator endpoint 2>/dev/null || echo "see local/parts/emulator.sh")
Or run 'eval "\$(bash local/env.sh shellenv)"'.
USAGE
}

cmd_shellenv() {
  cat <<SH
export PATH="$PM_BIN:\$PATH"
export KUBECONFIG="$PM_OPERATOR_KUBECONFIG"
export PROD_MIRROR_ADMIN_KUBECONFIG="$PM_KUBECONFIG"
export DOCKER_HOST="$PM_DOCKER_HOST"
export DOCKER_CONFIG="$PM_STATE/docker/client"
export PULUMI_BACKEND_URL="$PM_PULUMI_BACKEND_URL"
export PULUMI_CONFIG_PASSPHRASE_FILE="$PM_STATE/pulumi-passphrase"
export PULUMI_HOME="$PM_PULUMI_HOME"
export PULUMI_SKIP_UPDATE_CHECK=1
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PROD_MIRROR_STATE="$PM_STATE"
export PROD_MIRROR_CACHE="$PM_CACHE"
export PROD_MIRROR_REGISTRY="$PM_REGISTRY_ADDR"
SH
}

case "${1:-}" in
  up) cmd_up ;;
  status) cmd_status ;;
  down) cmd_down ;;
  shellenv) cmd_shellenv ;;
  *) echo "usage: bash local/env.sh up|status|down|shellenv" >&2; exit 2 ;;
esac
