#!/usr/bin/env bash
# Ensures the moto server venv, $PM_CACHE/moto/$MOTO_VERSION, and prints its path. Shared by the
# emulator part (moto on 127.0.0.1) and the images part (its site-packages go into the emulator image,
# which runs Debian's python3 of the same minor version).
. "$(dirname "$0")/../lib.sh"

VENV=$PM_CACHE/moto/$MOTO_VERSION
STAMP=$VENV/.prod-mirror-complete

if [ ! -f "$STAMP" ]; then
  # The image runs this site-packages with Debian $DEBIAN_SUITE's python3: same minor, same ABI.
  want=$(sed -n 's/^DEBIAN_PYTHON_MINOR=//p' "$PM_ROOT/local/versions.env")
  have=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  [ -z "$want" ] || [ "$have" = "$want" ] ||
    pm_die "python3 on PATH is $have but Debian $DEBIAN_SUITE has $want; put a python$want first on PATH"
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  # umask 022: the emulator image runs these files as an arbitrary non-root uid.
  (
    umask 022
    pm_timed "moto: venv + pip install moto[server]==$MOTO_VERSION" bash -c '
      python3 -m venv "$1" &&
      "$1/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$2" >&2' _ "$VENV" "$MOTO_VERSION"
  )
  touch "$STAMP"
fi
echo "$VENV"
