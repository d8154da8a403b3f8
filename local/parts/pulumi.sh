#!/usr/bin/env bash
# Pulumi CLI, Node.js language host and the kubernetes provider plugin, built from their Go modules
# (no release download is reachable here), plus the project-owned file backend and passphrase.
#   install | start | status | stop
# Binaries:  $PM_CACHE/pulumi/<what>-<version>/bin/…, symlinked into $PM_BIN.
# Plugins:   installed with `pulumi plugin install --file` into PULUMI_HOME=$PM_PULUMI_HOME.
# Nothing here runs as a daemon: start and stop have nothing to do.
. "$(dirname "$0")/../lib.sh"

# Nothing the local environment runs may reach for the network: no update check, no plugin download.
export PULUMI_HOME=$PM_PULUMI_HOME
export PULUMI_SKIP_UPDATE_CHECK=1 PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

PP=$PM_ROOT/local/pulumi
P=$PM_CACHE/pulumi
BUILD=$PM_CACHE/build
CLI_V=$PULUMI_CLI_VERSION
NODEJS_V=$PULUMI_NODEJS_HOST_VERSION
K8S_V=$PULUMI_KUBERNETES_VERSION
CLI_BIN=$P/cli-$CLI_V/bin/pulumi
NODEJS_BIN=$P/language-nodejs-$NODEJS_V/bin/pulumi-language-nodejs
K8S_BIN=$P/kubernetes-$K8S_V/bin/pulumi-resource-kubernetes
PASSPHRASE=$PM_STATE/pulumi-passphrase
BACKEND_DIR=${PM_PULUMI_BACKEND_URL#file://}

# mod_download MODULE@VERSION : prints the `go mod download -json` answer; dies with the proxy's own
# error when that version cannot be had (the answer then carries an "Error" field).
mod_download() {
  local out err
  out=$(go mod download -json "$1" 2>/dev/null) || true
  err=$(printf '%s' "$out" | node -e 'let t="";process.stdin.on("data",c=>t+=c).on("end",()=>{try{console.log(JSON.parse(t).Error??"")}catch{console.log("no answer")}})')
  [ -z "$err" ] || pm_die "cannot download $1 from the Go module proxy: $err"
  printf '%s' "$out"
}
json_field() { node -e 'let t="";process.stdin.on("data",c=>t+=c).on("end",()=>console.log(JSON.parse(t)[process.argv[1]]??""))' "$1"; }

# wrapper_module DIR DEP_MODULE@VERSION [MODULE@VERSION...] : writes DIR/go.mod requiring these
# modules and repeating the first one's replace directives that point at other modules.
wrapper_module() {
  local dir=$1 dep=$2 m gomod r
  rm -rf "$dir" && mkdir -p "$dir"
  gomod=$(mod_download "$dep" | json_field GoMod)
  printf 'module prod-mirror.local/build/%s\n\ngo %s\n' "$(basename "$dir")" \
    "$(go mod edit -json "$gomod" | json_field Go)" >"$dir/go.mod"
  for m in "${@:2}"; do (cd "$dir" && go mod edit -require="$m"); done
  while read -r r; do
    [ -n "$r" ] && (cd "$dir" && go mod edit -replace="$r")
  done < <(go mod edit -json "$gomod" | node "$PP/replaces.js")
}

# go_build DIR PKG@VERSION OUT LDFLAGS : resolves PKG's dependencies in the wrapper module DIR and
# builds it the way Pulumi's release builds do (static, trimmed paths, pure-Go os/user, no x/net/trace).
go_build() {
  local dir=$1 pkg=${2%@*} out=$3 ldflags=$4
  (cd "$dir" && go get "$2" && go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg")
  mv -f "$out.tmp" "$out"
}

build_cli() {
  [ -x "$CLI_BIN" ] && return 0
  pm_go_env
  local dir=$BUILD/pulumi-cli-$CLI_V
  mkdir -p "$(dirname "$CLI_BIN")"
  wrapper_module "$dir" "github.com/pulumi/pulumi/pkg/v3@v$CLI_V" "github.com/pulumi/pulumi/sdk/v3@v$CLI_V"
  pm_timed "pulumi: building the CLI v$CLI_V" go_build "$dir" "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$CLI_V" "$CLI_BIN" \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$CLI_V"
  rm -rf "$dir"
}

# The language host's own module (sdk/nodejs/cmd/pulumi-language-nodejs/v3) is not served by the Go
# module proxy here, at any version. Up to v3.68.0 the same program was a package of the sdk/v3
# module, which is served, so it is built from there. The CLI still speaks to such an older host: it
# falls back from every RPC added since (GetRequiredPackages, Handshake, ...) on Unimplemented.
build_nodejs_host() {
  [ -x "$NODEJS_BIN" ] && return 0
  pm_go_env
  local dir=$BUILD/pulumi-language-nodejs-$NODEJS_V
  mkdir -p "$(dirname "$NODEJS_BIN")"
  wrapper_module "$dir" "github.com/pulumi/pulumi/sdk/v3@v$NODEJS_V"
  pm_timed "pulumi: building pulumi-language-nodejs v$NODEJS_V" go_build "$dir" \
    "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs@v$NODEJS_V" "$NODEJS_BIN" \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$NODEJS_V"
  rm -rf "$dir"
}

# The provider module has no tags of its own: it is taken at the pseudo-version of the commit of tag
# v$K8S_V. Its main package embeds files that its own generate step writes from the committed
# schema.json, so the module is built as the main module in a writable copy, where that step runs.
build_kubernetes() {
  [ -x "$K8S_BIN" ] && return 0
  pm_go_env
  local src dir=$BUILD/pulumi-kubernetes-$K8S_V
  src=$(mod_download "github.com/pulumi/pulumi-kubernetes/provider/v4@$PULUMI_KUBERNETES_PROVIDER_MODULE" | json_field Dir)
  rm -rf "$dir" && mkdir -p "$(dirname "$dir")" "$(dirname "$K8S_BIN")"
  cp -R "$src" "$dir" && chmod -R u+w "$dir"
  # Its only replace points at the repository's ../sdk; the provider imports no package of it, the
  # published sdk module of the same release stands in for it in the module graph.
  (cd "$dir" && go mod edit -dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4 \
    -require="github.com/pulumi/pulumi-kubernetes/sdk/v4@v$K8S_V")
  (
    cd "$dir"
    export GOFLAGS="$GOFLAGS -mod=mod"
    pm_timed "pulumi: kubernetes provider schema (go generate)" \
      env VERSION="$K8S_V" go generate ./cmd/pulumi-resource-kubernetes
    pm_timed "pulumi: building pulumi-resource-kubernetes v$K8S_V" \
      go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_V" \
      -o "$K8S_BIN.tmp" ./cmd/pulumi-resource-kubernetes
  )
  mv -f "$K8S_BIN.tmp" "$K8S_BIN"
  rm -rf "$dir"
}

plugin_listed() { # KIND NAME VERSION
  pulumi plugin ls --json 2>/dev/null | node -e '
    let t = ""; process.stdin.on("data", (c) => (t += c)).on("end", () => {
      const [kind, name, version] = process.argv.slice(1);
      const ok = JSON.parse(t || "[]").some((p) => p.kind === kind && p.name === name && p.version === version);
      process.exit(ok ? 0 : 1);
    });' "$@"
}

cmd_install() {
  build_cli
  build_nodejs_host
  build_kubernetes
  # The CLI looks for its language host and the dynamic-provider shim next to its own (resolved)
  # executable first, as in Pulumi's release archives; found on PATH instead, it warns on every run.
  local cli_dir
  cli_dir=$(dirname "$CLI_BIN")
  ln -sfn "$NODEJS_BIN" "$cli_dir/pulumi-language-nodejs"
  cmp -s "$PP/pulumi-resource-pulumi-nodejs" "$cli_dir/pulumi-resource-pulumi-nodejs" ||
    install -m 755 "$PP/pulumi-resource-pulumi-nodejs" "$cli_dir/pulumi-resource-pulumi-nodejs"
  ln -sfn "$CLI_BIN" "$PM_BIN/pulumi"
  # The plugin goes into PULUMI_HOME under its version, not on PATH: a plugin found on PATH is used
  # for whatever version a program asks for, which would hide a version mismatch.
  if ! plugin_listed resource kubernetes "$K8S_V"; then
    pm_timed "pulumi: installing the kubernetes plugin into $PULUMI_HOME" \
      pulumi plugin install resource kubernetes "$K8S_V" --file "$K8S_BIN"
  fi
  mkdir -p "$BACKEND_DIR"
  if [ ! -s "$PASSPHRASE" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 >"$PASSPHRASE")
  fi
  chmod 600 "$PASSPHRASE"
}

cmd_status() {
  local v why=""
  if ! v=$(pulumi version 2>/dev/null); then
    why="pulumi not installed"
  elif ! plugin_listed resource kubernetes "$K8S_V"; then
    why="kubernetes plugin $K8S_V not installed in $PULUMI_HOME"
  elif [ ! -s "$PASSPHRASE" ] || [ ! -d "$BACKEND_DIR" ]; then
    why="no passphrase or backend directory"
  fi
  if [ -z "$why" ]; then v="$v (kubernetes $K8S_V, language-nodejs v$NODEJS_V)"; else v="v$CLI_V"; fi
  pm_status_line pulumi "$v" "$why"
}

case "${1:-}" in
  install) cmd_install ;;
  start | stop) ;;
  status) cmd_status ;;
  *) echo "usage: $0 install|start|status|stop" >&2; exit 2 ;;
esac
