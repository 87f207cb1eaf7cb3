#!/usr/bin/env bash
# gVisor sandboxes started by hand with runsc, the baseline for the PSS of a kuasar-runsc pod: the same runsc,
# platform and flags driver-quark uses (--network=host inside a network namespace of its own, entered with nsenter
# as the driver enters the pod's; a private --root per sandbox), each one container running busybox `sleep` from a
# read-only root holding only busybox (like the driver's sandbox container). No app container, no runsc wait
# helper, no node. Prints the PSS (and private memory) of their host processes: sandbox, gofer, platform stubs.
# Start as many as the pods you compare with: PSS splits shared pages (runsc's own text) between the sandboxes.
# Usage: bench/runsc-alone.sh [COUNT [PLATFORM]]   (defaults 1, systrap: the driver's probe's first choice)
set -euo pipefail
count="${1:-1}"
platform="${2:-systrap}"
runsc="${RUNSC:-runsc}"
busybox="${BUSYBOX:-/bin/busybox}"
[[ $(id -u) == 0 ]] || { echo "runsc-alone: needs root" >&2; exit 1; }
work="$(mktemp -d /tmp/runsc-alone.XXXXXX)"
ns="kuasar-alone-$$"
netns="/run/netns/$ns"
rs() { local i=$1; shift; nsenter --net="$netns" -- "$runsc" --root="$work/root$i" --platform="$platform" --network=host "$@"; }
cleanup() {
  for ((i = 0; i < count; i++)); do rs "$i" delete --force "alone-$$-$i" >/dev/null 2>&1 || true; done
  ip netns delete "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
mkdir -p "$work/rootfs"
cp "$busybox" "$work/rootfs/sleep"
t0=$(date +%s%N)
for ((i = 0; i < count; i++)); do
  id="alone-$$-$i"
  mkdir -p "$work/root$i" "$work/bundle$i"
  cat >"$work/bundle$i/config.json" <<JSON
{"ociVersion":"1.0.2",
 "process":{"args":["/sleep","2147483647"],"cwd":"/","env":["PATH=/"],"user":{"uid":0,"gid":0}},
 "root":{"path":"$work/rootfs","readonly":true},
 "hostname":"alone",
 "annotations":{"io.kubernetes.cri.container-type":"sandbox","io.kubernetes.cri.sandbox-id":"$id"},
 "linux":{"namespaces":[{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}]}}
JSON
  rs "$i" create --bundle="$work/bundle$i" --pid-file="$work/sandbox$i.pid" "$id"
  rs "$i" start "$id"
done
t1=$(date +%s%N)
sleep "${SETTLE:-3}"  # let the sandboxes finish booting before reading their memory
# Sandbox and gofer are found by their argv (it names the private root); the platform's stub processes by descent
# from the sandbox (no argv of their own, sessions of their own), plus anything in the sessions of either.
table="$(for p in /proc/[0-9]*; do
  st=$(cat "$p/stat" 2>/dev/null) || continue
  st=${st##*) }; set -- $st
  mark=0; tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "--root=$work/root" && mark=1
  echo "${p#/proc/} $2 $4 $mark"
done)"
pids="$(awk '
  { pid[NR]=$1; ppid[NR]=$2; sid[NR]=$3; if ($4) fam[$1]=1 }
  END {
    do { grew=0; for (i=1;i<=NR;i++) if (!(pid[i] in fam) && (ppid[i] in fam)) { fam[pid[i]]=1; grew=1 } } while (grew)
    for (i=1;i<=NR;i++) if (pid[i] in fam) ses[sid[i]]=1
    for (i=1;i<=NR;i++) if ((pid[i] in fam) || (sid[i] in ses)) print pid[i]
  }' <<<"$table")"
declare -A kpss kpriv kn
total=0; priv=0; n=0
for pid in $pids; do
  read -r pss pc pd < <(awk '/^Pss:/ {a=$2} /^Private_Clean:/ {b=$2} /^Private_Dirty:/ {c=$2} END {print a+0, b+0, c+0}' \
    "/proc/$pid/smaps_rollup" 2>/dev/null || echo "0 0 0")
  arg0="$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -1)"
  case "$arg0" in runsc-sandbox*) k=sandbox ;; runsc-gofer*) k=gofer ;; *) k=stubs ;; esac
  kpss[$k]=$(( ${kpss[$k]:-0} + pss )); kpriv[$k]=$(( ${kpriv[$k]:-0} + pc + pd )); kn[$k]=$(( ${kn[$k]:-0} + 1 ))
  total=$((total + pss)); priv=$((priv + pc + pd)); n=$((n + 1))
done
printf 'runsc alone (%s, %s): %d sandbox(es), create+start %d ms each\n' \
  "$("$runsc" --version | head -1)" "$platform" "$count" $(( (t1 - t0) / 1000000 / count ))
for k in sandbox gofer stubs; do
  printf '  %-8s %5.1f processes per sandbox, PSS %6d KiB, private %6d KiB per sandbox\n' "$k" \
    "$(awk -v a="${kn[$k]:-0}" -v c="$count" 'BEGIN {print a / c}')" $(( ${kpss[$k]:-0} / count )) $(( ${kpriv[$k]:-0} / count ))
done
printf 'per sandbox: PSS %d KiB, private %d KiB (%d host processes in all)\n' $((total / count)) $((priv / count)) "$n"
