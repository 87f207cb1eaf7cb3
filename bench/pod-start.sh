#!/usr/bin/env bash
# Serial pod start and per-pod runtime memory of CRI handlers side by side in one containerd (stock `runc`,
# `kuasar-runc`, `kuasar-runsc`), alternating handlers pod by pod.
# Usage: bench/pod-start.sh [PODS [HANDLERS]]   PODS per handler (default 20); HANDLERS comma-separated
# (default runc,kuasar-runc; e.g. runc,kuasar-runc,kuasar-runsc). Prints a table, writes bench/results/pod-start.txt.
# See docs/benchmarks.md; bench/runsc-alone.sh measures one gVisor sandbox started by hand, for comparison.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$repo/scripts/node-env.sh"
if [[ ! -f $repo/host/target/kuasar.jar || ! -f $repo/bench/target/kuasar-bench.jar ]]; then
  (cd "$repo" && mvn -B -q install -DskipTests)
fi
"$repo/scripts/install-deps.sh" >/dev/null
"$repo/scripts/containerd-up.sh" >/dev/null
"$repo/scripts/kuasar-up.sh" >/dev/null
java -cp "$repo/bench/target/kuasar-bench.jar:$repo/bench/target/lib/*" io.kuasar.bench.PodStartBench "${1:-20}" "${2:-runc,kuasar-runc}"
