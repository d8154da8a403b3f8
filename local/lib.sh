# Shared shell helpers for the local environment. Source it; it defines no behaviour on its own.
# Every part script (local/parts/*.sh) uses these so that state, caches, logs and pids live in one
# predictable place and every process we start can be stopped by the pid we recorded.

set -euo pipefail

PM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=versions.env
. "$PM_ROOT/local/versions.env"

# Long builds: outside the repo, keyed by version, survive local:down and fresh clones.
PM_CACHE=${PROD_MIRROR_CACHE:-$HOME/.cache/prod-mirror}
# Runtime state: certificates, kubeconfig, etcd data, registry data, pid files, logs, Pulumi backend.
PM_STATE=${PROD_MIRROR_STATE:-$HOME/.local/state/prod-mirror}
PM_RUN=$PM_STATE/run
PM_LOGS=$PM_STATE/logs
PM_BIN=$PM_CACHE/bin          # stable symlinks to the versioned builds, put first on PATH
mkdir -p "$PM_CACHE" "$PM_STATE" "$PM_RUN" "$PM_LOGS" "$PM_BIN"
export PATH="$PM_BIN:$PATH"

# Addresses every part agrees on. Hosts reach everything on 127.0.0.1.
PM_REGISTRY_ADDR=${PROD_MIRROR_REGISTRY_ADDR:-127.0.0.1:5000}
PM_DOCKER_HOST=unix://$PM_STATE/docker/docker.sock
PM_KUBECONFIG=$PM_STATE/kubernetes/admin.kubeconfig
# The group prod-mirror:operators (access/): what the CLI and the tests use, so that they run with
# the least privilege a team's cluster grants; admin.kubeconfig is for the environment's set-up.
PM_OPERATOR_KUBECONFIG=$PM_STATE/kubernetes/mirror-operator.kubeconfig
PM_PULUMI_BACKEND_URL=file://$PM_STATE/pulumi-backend
# Pulumi's plugins and workspace files, kept apart from a user's own ~/.pulumi.
PM_PULUMI_HOME=$PM_STATE/pulumi-home

pm_log() { printf '[local %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
pm_die() { printf '[local %s] error: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

# Field 22 of /proc/PID/stat is the start time in clock ticks; pairing it with the pid means a
# recycled pid is never mistaken for the process we started. A zombie (state Z, field 3) counts as
# gone: our daemons' parent is PID 1, which here reaps them only every second or two. The same rule
# as cli/process-record.ts (processStartOf), parsed the same way: the command name (field 2) may
# hold spaces and ")", so fields are counted from the last ") ".
pm__starttime() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '$1 != "Z" {print $20}'; }

# pm_pid NAME -> prints the recorded pid if that very process is still alive, else fails.
pm_pid() {
  local f=$PM_RUN/$1.pid pid start
  [ -f "$f" ] || return 1
  read -r pid start <"$f" || return 1
  [ -n "$pid" ] && [ "$(pm__starttime "$pid")" = "$start" ] || return 1
  echo "$pid"
}
pm_alive() { pm_pid "$1" >/dev/null; }

# A daemon outlives whatever started it, so it must not inherit that caller's descriptors: a lock
# held by `flock LOCK npm start` or a CI job, a pipe a test reads to its end. Inherited, such a
# descriptor stays open for the daemon's whole life and the lock is never released (seen: a
# registry restarted under `flock` blocked every later `flock` on that file).
pm__close_inherited_fds() {
  local fd
  for fd in /proc/$BASHPID/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

# pm_start NAME CMD... : starts CMD in its own session, output to $PM_LOGS/NAME.log, pid recorded.
# Idempotent: does nothing when NAME is already running.
pm_start() {
  local name=$1; shift
  if pm_alive "$name"; then return 0; fi
  local log=$PM_LOGS/$name.log
  printf '\n==== %s starting: %s\n' "$(date -Is)" "$*" >>"$log"
  # The subshell execs setsid, so $! is the daemon's own pid, as before.
  (pm__close_inherited_fds; exec setsid "$@") </dev/null >>"$log" 2>&1 &
  local pid=$!
  local start=""
  for _ in 1 2 3 4 5 6 7 8 9 10; do start=$(pm__starttime "$pid") && [ -n "$start" ] && break; sleep 0.05; done
  [ -n "$start" ] || pm_die "$name exited at once; see $log"
  echo "$pid $start" >"$PM_RUN/$name.pid"
}

# pm_stop NAME [GRACE_SECONDS] : TERM the recorded process group, KILL after the grace period.
pm_stop() {
  local name=$1 grace=${2:-20} pid
  if ! pid=$(pm_pid "$name"); then rm -f "$PM_RUN/$name.pid"; return 0; fi
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local i=0
  while pm_alive "$name" && [ $i -lt $((grace * 10)) ]; do sleep 0.1; i=$((i + 1)); done
  if pm_alive "$name"; then
    pm_log "$name did not stop in ${grace}s, killing pid $pid"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$PM_RUN/$name.pid"
}

# pm_status_line PART VERSION [WHY] : the one line `local/env.sh status` prints per part. With a
# reason the part is DOWN and the call fails, so a part's status can end with it.
pm_status_line() {
  if [ -z "${3:-}" ]; then
    printf '%s  %s  ok\n' "$1" "$2"
    return 0
  fi
  printf '%s  %s  DOWN (%s)\n' "$1" "$2" "$3"
  return 1
}

# pm_wait_for DESCRIPTION TIMEOUT_SECONDS CMD... : polls CMD until it succeeds.
pm_wait_for() {
  local desc=$1 timeout=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || pm_die "timed out after ${timeout}s waiting for $desc"
    sleep 0.5
  done
}

# pm_apt_install PKG... : installs the Debian packages that are missing, running `apt-get update` once.
pm_apt_install() {
  local missing=() p
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'ok installed' >/dev/null || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  pm_log "installing Debian packages: ${missing[*]}"
  if [ ! -f "$PM_STATE/.apt-updated" ] || [ -n "$(find "$PM_STATE/.apt-updated" -mmin +720 2>/dev/null)" ]; then
    apt-get update -qq && touch "$PM_STATE/.apt-updated"
  fi
  # Packages with a service (docker.io, docker-registry, containerd, etcd-server) would start it from
  # their init script; every daemon here is started by a part script instead, by a pid it records.
  # A policy-rc.d that denies starts is put in place for the install unless one already exists.
  local own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    own_policy=1
    printf '#!/bin/sh\n# prod-mirror: no service starts during package installs\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || rc=$?
  [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
  return $rc
}

# pm_timed LABEL CMD... : runs CMD and logs how long it took (progress for long steps).
pm_timed() {
  local label=$1; shift
  local t0=$SECONDS
  pm_log "$label ..."
  "$@"
  pm_log "$label done in $((SECONDS - t0))s"
}

# pm_go_env : Go builds keep their module and build caches under PM_CACHE, never download a
# toolchain, and produce static binaries (the images that carry them are FROM scratch).
pm_go_env() {
  export GOMODCACHE=$PM_CACHE/go/mod GOCACHE=$PM_CACHE/go/build
  export GOFLAGS=-modcacherw GOTOOLCHAIN=local CGO_ENABLED=0
}
