#!/usr/bin/env bash
# Image registry from Debian's docker-registry, storage and htpasswd (bcrypt) auth under
# $PM_STATE/registry. Two users, made once and kept in $PM_STATE/registry/credentials.env (mode 600):
# REGISTRY_USERNAME pushes (our docker engine is logged in with it, its client config in
# $PM_STATE/docker/client; export DOCKER_CONFIG to use it from a shell), REGISTRY_PULL_USERNAME may
# only pull (it goes into the mirrors' pull secrets). docker-registry gives every htpasswd user every
# right, so it listens on a unix socket inside $PM_STATE/registry (mode 700) and
# local/images/registry-gate.py answers on $PM_REGISTRY_ADDR, refusing writes by anyone but the push
# user. Both run as one process group, the part's one recorded pid.
#   install | start | status | stop
. "$(dirname "$0")/../lib.sh"

R=$PM_STATE/registry
CREDENTIALS=$R/credentials.env
HTPASSWD=$R/htpasswd
CONFIG=$R/config.yml
DOCKER_CLIENT_CONFIG=$PM_STATE/docker/client
SOCKET=$R/registry.sock
USERNAME=prod-mirror  # the push user of a new credentials file
PULL_USERNAME=prod-mirror-pull
# What the running registry was started from; a start with anything else restarts it.
FINGERPRINT=$PM_RUN/registry.fingerprint

registry_api() { python3 "$PM_ROOT/local/images/registry.py" "$CREDENTIALS" "$PM_REGISTRY_ADDR" "$@"; }

new_password() {
  # Hex only: passwords travel through env files, htpasswd and dockerconfigjson unquoted.
  python3 -c 'import secrets; print(secrets.token_hex(20))'
}

# Credentials files made before the pull user existed keep their push user as it is and gain the
# pull user; htpasswd is rebuilt whenever it lacks either user.
ensure_credentials() {
  mkdir -p "$R"
  chmod 700 "$R"
  if [ ! -s "$CREDENTIALS" ]; then
    pm_log "generating the registry's push credentials in $CREDENTIALS"
    (umask 077 && printf 'REGISTRY_USERNAME=%s\nREGISTRY_PASSWORD=%s\n' "$USERNAME" "$(new_password)" >"$CREDENTIALS.tmp")
    mv "$CREDENTIALS.tmp" "$CREDENTIALS"
  fi
  if ! grep -q '^REGISTRY_PULL_USERNAME=' "$CREDENTIALS"; then
    pm_log "adding the registry's pull-only user to $CREDENTIALS"
    (umask 077 && cat "$CREDENTIALS" >"$CREDENTIALS.tmp" &&
      printf 'REGISTRY_PULL_USERNAME=%s\nREGISTRY_PULL_PASSWORD=%s\n' "$PULL_USERNAME" "$(new_password)" >>"$CREDENTIALS.tmp")
    mv "$CREDENTIALS.tmp" "$CREDENTIALS"
  fi
  chmod 600 "$CREDENTIALS"
  local push pull
  push=$(. "$CREDENTIALS" && echo "$REGISTRY_USERNAME")
  pull=$(. "$CREDENTIALS" && echo "$REGISTRY_PULL_USERNAME")
  if [ ! -s "$HTPASSWD" ] || ! grep -q "^$push:" "$HTPASSWD" || ! grep -q "^$pull:" "$HTPASSWD"; then
    # -i reads each password from stdin, so none shows on a command line.
    (umask 077 && . "$CREDENTIALS" &&
      printf '%s' "$REGISTRY_PASSWORD" | htpasswd -B -i -c "$HTPASSWD.tmp" "$REGISTRY_USERNAME" 2>/dev/null &&
      printf '%s' "$REGISTRY_PULL_PASSWORD" | htpasswd -B -i "$HTPASSWD.tmp" "$REGISTRY_PULL_USERNAME" 2>/dev/null)
    mv "$HTPASSWD.tmp" "$HTPASSWD"
  fi
}

write_config() {
  mkdir -p "$R/data"
  cat >"$CONFIG" <<YAML
version: 0.1
log:
  level: info
  fields:
    service: prod-mirror-registry
storage:
  filesystem:
    rootdirectory: $R/data
  delete:
    enabled: true
http:
  net: unix
  addr: $SOCKET
  headers:
    X-Content-Type-Options: [nosniff]
auth:
  htpasswd:
    realm: prod-mirror
    path: $HTPASSWD
YAML
}

# The package's init script must not hold the port: policy-rc.d keeps it from starting during the
# install, and this catches a start by hand or by an older install.
stop_package_service() {
  local pidfile=/var/run/docker-registry.pid
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    pm_log "stopping the docker-registry package's own service (pid $(cat "$pidfile"))"
    /etc/init.d/docker-registry stop >/dev/null 2>&1 || kill "$(cat "$pidfile")"
  fi
}

docker_login() {
  mkdir -p "$DOCKER_CLIENT_CONFIG"
  chmod 700 "$DOCKER_CLIENT_CONFIG"
  local out
  # The output holds no secret (only the "stored unencrypted" warning): shown when the login fails.
  out=$(. "$CREDENTIALS" && printf '%s' "$REGISTRY_PASSWORD" |
    DOCKER_HOST=$PM_DOCKER_HOST DOCKER_CONFIG=$DOCKER_CLIENT_CONFIG \
      docker login --username "$REGISTRY_USERNAME" --password-stdin "$PM_REGISTRY_ADDR" 2>&1) ||
    pm_die "docker login to $PM_REGISTRY_ADDR failed: $out"
  chmod 600 "$DOCKER_CLIENT_CONFIG/config.json"
}

cmd_install() {
  pm_apt_install docker-registry apache2-utils
  ensure_credentials
}

fingerprint() { { cat "$CONFIG" "$HTPASSWD" "$PM_ROOT/local/images/registry-gate.py"; declare -f cmd_serve; } | sha256sum | cut -c1-16; }

# The part's process: the registry on its socket and the gate in front, each ending the other.
cmd_serve() {
  rm -f "$SOCKET"
  docker-registry serve "$CONFIG" &
  python3 "$PM_ROOT/local/images/registry-gate.py" "$PM_REGISTRY_ADDR" "$SOCKET" "$(. "$CREDENTIALS" && echo "$REGISTRY_USERNAME")" &
  local rc=0
  wait -n || rc=$?
  # shellcheck disable=SC2046
  kill $(jobs -p) 2>/dev/null || true
  wait || true
  exit "$rc"
}

cmd_start() {
  ensure_credentials
  stop_package_service
  write_config
  # A registry started from another config, htpasswd or gate (an older layout too) would keep
  # serving the old users and rules: restart it.
  if pm_alive registry && [ "$(cat "$FINGERPRINT" 2>/dev/null)" != "$(fingerprint)" ]; then
    pm_log "the registry's config, users or gate changed: restarting it"
    pm_stop registry 10
  fi
  if ! pm_alive registry; then
    fingerprint >"$FINGERPRINT"
    pm_start registry bash "$PM_ROOT/local/parts/registry.sh" serve
  fi
  pm_wait_for "the registry on $PM_REGISTRY_ADDR" 30 registry_api probe
  if DOCKER_HOST=$PM_DOCKER_HOST docker version >/dev/null 2>&1; then
    docker_login
  else
    pm_log "docker is not running: the engine will log in to the registry when the images part starts"
  fi
}

cmd_status() {
  local v why
  v=$(dpkg-query -W -f='${Version}' docker-registry 2>/dev/null | cut -d+ -f1) || v=-
  if why=$(registry_api probe 2>&1); then
    why=""
  else
    pm_alive registry || why="not running"
    why=${why:-no answer on $PM_REGISTRY_ADDR}
  fi
  pm_status_line registry "$v" "$why"
}

cmd_stop() {
  pm_stop registry 10
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  status) cmd_status ;;
  stop) cmd_stop ;;
  login) docker_login ;;
  serve) cmd_serve ;;
  credentials) ensure_credentials ;;
  *) echo "usage: $0 install|start|status|stop|login|serve|credentials" >&2; exit 2 ;;
esac
