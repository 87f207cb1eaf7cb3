#!/usr/bin/env bash
# One-command demo: dependencies, build (when needed), containerd + the Kuasar host, then a busybox pod through
# containerd's CRI on the 'kuasar-runc' handler (or the handler given as $1, e.g. 'runc' to compare).
# The node keeps running afterwards; the last lines say how to stop it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/node-env.sh"
HANDLER="${1:-kuasar-runc}"

E2E_TARGET="$KUASAR_REPO/e2e/target"
"$HERE/install-deps.sh"
if [[ ! -f $KUASAR_REPO/host/target/kuasar.jar || ! -f $E2E_TARGET/kuasar-e2e.jar || ! -d $E2E_TARGET/lib ]]; then
  echo "demo: building the project (mvn -B -q install -DskipTests)"
  (cd "$KUASAR_REPO" && mvn -B -q install -DskipTests)
fi
"$HERE/containerd-up.sh"
"$HERE/kuasar-up.sh"

echo "demo: running a pod on handler '$HANDLER' through $CONTAINERD_SOCK"
status=0
java -cp "$E2E_TARGET/kuasar-e2e.jar:$E2E_TARGET/lib/*" io.kuasar.e2e.Demo "$HANDLER" || status=$?

cat <<EOF

The node is still running: containerd on $CONTAINERD_SOCK (log $CONTAINERD_LOG),
the Kuasar host on $KUASAR_SANDBOXER_SOCK (log $KUASAR_NODE_DIR/kuasar.log).
Ask the node how it is, its drivers and pods (the node's CLI finds its admin socket; \`doctor\` checks the host):
  $( [[ $KUASAR_NODE_DIR == /tmp/kuasar-node ]] || printf 'KUASAR_NODE_DIR=%s ' "$KUASAR_NODE_DIR")java -jar $KUASAR_REPO/host/target/kuasar.jar status
Run the demo again with: scripts/demo.sh [kuasar-runc|runc|kuasar-runsc|kuasar-vmm]
Stop everything with:    scripts/kuasar-down.sh && scripts/containerd-down.sh
EOF
exit "$status"
