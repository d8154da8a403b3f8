#!/usr/bin/env bash
# Image registry from Debian's docker-registry on $PM_REGISTRY_ADDR only, storage and htpasswd (bcrypt)
# auth under $PM_STATE/registry. The credentials are made once and kept in
# $PM_STATE/registry/credentials.env (mode 600); our docker engine is logged in with them, its client
# config in $PM_STATE/docker/client (export DOCKER_CONFIG to use it from a shell).
#   install | start | status | stop
. "$(dirname "$0")/../lib.sh"

R=$PM_STATE/registry
CREDENTIALS=$R/credentials.env
HTPASSWD=$R/htpasswd
CONFIG=$R/config.yml
DOCKER_CLIENT_CONFIG=$PM_STATE/docker/client
USERNAME=prod-mirror

registry_api() { python3 "$PM_ROOT/local/images/registry.py" "$CREDENTIALS" "$PM_REGISTRY_ADDR" "$@"; }

ensure_credentials() {
  mkdir -p "$R"
  chmod 700 "$R"
  if [ ! -s "$CREDENTIALS" ]; then
    pm_log "generating the registry credentials in $CREDENTIALS"
    # Hex only: the password travels through env files, htpasswd and dockerconfigjson unquoted.
    local password
    password=$(python3 -c 'import secrets; print(secrets.token_hex(20))')
    (umask 077 && printf 'REGISTRY_USERNAME=%s\nREGISTRY_PASSWORD=%s\n' "$USERNAME" "$password" >"$CREDENTIALS.tmp")
    mv "$CREDENTIALS.tmp" "$CREDENTIALS"
    rm -f "$HTPASSWD"
  fi
  chmod 600 "$CREDENTIALS"
  if [ ! -s "$HTPASSWD" ]; then
    # -i reads the password from stdin, so it never shows on a command line.
    (umask 077 && . "$CREDENTIALS" && printf '%s' "$REGISTRY_PASSWORD" | htpasswd -B -i -c "$HTPASSWD" "$REGISTRY_USERNAME" 2>/dev/null)
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
  addr: $PM_REGISTRY_ADDR
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

cmd_start() {
  ensure_credentials
  stop_package_service
  if ! pm_alive registry; then
    write_config
    pm_start registry docker-registry serve "$CONFIG"
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
  *) echo "usage: $0 install|start|status|stop|login" >&2; exit 2 ;;
esac
