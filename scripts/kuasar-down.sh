#!/usr/bin/env bash
# Stop the Kuasar host started by kuasar-up.sh (SIGTERM, then SIGKILL) and kill and delete the containers its
# runc driver left behind. Teardown only: pods do not survive this. Safe to run when nothing runs.
# A host run by the keeper (the default) is stopped through the keeper: SIGTERM to it stops the JVM, then it
# exits. The keeper goes first, so it never restarts a JVM this script stopped.
# Run it before containerd-down.sh, which removes $KUASAR_NODE_DIR (pid file and runc state included).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/node-env.sh"

PID_FILE="$KUASAR_NODE_DIR/kuasar.pid"
RUNC_ROOT="${KUASAR_HOST_RUNC_ROOT:-$KUASAR_NODE_DIR/kuasar/run/runc/runc}"
LISTEN_ARG="-Dkuasar.listen=$KUASAR_SANDBOXER_SOCK"

# Our host: a java, or the keeper running it, whose command line carries our listen socket (so a pid reused by
# another process, or a host of another node dir, is never touched).
is_host() {
  local pid=$1
  [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$LISTEN_ARG"
}
# The pid file's process, plus any host of this node whose pid file was lost (e.g. node dir removed under it):
# keepers first, then JVMs that no keeper of ours runs (those stop with their keeper).
host_pids() {
  local pid p keepers=()
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  for p in $pid $(pgrep -x kuasar-keeper || true); do
    [[ $(cat "/proc/$p/comm" 2>/dev/null) == kuasar-keeper ]] && is_host "$p" && keepers+=("$p")
  done
  printf '%s\n' "${keepers[@]}" | sort -u
  for p in $pid $(pgrep -x java || true); do
    is_host "$p" || continue
    [[ $(cat "/proc/$p/comm" 2>/dev/null) == kuasar-keeper ]] && continue
    local parent; parent="$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null || true)"
    [[ " ${keepers[*]} " == *" $parent "* ]] && continue
    echo "$p"
  done | sort -u
  return 0
}

mapfile -t pids < <(host_pids | grep .)
if ((${#pids[@]})); then
  for p in "${pids[@]}"; do   # in order: keepers, then lone JVMs
    kill -TERM "$p" 2>/dev/null || true
  done
  for _ in $(seq 100); do   # up to 10 s for a clean stop
    alive=()
    for p in "${pids[@]}"; do is_host "$p" && alive+=("$p"); done
    ((${#alive[@]})) || break
    sleep 0.1
  done
  for p in "${pids[@]}"; do
    if is_host "$p"; then
      echo "kuasar-down: host $p ignored SIGTERM for 10 s; killing it" >&2
      kids="$(pgrep -P "$p" -x java || true)"   # a keeper's JVM must not outlive it
      kill -KILL "$p" $kids 2>/dev/null || true
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

# The vmm driver's VMs (a QEMU per pod and its template) outlive the host by design, like containers; for teardown,
# end those whose QMP socket lives under this node's dir (never another node's).
for q in $(pgrep -f "qemu-system-.*unix:$KUASAR_NODE_DIR/kuasar/" || true); do
  kill -KILL "$q" 2>/dev/null && echo "kuasar-down: killed leftover VM $q"
done

# Its output holders (`sleep` renamed kuasar-vmm-hold-ID, holding containerd's FIFOs open across a JVM restart):
# those holding FIFOs under this node's dir.
for h in $(pgrep -f "^kuasar-vmm-hold-" || true); do
  if ls -l "/proc/$h/fd" 2>/dev/null | grep -qF -- "$KUASAR_NODE_DIR/"; then
    kill -KILL "$h" 2>/dev/null && echo "kuasar-down: killed leftover output holder $h"
  fi
done

# The runc driver's pty holders (one `sleep` per TTY process, holding its terminal across node restarts): each is
# recorded as "<pid> <starttime>"; a process whose start time differs reused the pid and is left alone.
for rec in "$KUASAR_NODE_DIR"/kuasar/run/runc/tasks/*/*/tty-*.holder; do
  [[ -f $rec ]] || continue
  read -r hpid hstart _ <"$rec" || continue
  now="$(awk '{sub(/.*\) /, ""); print $20}' "/proc/$hpid/stat" 2>/dev/null || true)"
  if [[ -n $hstart && $now == "$hstart" ]]; then
    kill -KILL "$hpid" 2>/dev/null && echo "kuasar-down: killed leftover pty holder $hpid"
  fi
done

rm -f "$PID_FILE" "$KUASAR_SANDBOXER_SOCK" "$KUASAR_NODE_DIR/kuasar.jar.stamp"
