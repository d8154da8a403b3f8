#!/usr/bin/env bash
# The AWS emulator (moto's server) on 127.0.0.1:$EMULATOR_PORT for tests, from a venv in
# $PM_CACHE/moto/$MOTO_VERSION. The same server as an image, for the `emulated` cloud mode inside a
# branch's namespace, is made by the images part; status checks both.
#   install | start | status | stop | endpoint
. "$(dirname "$0")/../lib.sh"

EMULATOR_PORT=4566
ENDPOINT=http://127.0.0.1:$EMULATOR_PORT
CREDENTIALS=$PM_STATE/registry/credentials.env

answers() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "$ENDPOINT/moto-api/"; }
image_in_registry() {
  python3 "$PM_ROOT/local/images/registry.py" "$CREDENTIALS" "$PM_REGISTRY_ADDR" has prod-mirror/moto "$MOTO_VERSION"
}

cmd_install() {
  bash "$PM_ROOT/local/emulator/venv.sh" >/dev/null
}

cmd_start() {
  pm_start emulator bash "$PM_ROOT/local/emulator/run-moto.sh" "$EMULATOR_PORT"
  pm_wait_for "moto on $ENDPOINT" 60 answers
}

cmd_status() {
  local why=""
  if ! answers 2>/dev/null; then
    why="no answer on $ENDPOINT"
    pm_alive emulator || why="not running"
  elif ! image_in_registry 2>/dev/null; then
    why="image $PM_REGISTRY_ADDR/prod-mirror/moto:$MOTO_VERSION not in the registry"
  fi
  pm_status_line emulator "moto $MOTO_VERSION" "$why"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  status) cmd_status ;;
  stop) pm_stop emulator 10 ;;
  endpoint) echo "$ENDPOINT" ;;
  *) echo "usage: $0 install|start|status|stop|endpoint" >&2; exit 2 ;;
esac
