#!/usr/bin/env bash
# oci-image.sh OUT.tar REF ROOTFS_DIR CONFIG_JSON
# Packs ROOTFS_DIR as the single layer of a FROM-scratch image and writes an OCI image layout
# archive that `ctr images import` reads, named REF (e.g. prod-mirror.local/pause:3.10).
# CONFIG_JSON is the image's runtime "config" object, e.g. '{"Entrypoint":["/pause"],"User":"65535"}'.
# The layer is uncompressed and reproducible (sorted, zero mtimes, numeric root owner), so the same
# inputs always give the same image id.
set -euo pipefail
out=$1 ref=$2 rootfs=$3 config=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/blobs/sha256"

blob() { # blob FILE -> moves FILE into blobs/, prints "DIGEST SIZE"
  local d s
  d=$(sha256sum "$1" | cut -d' ' -f1)
  s=$(stat -c %s "$1")
  mv "$1" "$work/blobs/sha256/$d"
  echo "$d $s"
}

tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$work/layer" .
read -r layer_d layer_s < <(blob "$work/layer")

printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$config" "$layer_d" >"$work/config"
read -r config_d config_s < <(blob "$work/config")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
  "$config_d" "$config_s" "$layer_d" "$layer_s" >"$work/manifest"
read -r manifest_d manifest_s < <(blob "$work/manifest")

printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
  "$manifest_d" "$manifest_s" "$ref" "${ref##*:}" >"$work/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"

tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work" -cf "$out.tmp" oci-layout index.json blobs
mv "$out.tmp" "$out"
