#!/usr/bin/env bash
# Serial pod start and per-pod runtime memory, stock `runc` handler against `kuasar-runc`, in one containerd.
# Usage: bench/pod-start.sh [PODS]   (default 20). Prints a table and writes bench/results/pod-start.txt.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$repo/scripts/node-env.sh"
if [[ ! -f $repo/host/target/kuasar.jar || ! -f $repo/e2e/target/kuasar-e2e.jar ]]; then
  (cd "$repo" && mvn -B -q install -DskipTests)
fi
"$repo/scripts/install-deps.sh" >/dev/null
"$repo/scripts/containerd-up.sh" >/dev/null
"$repo/scripts/kuasar-up.sh" >/dev/null
java -cp "$repo/e2e/target/kuasar-e2e.jar:$repo/e2e/target/lib/*" io.kuasar.e2e.bench.PodStartBench "${1:-20}"
