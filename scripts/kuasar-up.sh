#!/usr/bin/env bash
# Start the Kuasar host (host/target/kuasar.jar): containerd's 'runc' sandboxer (proxy plugin) on
# $KUASAR_SANDBOXER_SOCK. Up means that socket exists. No-op when it already runs from the current jar; a host
# that died, lost its socket or runs an older build of the jar is stopped (kuasar-down.sh) and started again.
# Log: $KUASAR_NODE_DIR/kuasar.log.
#
# By default the JVM runs under the node's keeper (host/keeper, built to $KUASAR_NODE_DIR/kuasar/bin): it restarts
# the JVM when it dies (kill -9 included), holds containerd's task connections across the restart and records the
# exits of containers while no JVM runs. The pid file then names the keeper (SIGTERM stops it and the JVM).
# KUASAR_KEEPER=0 runs the JVM alone, as before. Keeper log: $KUASAR_NODE_DIR/keeper.log.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/node-env.sh"

JAR="${KUASAR_JAR:-$KUASAR_REPO/host/target/kuasar.jar}"
JAVA="${KUASAR_JAVA:-java}"
LOG="$KUASAR_NODE_DIR/kuasar.log"
PID_FILE="$KUASAR_NODE_DIR/kuasar.pid"
STAMP_FILE="$KUASAR_NODE_DIR/kuasar.jar.stamp"
LISTEN_ARG="-Dkuasar.listen=$KUASAR_SANDBOXER_SOCK"
# The node is I/O bound and long-lived: a small serial heap, C1 only and small stacks keep its PSS low
# (measured with bench/pod-start.sh: 97 MB against 149 MB with the JVM's defaults, 10 pods, and no slower).
# Then (native memory tracking, 30 pods: docs/benchmarks.md): the heap gives back what it does not use (free ratios),
# a 16 MB code cache suffices for C1, metaspace is returned eagerly, Netty keeps one pooled arena per kind instead of
# one per core, and glibc two malloc arenas: about 10 MB less. The free ratios (40-70 %) leave the old generation room:
# at 10-30 % a busy node (bench/driver-upgrade.sh runsc) paused for a full GC of 45-85 ms every ~4 s, 16 in 65 s,
# against 4-5 at these, for 2.7 MiB more PSS with 20 pods (docs/benchmarks.md, "Driver upgrades under load").
DEFAULT_JAVA_OPTS="-XX:+UseSerialGC -Xms8m -Xmx96m -XX:MinHeapFreeRatio=40 -XX:MaxHeapFreeRatio=70 -Xss256k"
DEFAULT_JAVA_OPTS+=" -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:ReservedCodeCacheSize=16m -XX:MaxMetaspaceSize=96m"
DEFAULT_JAVA_OPTS+=" -XX:MetaspaceReclaimPolicy=aggressive -Dio.netty.allocator.numDirectArenas=1"
DEFAULT_JAVA_OPTS+=" -Dio.netty.allocator.numHeapArenas=1"
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"

KEEPER="${KUASAR_KEEPER:-1}"
KEEPER_BIN="${KUASAR_KEEPER_BIN:-$KUASAR_NODE_DIR/kuasar/bin/kuasar-keeper}"
KEEPER_DIR="$KUASAR_NODE_DIR/kuasar/run/keeper"
KEEPER_LOG="$KUASAR_NODE_DIR/keeper.log"

# The node dir must be ours (made with a plain mkdir, or checked: node-env.sh); the node checks its own dirs too.
kuasar_node_dir "$KUASAR_NODE_DIR" || { echo "kuasar-up: unsafe node directory; see above" >&2; exit 1; }
[[ -f $JAR ]] || { echo "kuasar-up: $JAR missing; build it with: mvn -B install -DskipTests" >&2; exit 1; }
JAR="$(realpath "$JAR")"   # the host runs in its own directory, below
[[ $(id -u) == 0 ]] || { echo "kuasar-up: must run as root (runc, namespaces, cgroups)" >&2; exit 1; }
# Which build of the jar the running host was started from: a rebuilt jar must not be tested through a stale host.
stamp="$(stat -c '%Y %s %i' "$JAR") keeper=$KEEPER"
# Tests only: KUASAR_TEST_HALT_FILE arms crash points in Task API calls (see HaltPoints in ttrpc-endpoint)
HALT_ARG=()
if [[ -n ${KUASAR_TEST_HALT_FILE:-} ]]; then
  HALT_ARG=(-Dkuasar.test.haltFile="$KUASAR_TEST_HALT_FILE")
  stamp="$stamp halt=$KUASAR_TEST_HALT_FILE"
fi
if [[ $KEEPER == 1 ]]; then
  [[ -x $KUASAR_REPO/host/keeper/build.sh ]] || { echo "kuasar-up: host/keeper/build.sh missing; set KUASAR_KEEPER=0 to run without the keeper" >&2; exit 1; }
  install -d -m 700 "$KUASAR_NODE_DIR/kuasar" "$(dirname "$KEEPER_BIN")"
  "$KUASAR_REPO/host/keeper/build.sh" "$KEEPER_BIN"   # no-op when up to date
  stamp="$stamp $(stat -c '%Y %s %i' "$KEEPER_BIN")"
fi
((${#KUASAR_SANDBOXER_SOCK} < 100)) || { echo "kuasar-up: socket path too long for sun_path: $KUASAR_SANDBOXER_SOCK" >&2; exit 1; }

alive() {
  local pid; pid="$(cat "$PID_FILE" 2>/dev/null)" || return 1
  [[ -n $pid && -r /proc/$pid/cmdline ]] && tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$LISTEN_ARG"
}
up() { alive && [[ -S $KUASAR_SANDBOXER_SOCK ]]; }

# The node refuses to start on unsafe directories or a socket another node serves (exit 78, "refusing to start"
# in the log); under the keeper it would only be restarted to refuse again: stop it and say why.
refused() { sed -n "$LOG_START,\$p" "$LOG" 2>/dev/null | grep -m5 "refusing to start"; }
wait_up() {
  for _ in $(seq 300); do   # ~30 s
    up && return 0
    alive || break
    if refused >&2; then
      "$HERE/kuasar-down.sh" >/dev/null || true
      echo "kuasar-up: the node refused to start (above); log $LOG" >&2
      return 1
    fi
    sleep 0.1
  done
  if refused >&2; then echo "kuasar-up: the node refused to start (above)" >&2; return 1; fi
  if up; then return 0; fi
  if alive; then
    echo "kuasar-up: host $(cat "$PID_FILE") does not listen on $KUASAR_SANDBOXER_SOCK after 30 s; log $LOG:" >&2
  else
    echo "kuasar-up: host exited; log $LOG:" >&2
  fi
  tail -30 "$LOG" >&2 || true
  return 1
}

current() { [[ "$(cat "$STAMP_FILE" 2>/dev/null)" == "$stamp" ]]; }
# First log line of the running node's start (refused() reads from there).
LOG_START="$(grep -n '^=== kuasar-up' "$LOG" 2>/dev/null | tail -1 | cut -d: -f1 || true)"
LOG_START="${LOG_START:-1}"

if up && current; then echo "kuasar-up: host $(cat "$PID_FILE") already on $KUASAR_SANDBOXER_SOCK"; exit 0; fi
if alive && ! current; then
  echo "kuasar-up: $JAR (or the keeper, or KUASAR_KEEPER) changed since host $(cat "$PID_FILE") started; restarting it" >&2
elif alive; then
  # Started moments ago (by a concurrent caller): give it its start-up time before judging it.
  if wait_up; then echo "kuasar-up: host $(cat "$PID_FILE") on $KUASAR_SANDBOXER_SOCK"; exit 0; fi
  echo "kuasar-up: restarting it" >&2
fi
# A dead or socket-less host, or one whose pid file was lost: stop it. A stale socket would look "up".
"$HERE/kuasar-down.sh" >/dev/null

install -d -m 700 "$KUASAR_NODE_DIR/kuasar" "$KUASAR_NODE_DIR/kuasar/state" "$KUASAR_NODE_DIR/kuasar/run" \
  "$KUASAR_NODE_DIR/kuasar/drivers" "$KUASAR_NODE_DIR/kuasar/config"
# Development only: KUASAR_ALLOW_UNSIGNED=1 lets the node install unsigned driver bundles (logged at every install).
UNSIGNED_ARG=()
[[ ${KUASAR_ALLOW_UNSIGNED:-0} == 1 ]] && UNSIGNED_ARG=(-Dkuasar.bundles.allowUnsigned=true)
KEEPER_CMD=()
if [[ $KEEPER == 1 ]]; then
  install -d -m 700 "$KEEPER_DIR"
  KEEPER_CMD=("$KEEPER_BIN" --dir "$KEEPER_DIR" --log "$KEEPER_LOG" --)
fi
echo "=== kuasar-up $(date -u +%FT%TZ) ===" >>"$LOG"
LOG_START="$(wc -l <"$LOG")"
# setsid + nohup + no stdin: the host outlives the caller's session, terminal and CI step. No fork happens
# here (a background job is no group leader), so $! is the java process itself, or the keeper that runs it. Its working directory is
# the node's, so relative paths of the launcher (fileinstall's ./load) never land in the caller's directory.
cd "$KUASAR_NODE_DIR/kuasar"
# shellcheck disable=SC2086  # KUASAR_JAVA_OPTS is a list of options
setsid nohup "${KEEPER_CMD[@]}" "$JAVA" ${KUASAR_JAVA_OPTS:-$DEFAULT_JAVA_OPTS} \
  "$LISTEN_ARG" \
  -Dkuasar.state.dir="$KUASAR_NODE_DIR/kuasar/state" \
  -Dkuasar.run.dir="$KUASAR_NODE_DIR/kuasar/run" \
  -Dkuasar.containerd.ttrpc="$CONTAINERD_SOCK.ttrpc" \
  -Dgosh.args=--nointeractive \
  -Dkuasar.drivers.dir="$KUASAR_NODE_DIR/kuasar/drivers" \
  -Dkuasar.config.dir="$KUASAR_NODE_DIR/kuasar/config" \
  -Dkuasar.metrics.listen="$KUASAR_METRICS_LISTEN" \
  "${UNSIGNED_ARG[@]}" \
  "${HALT_ARG[@]}" \
  "-Djava.util.logging.SimpleFormatter.format=%1\$tFT%1\$tT.%1\$tLZ %4\$s %3\$s: %5\$s%6\$s%n" \
  -jar "$JAR" </dev/null >>"$LOG" 2>&1 &
echo $! >"$PID_FILE"
echo "$stamp" >"$STAMP_FILE"

wait_up
echo "kuasar-up: host $(cat "$PID_FILE") on $KUASAR_SANDBOXER_SOCK"
