#!/usr/bin/env bash
# Base images, made here and never pulled from anywhere, in the local engine and the local registry:
#   prod-mirror/debian:$DEBIAN_SUITE   debootstrap --variant=minbase, docker import
#   prod-mirror/python:$DEBIAN_SUITE   the same plus Debian's python3 and python3-boto3 (sample app base)
#   prod-mirror/moto:$MOTO_VERSION     moto[server] on the python base, runs as any non-root uid
# Each carries a label with a cache key (suite, package list, recipe); `install` makes only what is
# missing or stale in the engine or the registry, so a warm run builds nothing.
#   install | start | status | stop
. "$(dirname "$0")/../lib.sh"

LABEL=org.prod-mirror.cache-key
CREDENTIALS=$PM_STATE/registry/credentials.env
IMG_CACHE=$PM_CACHE/images
export DOCKER_HOST=$PM_DOCKER_HOST DOCKER_CONFIG=$PM_STATE/docker/client DOCKER_BUILDKIT=0

PYTHON_PACKAGES=python3,python3-boto3
MOTO_CONTEXT=$PM_ROOT/local/images/moto

registry_has() { python3 "$PM_ROOT/local/images/registry.py" "$CREDENTIALS" "$PM_REGISTRY_ADDR" has "prod-mirror/$1" "$2" "$LABEL=$3"; }
engine_has() {
  [ "$(docker image inspect --format "{{index .Config.Labels \"$LABEL\"}}" "prod-mirror/$1:$2" 2>/dev/null)" = "$3" ]
}

# logged NAME CMD... : CMD's output goes to $PM_LOGS/images-NAME.log, whose tail is shown if it fails.
logged() {
  local log=$PM_LOGS/images-$1.log
  shift
  "$@" >"$log" 2>&1 || { tail -n 20 "$log" >&2; pm_die "$1 failed; see $log"; }
}

# The machine's own Debian mirror, as apt is configured (deb822 .sources or one-line .list files).
debian_mirror() {
  local f url=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    url=$(awk -v suite="$DEBIAN_SUITE" '
      /^[[:space:]]*$/ { if (uris != "" && ok) { print uris; exit } uris = ""; ok = 0; next }
      /^URIs:/ { uris = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
      END { if (uris != "" && ok) print uris }' "$f" | head -n1)
    [ -z "$url" ] || break
  done
  if [ -z "$url" ]; then
    url=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk -v suite="$DEBIAN_SUITE" '$1 == "deb" && $0 !~ /\[/ && $3 == suite { print $2; exit }')
  fi
  [ -n "$url" ] || pm_die "no Debian mirror for suite $DEBIAN_SUITE in /etc/apt/sources.list{,.d/*}"
  echo "$url"
}

# debootstrap_import NAME KEY [INCLUDE] : a minbase root (plus INCLUDE packages), imported as one layer.
debootstrap_import() {
  local name=$1 key=$2 include=${3:-} mirror work
  mirror=$(debian_mirror)
  mkdir -p "$IMG_CACHE/debs/$DEBIAN_SUITE"
  work=$(mktemp -d "$IMG_CACHE/root.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  # The .deb cache keeps a second debootstrap (and a rebuild after a bump) from downloading again.
  pm_timed "images: debootstrap $DEBIAN_SUITE ($name)" logged "debootstrap-$name" debootstrap --variant=minbase \
    --cache-dir="$IMG_CACHE/debs/$DEBIAN_SUITE" ${include:+--include="$include"} \
    "$DEBIAN_SUITE" "$work/rootfs" "$mirror"
  rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/"*.bin "$work/rootfs/var/log/"*.log
  pm_timed "images: docker import prod-mirror/$name:$DEBIAN_SUITE" bash -c '
    tar --numeric-owner -C "$1/rootfs" -c . |
      docker import --change "LABEL $2=$3" --change "CMD [\"$4\"]" - "prod-mirror/$5:$6" >/dev/null' \
    _ "$work" "$LABEL" "$key" "$([ "$name" = python ] && echo python3 || echo bash)" "$name" "$DEBIAN_SUITE"
  rm -rf "$work"
  trap - EXIT
}

build_moto() {
  local key=$1 venv site ctx
  venv=$(bash "$PM_ROOT/local/emulator/venv.sh")
  site=$(echo "$venv"/lib/python3.*/site-packages)
  # A context of our own: the recipe from the repo, the venv's packages from the cache (hard links,
  # so nothing is copied on disk). pip itself stays out of the image.
  ctx=$IMG_CACHE/moto-context
  rm -rf "$ctx"
  mkdir -p "$ctx"
  cp "$MOTO_CONTEXT"/* "$ctx/"
  cp -al "$site" "$ctx/site"
  rm -rf "$ctx/site"/pip "$ctx/site"/pip-*
  # World-readable for any uid; done here because a chmod in the Dockerfile would copy every file
  # into a second layer.
  chmod -R a+rX "$ctx"
  pm_timed "images: docker build prod-mirror/moto:$MOTO_VERSION" logged build-moto \
    docker build --label "$LABEL=$key" --build-arg "BASE=prod-mirror/python:$DEBIAN_SUITE" \
    --tag "prod-mirror/moto:$MOTO_VERSION" "$ctx"
  rm -rf "$ctx"
}

# Cache keys: the recipe (the function bodies, comments aside) and its inputs; a change rebuilds that
# image and the ones built on it.
key_of() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }
DEBIAN_KEY=$(key_of "$(declare -f debootstrap_import)" "$DEBIAN_SUITE" minbase)
PYTHON_KEY=$(key_of "$DEBIAN_KEY" "$PYTHON_PACKAGES")
MOTO_KEY=$(key_of "$PYTHON_KEY" "$(declare -f build_moto)" "$MOTO_VERSION" "$(cat "$MOTO_CONTEXT"/*)")
# name tag key, in build order
IMAGES=(
  "debian $DEBIAN_SUITE $DEBIAN_KEY"
  "python $DEBIAN_SUITE $PYTHON_KEY"
  "moto $MOTO_VERSION $MOTO_KEY"
)

# ensure NAME TAG KEY : in the engine and in the registry, with this key, whichever way is cheapest.
ensure() {
  local name=$1 tag=$2 key=$3 local_ref remote_ref in_engine=0 in_registry=0
  local_ref=prod-mirror/$name:$tag
  remote_ref=$PM_REGISTRY_ADDR/$local_ref
  engine_has "$name" "$tag" "$key" && in_engine=1
  registry_has "$name" "$tag" "$key" && in_registry=1
  if [ $in_engine = 1 ] && [ $in_registry = 1 ]; then return 0; fi
  if [ $in_engine = 0 ] && [ $in_registry = 1 ]; then
    pm_timed "images: pull $remote_ref" logged "pull-$name" docker pull "$remote_ref"
    docker tag "$remote_ref" "$local_ref"
    return 0
  fi
  if [ $in_engine = 0 ]; then
    case $name in
      debian) debootstrap_import debian "$key" ;;
      python) debootstrap_import python "$key" "$PYTHON_PACKAGES" ;;
      moto) build_moto "$key" ;;
    esac
  fi
  docker tag "$local_ref" "$remote_ref"
  pm_timed "images: push $remote_ref" logged "push-$name" docker push "$remote_ref"
}

cmd_install() {
  pm_apt_install debootstrap
  docker version >/dev/null 2>&1 || pm_die "docker is not running (bash local/parts/docker.sh start)"
  python3 "$PM_ROOT/local/images/registry.py" "$CREDENTIALS" "$PM_REGISTRY_ADDR" probe ||
    pm_die "the registry does not answer (bash local/parts/registry.sh start)"
  [ -f "$DOCKER_CONFIG/config.json" ] || bash "$PM_ROOT/local/parts/registry.sh" login
  local line
  for line in "${IMAGES[@]}"; do
    # shellcheck disable=SC2086
    ensure $line
  done
  # Images a rebuild replaced: untagged, and carrying our label (nothing else is touched).
  docker image prune --force --filter "label=$LABEL" >/dev/null
}

cmd_status() {
  local line name tag key missing=()
  for line in "${IMAGES[@]}"; do
    read -r name tag key <<<"$line"
    registry_has "$name" "$tag" "$key" 2>/dev/null || missing+=("prod-mirror/$name:$tag")
  done
  pm_status_line images "$DEBIAN_SUITE/moto-$MOTO_VERSION" "${missing[*]:+not in the registry: ${missing[*]}}"
}

case "${1:-}" in
  install) cmd_install ;;
  start) ;; # images are files in the engine and the registry: nothing runs
  status) cmd_status ;;
  stop) ;;
  *) echo "usage: $0 install|start|status|stop" >&2; exit 2 ;;
esac
