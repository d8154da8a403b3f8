#!/usr/bin/env bash
# run-moto.sh PORT : moto's server on 127.0.0.1:PORT, in the foreground. The process the caller
# started IS the server (exec), so the caller stops it with that pid. The venv is built on first use.
. "$(dirname "$0")/../lib.sh"

port=${1:?usage: local/emulator/run-moto.sh PORT}
venv=$(bash "$PM_ROOT/local/emulator/venv.sh")
# moto keeps everything in memory; HOME only catches what its libraries may write.
export HOME=${MOTO_HOME:-$PM_STATE/emulator/home}
mkdir -p "$HOME"
exec "$venv/bin/moto_server" -H 127.0.0.1 -p "$port"
