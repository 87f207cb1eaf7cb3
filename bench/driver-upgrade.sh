#!/usr/bin/env bash
# Driver upgrades under load (issues 3 and 14): PODS pods of one driver running, that driver upgraded UPGRADES times
# in a row over the admin socket while a loop creates and deletes pods and two loops probe the running pods
# (PodSandboxStatus, and ExecSync or, for Wasm, ContainerStats). Reports the unavailable window per upgrade, failed
# requests and leaked fds, mounts, cgroups and processes. Prints a table and writes
# bench/results/driver-upgrade-DRIVER.txt.
# Usage: bench/driver-upgrade.sh [DRIVER=runc] [PODS] [UPGRADES]
#   DRIVER: runc (50 pods, 20 upgrades), runsc (10, 20), wasmedge (20, 20) or vmm (3, 10), or all: each in turn.
#   (as root; node settings from scripts/node-env.sh, e.g.
#   KUASAR_NODE_DIR=/tmp/kn-up KUASAR_CNI_BRIDGE=kuasar7 KUASAR_CNI_SUBNET=10.88.84.0/24 KUASAR_CGROUP_PARENT=/kuasar7)
# The node runs a private copy of host/target/kuasar.jar ($KUASAR_NODE_DIR/bench-upgrade/kuasar.jar), so a rebuild
# of the repository during the run does not change the jar under it. Leaves the node up; stop it with
# scripts/kuasar-down.sh && scripts/containerd-down.sh (same environment).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$repo/scripts/node-env.sh"
for f in host/target/kuasar.jar bench/target/kuasar-bench.jar; do
  [[ -f $repo/$f ]] || { echo "driver-upgrade: $f missing; build it first (mvn -B install -DskipTests)" >&2; exit 1; }
done
"$repo/scripts/install-deps.sh" >/dev/null
"$repo/scripts/containerd-up.sh" >/dev/null
snap="$KUASAR_NODE_DIR/bench-upgrade"
mkdir -p "$snap"
cmp -s "$repo/host/target/kuasar.jar" "$snap/kuasar.jar" 2>/dev/null || cp "$repo/host/target/kuasar.jar" "$snap/kuasar.jar.tmp"
[[ -f $snap/kuasar.jar.tmp ]] && mv "$snap/kuasar.jar.tmp" "$snap/kuasar.jar"
export KUASAR_JAR="$snap/kuasar.jar"
# The bench upgrades to repacks of the node's driver bundle signed again with this build's key (target/build-signer,
# which the node jar trusts): the upgrades pass the node's signature checks as a release would.
"$repo/scripts/kuasar-up.sh" >/dev/null
drivers=("${1:-runc}")
[[ ${1:-} == all ]] && drivers=(runc runsc wasmedge vmm)
for d in "${drivers[@]}"; do
  java -cp "$repo/bench/target/kuasar-bench.jar:$repo/bench/target/lib/*" io.kuasar.bench.DriverUpgradeBench \
    "$d" "${2:-}" "${3:-}" "$KUASAR_JAR"
done
