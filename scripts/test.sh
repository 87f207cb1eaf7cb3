#!/usr/bin/env bash
# The README's test command: prepares this machine (packages, containerd 2.1 unpacked, images), builds every
# module with its unit tests, then runs the end-to-end suite through a private containerd and our node.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
. scripts/node-env.sh

scripts/install-deps.sh
scripts/build-images.sh

# The e2e module's NodeExtension brings up containerd and the node; tear both down however the run ends.
cleanup() {
  scripts/kuasar-down.sh >/dev/null 2>&1 || true
  scripts/containerd-down.sh >/dev/null 2>&1 || true
}
trap cleanup EXIT

start=$(date +%s)
KUASAR_E2E=1 mvn -B -ntp install "$@"
echo "suite time: $(( $(date +%s) - start )) s"
