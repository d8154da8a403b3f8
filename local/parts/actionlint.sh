#!/usr/bin/env bash
# actionlint, the linter for GitHub Actions workflows, which tests/local runs on every file under
# .github/workflows (the pipelines never run here, so a mistake in them would otherwise surface only
# on GitHub). Built from its Go module at ACTIONLINT_VERSION, like the Pulumi CLI, because no release
# download is reachable here; with it the Debian suite's shellcheck, which actionlint runs on every
# `run:` script when it is given one.
#   install | start | status | stop | path
# Binary: $PM_CACHE/actionlint/<version>/bin/actionlint, symlinked into $PM_BIN. Not a daemon.
. "$(dirname "$0")/../lib.sh"

BIN=$PM_CACHE/actionlint/$ACTIONLINT_VERSION/bin/actionlint

build() {
  pm_go_env
  mkdir -p "$(dirname "$BIN")"
  # `go install MODULE@VERSION` builds with the module's own go.mod (it has no replace directives) and
  # records the version in the binary, which `actionlint -version` prints.
  GOBIN=$(dirname "$BIN") go install -trimpath -ldflags "-s -w" "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION"
}

cmd_install() {
  [ -x "$BIN" ] || pm_timed "actionlint: building v$ACTIONLINT_VERSION" build
  ln -sfn "$BIN" "$PM_BIN/actionlint"
  # Without shellcheck actionlint silently skips the scripts; the suite's own package is pinned by
  # DEBIAN_SUITE like every other Debian package here.
  pm_apt_install shellcheck
}

cmd_status() {
  local why=""
  if [ ! -x "$BIN" ]; then
    why="not built (bash local/parts/actionlint.sh install)"
  elif ! command -v shellcheck >/dev/null; then
    why="shellcheck not installed"
  fi
  pm_status_line actionlint "v$ACTIONLINT_VERSION" "$why"
}

case "${1:-}" in
  install) cmd_install ;;
  start | stop) ;;
  status) cmd_status ;;
  path) echo "$BIN" ;;
  *) echo "usage: $0 install|start|status|stop|path" >&2; exit 2 ;;
esac
