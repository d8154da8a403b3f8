#!/usr/bin/env bash
# build-push.sh CONTEXT_DIR IMAGE_REF [DOCKER_BUILD_ARGS...]
# Builds CONTEXT_DIR (its Dockerfile unless -f is passed) with the local engine and pushes IMAGE_REF to
# the registry it names, logged in with the local credentials. IMAGE_REF is `host[:port]/...` or a
# repository path that gets the local registry's prefix (prod-mirror/api:tag -> 127.0.0.1:5000/prod-mirror/api:tag).
# Prints the pushed reference with its digest (ref@sha256:...) on stdout.
. "$(dirname "$0")/../lib.sh"

[ $# -ge 2 ] || pm_die "usage: local/images/build-push.sh CONTEXT_DIR IMAGE_REF [DOCKER_BUILD_ARGS...]"
context=$1 ref=$2
shift 2
[ -d "$context" ] || pm_die "build context $context is not a directory"
# Only a bare repository path gets the prefix: a reference that names its registry (a first part
# with a dot or a port, or localhost, as docker reads it) keeps it, and is never re-aimed at ours.
first=
case "$ref" in */*) first=${ref%%/*} ;; esac
case "$first" in
  *.* | *:* | localhost) ;;
  *) ref=$PM_REGISTRY_ADDR/$ref ;;
esac

export DOCKER_HOST=$PM_DOCKER_HOST DOCKER_CONFIG=$PM_STATE/docker/client
# The docker CLI on PATH may be newer than the engine and lack the buildx plugin; the engine's own
# builder needs neither, and every base image is already in the engine (nothing is pulled).
export DOCKER_BUILDKIT=0
[ -f "$DOCKER_CONFIG/config.json" ] || bash "$PM_ROOT/local/parts/registry.sh" login

docker build --quiet --tag "$ref" "$@" "$context" >/dev/null
docker push --quiet "$ref" >/dev/null
digest=$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$ref" | grep -m1 "^${ref%:*}@")
echo "$digest"
