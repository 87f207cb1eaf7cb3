#!/usr/bin/env bash
# driver-wasm's benchmark (see docs/benchmarks.md, section "Wasm"):
#  1. start-to-first-output of the test module's "hello": Chicory (compiled and interpreted) and Wasmtime (JNI)
#     inside a JVM, as the node runs them, against a WasmEdge process (interpreter, and its AOT-compiled copy);
#  2. a compute-heavy run ("compute N") on each engine;
#  3. CRI pod start (RunPodSandbox + CreateContainer + StartContainer) of kuasar-wasm, kuasar-wasmtime and
#     kuasar-wasmedge against
#     stock runc busybox pods in the same containerd, and the host memory each running container adds.
# Usage: bench/wasm.sh [PODS [RUNS [ROUNDS]]]   (defaults 20 pods per handler, 50 hello runs, 2000 compute rounds)
# Prints a table and writes it to bench/results/wasm.txt (raw figures: bench/results/wasm-raw.txt).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$repo/scripts/node-env.sh"
PODS="${1:-20}" RUNS="${2:-50}" ROUNDS="${3:-2000}"
WASM_IMAGE="${KUASAR_WASM_TEST_IMAGE:-localhost/kuasar/wasm-test:1.0}"
MODULE="$KUASAR_IMAGE_DIR/wasm-test.wasm"
WASMEDGE="${KUASAR_WASMEDGE_ROOT:-$KUASAR_CACHE/wasmedge}/bin/wasmedge"
JAR="${KUASAR_JAR:-$repo/host/target/kuasar.jar}"
BENCH_JAR="${KUASAR_BENCH_JAR:-$repo/bench/target/kuasar-bench.jar}"
ENGINE_JAR="$repo/driver-wasm/engine/target/kuasar-driver-wasm-engine-0.1.0-SNAPSHOT.jar"
WASMTIME_JAR="$repo/driver-wasm/engine-wasmtime/target/kuasar-driver-wasm-engine-wasmtime-0.1.0-SNAPSHOT.jar"
KIT_JAR="$repo/driver-kit/target/kuasar-driver-kit-0.1.0-SNAPSHOT.jar"
DRIVER_JAR="$repo/driver-wasm/driver/target/kuasar-driver-wasm-driver-0.1.0-SNAPSHOT.jar"
out="$repo/bench/results"; mkdir -p "$out"
raw="$out/wasm-raw.txt"

bash "$repo/scripts/deps.d/wasm.sh" >/dev/null
bash "$repo/scripts/images.d/wasm.sh" >/dev/null
[[ -f $ENGINE_JAR && -f $WASMTIME_JAR && -f $DRIVER_JAR && -f $KIT_JAR ]] ||
  (cd "$repo" && mvn -B -q install -DskipTests -pl driver-kit,driver-wasm,driver-wasm/engine,driver-wasm/engine-wasmtime,driver-wasm/driver)
[[ -f $BENCH_JAR ]] || { echo "bench/wasm.sh: $BENCH_JAR missing: build it (mvn -B install -DskipTests)" >&2; exit 1; }

# 1 + 2: engines alone. The engine classes, Chicory and Wasmtime come from the engine bundles (unpacked, with their
# embedded jars; Wasmtime's JNI library from the bundle's native code), jnr-ffi and jffi from the driver kit.
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && mkdir engine && cd engine && unzip -q "$ENGINE_JAR")
(cd "$tmp" && mkdir wasmtime && cd wasmtime && unzip -q "$WASMTIME_JAR")
cp_engine="$tmp/engine:$(ls "$tmp"/engine/lib/*.jar | tr '\n' ':')$tmp/wasmtime:$(ls "$tmp"/wasmtime/lib/*.jar | tr '\n' ':')$KIT_JAR"
"$WASMEDGE" compile "$MODULE" "$tmp/wasm-test-aot.wasm" >/dev/null 2>&1
echo "# bench/wasm.sh $(date -u +%FT%TZ) pods=$PODS runs=$RUNS rounds=$ROUNDS" >"$raw"
java -XX:+UseSerialGC -Djava.library.path="$tmp/wasmtime/native/linux-$(uname -m)" -cp "$cp_engine" \
  "$repo/bench/wasm/WasmEngineBench.java" \
  "$MODULE" "$WASMEDGE" "$RUNS" "$ROUNDS" "$tmp/wasm-test-aot.wasm" | tee -a "$raw"

# 3: through CRI, on the private containerd and node (the wasm bundles are dropped in when the node lacks them).
"$repo/scripts/containerd-up.sh" >/dev/null
"$repo/scripts/kuasar-up.sh" >/dev/null
admin=(java -jar "$JAR" --admin-socket "$KUASAR_NODE_DIR/kuasar/run/admin.sock")
if ! "${admin[@]}" drivers 2>/dev/null | grep -qw wasm; then
  mkdir -p "$KUASAR_NODE_DIR/kuasar/drivers"
  for j in "$ENGINE_JAR" "$WASMTIME_JAR" "$DRIVER_JAR"; do cp "$j" "$tmp/x.jar" && mv "$tmp/x.jar" "$KUASAR_NODE_DIR/kuasar/drivers/$(basename "$j")"; done
  for _ in $(seq 100); do "${admin[@]}" drivers 2>/dev/null | grep -qw wasmedge && break; sleep 0.2; done
fi
java -cp "$BENCH_JAR:$(dirname "$BENCH_JAR")/lib/*" "$repo/bench/wasm/WasmCriBench.java" "$PODS" "$WASM_IMAGE" | tee -a "$raw"

# The table.
f() { grep -m1 "^$1 $2" "$raw" | sed -E "s/^$1 $2 //"; }
{
  echo "Wasm engines and pods ($(date -u +%F), $(nproc) CPUs; pods=$PODS per handler, hello runs=$RUNS, compute rounds=$ROUNDS)"
  printf '%-22s | %-34s | %-26s\n' "engine" "hello: start to first output (ms)" "compute $ROUNDS rounds (ms)"
  for e in chicory-compiled chicory-interpreted wasmtime wasmedge wasmedge-aot; do
    printf '%-22s | %-34s | %-26s\n' "$e" "$(f "$e" hello_first_output_ms)" "$(f "$e" compute_ms)"
  done
  echo "chicory-compiled: module prepared (parse + compile) once in $(f chicory-compiled prepare_ms) ms, first run $(f chicory-compiled first_run_ms) ms"
  echo "wasmtime: module prepared (check + Cranelift compile into its cache) once in $(f wasmtime prepare_ms) ms, first run $(f wasmtime first_run_ms) ms"
  echo
  printf '%-16s | %-34s | %-40s\n' "CRI handler" "pod start (ms)" "host memory per running container"
  for h in runc kuasar-wasm kuasar-wasmtime kuasar-wasmedge; do
    mem="$(grep -m1 "^$h memory_per_" "$raw" | sed -E 's/^[^ ]+ memory_per_[a-z]+_kb //')"
    printf '%-16s | %-34s | %-40s\n' "$h" "$(f "$h" pod_start_ms)" "$mem"
  done
  rm_=$(f runc pod_start_ms | awk '{print $2}'); wm=$(f kuasar-wasm pod_start_ms | awk '{print $2}')
  rp=$(f runc pod_start_ms | awk '{print $4}'); wp=$(f kuasar-wasm pod_start_ms | awk '{print $4}')
  awk -v a="$rm_" -v b="$wm" -v c="$rp" -v d="$wp" 'BEGIN { if (b > 0 && d > 0) printf "kuasar-wasm vs stock runc pod start: median %.2fx faster, p90 %.2fx faster\n", a / b, c / d }'
} | tee "$out/wasm.txt"
