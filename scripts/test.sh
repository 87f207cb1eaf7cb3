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
# Reports older than this marker are an earlier build's: scripts/TestReport.java does not count them.
marker=$(mktemp)
status=0
# The in-Felix tests (host/itest) start runc containers: they run when this runs as root.
KUASAR_ITEST=0; [[ $(id -u) == 0 ]] && KUASAR_ITEST=1
export KUASAR_ITEST
KUASAR_E2E=1 mvn -B -ntp install "$@" || status=$?
echo "suite time: $(( $(date +%s) - start )) s"

# Per module: tests run, failed, skipped and every skip's reason; fails when it cannot tell that everything ran
# (the in-Felix module host/itest runs only as root). With extra Maven arguments (-Dtest=..., -pl ...) a partial
# run is expected, so the report is printed but does not decide the exit status.
itest=(); [[ $KUASAR_ITEST == 1 ]] && itest=(--itest)
report=0
java "$repo/scripts/TestReport.java" "$repo" "$marker" --e2e "${itest[@]}" || report=$?
rm -f "$marker"
if (( status == 0 && $# == 0 )); then
  status=$report
fi
exit "$status"
