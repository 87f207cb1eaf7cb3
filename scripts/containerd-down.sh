#!/usr/bin/env bash
# Stop the private containerd and remove everything it left: containers, shims, mounts, the CNI
# bridge and the node dir. Safe to run when nothing runs.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/node-env.sh"

pid="$(cat "$CONTAINERD_PID_FILE" 2>/dev/null || true)"
ours() { [[ -n $pid && "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" == "$(readlink -f "$CONTAINERD_BIN")" ]]; }

# While containerd answers, let it stop its tasks: the shims then clean runc state and cgroups.
if ours && timeout 5 $CTR version >/dev/null 2>&1; then
  for ns in $($CTR namespaces ls -q 2>/dev/null); do
    c="$KUASAR_CONTAINERD_PREFIX/usr/bin/ctr --address $CONTAINERD_SOCK --namespace $ns"
    for t in $($c tasks ls -q 2>/dev/null); do timeout 10 $c tasks kill -a -s KILL "$t" >/dev/null 2>&1 || true; done
    for t in $($c tasks ls -q 2>/dev/null); do timeout 10 $c tasks delete -f "$t" >/dev/null 2>&1 || true; done
    for t in $($c containers ls -q 2>/dev/null); do timeout 10 $c containers delete "$t" >/dev/null 2>&1 || true; done
  done
fi

if ours; then
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do ours || break; sleep 0.1; done
  ! ours || kill -KILL "$pid" 2>/dev/null || true
fi

# Shims that outlived containerd: ours run from our cache for our socket. Remove their containers
# (runc delete kills them and drops their cgroups), then the shim, its socket and ctr's fifos.
shim="$(readlink -f "$KUASAR_CONTAINERD_PREFIX/usr/bin/containerd-shim-runc-v2")"
for p in $(pgrep -f -- "-address $CONTAINERD_SOCK( |$)" || true); do
  [[ "$(readlink -f "/proc/$p/exe" 2>/dev/null)" == "$shim" ]] || continue
  mapfile -d '' -t argv <"/proc/$p/cmdline" || continue
  ns=k8s.io id=
  for ((i = 1; i + 1 < ${#argv[@]}; i++)); do
    case ${argv[i]} in -namespace) ns=${argv[i+1]} ;; -id) id=${argv[i+1]} ;; esac
  done
  for root in "/run/containerd/runc/$ns" "$KUASAR_RUNC_ROOT/$ns"; do
    [[ -z $id ]] || "$KUASAR_RUNC_BIN" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
  done
  # Their children are container inits; killing a pid-ns init ends that whole container.
  for c in $(pgrep -P "$p" || true); do kill -KILL "$c" 2>/dev/null || true; done
  kill -KILL "$p" 2>/dev/null || true
  # containerd names shim sockets after sha256("<containerd address>/<namespace>/<id>").
  [[ -z $id ]] || rm -f "/run/containerd/s/$(printf '%s' "$CONTAINERD_SOCK/$ns/$id" | sha256sum | cut -d' ' -f1)" \
    /run/containerd/fifo/*/"$id"-std{in,out,err}
done
# Containers still known to our runc root (e.g. a shim killed earlier): kill them, drop cgroups.
if [[ -d $KUASAR_RUNC_ROOT ]]; then
  for r in "$KUASAR_RUNC_ROOT"/*/; do
    [[ -d $r ]] || continue
    for id in $("$KUASAR_RUNC_BIN" --root "$r" list -q 2>/dev/null); do
      "$KUASAR_RUNC_BIN" --root "$r" delete --force "$id" >/dev/null 2>&1 || true
    done
  done
fi

# Lazy-unmount deepest first (rootfs overlays, netns and shm bind mounts) until none is left.
if [[ -d $KUASAR_NODE_DIR ]]; then
  for _ in 1 2 3 4 5; do
    mapfile -t mnts < <(findmnt -rn -o TARGET | awk -v d="$KUASAR_NODE_DIR/" 'index($0, d) == 1' | sort -r)
    ((${#mnts[@]})) || break
    for m in "${mnts[@]}"; do umount -l "$(printf '%b' "$m")" 2>/dev/null || true; done
  done
fi

# libcni's result cache is host-wide (/var/lib/cni); drop entries of our pods' netns.
if [[ -d /var/lib/cni/results ]]; then
  { grep -lsF -- "$CONTAINERD_STATE/" /var/lib/cni/results/* || true; } | xargs -r rm -f
  rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null || true
fi
# Empty cgroups left by runc under the parents our tests use (rmdir only removes empty ones).
for h in /sys/fs/cgroup/*/; do
  for parent in "$KUASAR_CGROUP_PARENT" /k8s.io; do
    [[ -d $h$parent ]] && find "$h$parent" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
done

# containerd's host-wide defaults that ctr and the shims use; removed only when empty.
rmdir /run/containerd/fifo/* /run/containerd/{fifo,s,runc/*,runc} /run/containerd 2>/dev/null || true

ip link show "$KUASAR_CNI_BRIDGE" >/dev/null 2>&1 && ip link delete "$KUASAR_CNI_BRIDGE" || true
rm -rf "$KUASAR_NODE_DIR"
