#!/usr/bin/env bash
# Issue 4's benchmark: stock `runc` (shim + pause per pod) against `kuasar-runc`, side by side in one containerd.
# P1 serial pod start (PODS per handler, alternating), P2 PARALLEL pods at once (ROUNDS rounds), memory by pod count
# (P3 per pod, P4 node PSS), and removal of all pods. Prints tables; writes bench/results/runc-vs-stock.txt and the
# charts bench/results/runc-start-cdf.png and bench/results/runc-memory.png (see docs/benchmarks.md).
# Usage: bench/runc-vs-stock.sh [PODS [PARALLEL [ROUNDS]]]   (defaults 50 10 3)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$repo/scripts/node-env.sh"
if [[ ! -f $repo/host/target/kuasar.jar || ! -f $repo/bench/target/kuasar-bench.jar ]]; then
  (cd "$repo" && mvn -B -q install -DskipTests)
fi
"$repo/scripts/install-deps.sh" >/dev/null
"$repo/scripts/containerd-up.sh" >/dev/null
"$repo/scripts/kuasar-up.sh" >/dev/null
java -Djava.awt.headless=true -cp "$repo/bench/target/kuasar-bench.jar:$repo/bench/target/lib/*" \
  io.kuasar.bench.RuncBench "${1:-50}" "${2:-10}" "${3:-3}"
