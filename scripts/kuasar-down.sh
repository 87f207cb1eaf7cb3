#!/usr/bin/env bash
# Stop the Kuasar host started by kuasar-up.sh (SIGTERM, then SIGKILL) and kill and delete the containers its
# runc driver left behind. Teardown only: pods do not survive this. Safe to run when nothing runs.
# Run it before containerd-down.sh, which removes $KUASAR_NODE_DIR (pid file and runc state included).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/node-env.sh"

PID_FILE="$KUASAR_NODE_DIR/kuasar.pid"
RUNC_ROOT="${KUASAR_HOST_RUNC_ROOT:-$KUASAR_NODE_DIR/kuasar/run/runc/runc}"
LISTEN_ARG="-Dkuasar.listen=$KUASAR_SANDBOXER_SOCK"

# Our host: a java whose command line carries our listen socket (so a pid reused by another process, or a
# host of another node dir, is never touched).
is_host() {
  local pid=$1
  [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$LISTEN_ARG"
}
# The pid file's process, plus any host of this node whose pid file was lost (e.g. node dir removed under it).
host_pids() {
  local pid p
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  is_host "$pid" && echo "$pid"
  for p in $(pgrep -x java || true); do
    [[ $p != "$pid" ]] && is_host "$p" && echo "$p"
  done
  return 0
}

mapfile -t pids < <(host_pids)
if ((${#pids[@]})); then
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 100); do   # up to 10 s for a clean stop
    alive=()
    for p in "${pids[@]}"; do is_host "$p" && alive+=("$p"); done
    ((${#alive[@]})) || break
    sleep 0.1
  done
  for p in "${pids[@]}"; do
    if is_host "$p"; then
      echo "kuasar-down: host $p ignored SIGTERM for 10 s; killing it" >&2
      kill -KILL "$p" 2>/dev/null || true
    fi
  done
  echo "kuasar-down: stopped host ${pids[*]}"
fi

# Containers of the runc driver outlive the host by design; for teardown, kill and delete them.
if [[ -d $RUNC_ROOT ]]; then
  for id in $("$KUASAR_RUNC_BIN" --root "$RUNC_ROOT" list -q 2>/dev/null || true); do
    "$KUASAR_RUNC_BIN" --root "$RUNC_ROOT" kill "$id" KILL >/dev/null 2>&1 || true
    "$KUASAR_RUNC_BIN" --root "$RUNC_ROOT" delete --force "$id" >/dev/null 2>&1 || true
    echo "kuasar-down: removed leftover container $id"
  done
fi

rm -f "$PID_FILE" "$KUASAR_SANDBOXER_SOCK" "$KUASAR_NODE_DIR/kuasar.jar.stamp"
