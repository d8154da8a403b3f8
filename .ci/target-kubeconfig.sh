#!/usr/bin/env bash
# The external target's cluster on a hosted runner: writes the kubeconfig a CI secret holds (its
# text, in KUBECONFIG_TEXT) to a file only this user reads and prints KUBECONFIG=<file>, for
# $GITHUB_ENV or a dotenv. The secret's text is never printed; a missing secret is an error that
# names it and the alternative.
#   KUBECONFIG_TEXT=... bash .ci/target-kubeconfig.sh DIR SECRET_NAME
set -euo pipefail
dir=${1:?usage: target-kubeconfig.sh DIR SECRET_NAME}
secret=${2:?usage: target-kubeconfig.sh DIR SECRET_NAME}
if [ -z "${KUBECONFIG_TEXT:-}" ]; then
  echo "the CI secret $secret is not set: set it to the target cluster's kubeconfig (README, CI), or use the self-hosted local default (PROD_MIRROR_RUNNER=self-hosted)" >&2
  exit 1
fi
mkdir -p "$dir"
(umask 077 && printf '%s\n' "$KUBECONFIG_TEXT" >"$dir/kubeconfig")
echo "KUBECONFIG=$dir/kubeconfig"
