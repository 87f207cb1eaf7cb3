#!/usr/bin/env bash
# Restart the private containerd the way an operator upgrading it would: SIGTERM, wait, start it again from the
# same config, leaving its state, shims, pods and our node alone (containerd-down.sh would remove them all).
# Usage: scripts/containerd-restart.sh [SECONDS_DOWN]   (default 0: start again at once)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/node-env.sh"

pid="$(cat "$CONTAINERD_PID_FILE" 2>/dev/null || true)"
ours() { [[ -n $pid && "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" == "$(readlink -f "$CONTAINERD_BIN")" ]]; }
ours || { echo "containerd-restart: no containerd of ours runs (pid file $CONTAINERD_PID_FILE)" >&2; exit 1; }
kill -TERM "$pid"
for _ in $(seq 100); do ours || break; sleep 0.1; done
ours && { echo "containerd-restart: containerd $pid still runs 10 s after SIGTERM" >&2; exit 1; }
sleep "${1:-0}"

setsid nohup "$CONTAINERD_BIN" --config "$CONTAINERD_CONFIG" </dev/null >>"$CONTAINERD_LOG" 2>&1 &
echo $! >"$CONTAINERD_PID_FILE"
for _ in $(seq 100); do
  timeout 5 $CTR version >/dev/null 2>&1 && { echo "containerd-restart: containerd $(cat "$CONTAINERD_PID_FILE") on $CONTAINERD_SOCK"; exit 0; }
  sleep 0.1
done
echo "containerd-restart: no answer on $CONTAINERD_SOCK after 10 s; see $CONTAINERD_LOG" >&2
exit 1
