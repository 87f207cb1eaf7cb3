# shellcheck shell=bash
# Shared settings for the test node scripts and the Java test launchers.
# Source it: `. scripts/node-env.sh`. Every value can be preset in the environment; derived values
# (sockets, $CTR, ...) are exported, so set overrides such as KUASAR_NODE_DIR before the first source.
# No `set -e` here: this file is sourced into callers with their own shell options.

KUASAR_REPO="${KUASAR_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
KUASAR_CACHE="${KUASAR_CACHE:-$KUASAR_REPO/.cache}"
# Binaries unpacked from Debian sid debs by install-deps.sh (never installed system-wide).
KUASAR_CONTAINERD_PREFIX="${KUASAR_CONTAINERD_PREFIX:-$KUASAR_CACHE/containerd}"

# Node dir kept short: the sockets below must stay under the 108-byte sun_path limit. It may sit in /tmp: the
# scripts make it with kuasar_node_dir (below), which refuses one another user made first.
KUASAR_NODE_DIR="${KUASAR_NODE_DIR:-/tmp/kuasar-node}"
CONTAINERD_ROOT="${CONTAINERD_ROOT:-$KUASAR_NODE_DIR/containerd/root}"
CONTAINERD_STATE="${CONTAINERD_STATE:-$KUASAR_NODE_DIR/containerd/state}"
CONTAINERD_SOCK="${CONTAINERD_SOCK:-$KUASAR_NODE_DIR/containerd.sock}"
CONTAINERD_CONFIG="${CONTAINERD_CONFIG:-$KUASAR_NODE_DIR/containerd.toml}"
CONTAINERD_LOG="${CONTAINERD_LOG:-$KUASAR_NODE_DIR/containerd.log}"
CONTAINERD_PID_FILE="${CONTAINERD_PID_FILE:-$KUASAR_NODE_DIR/containerd.pid}"
KUASAR_CNI_CONF_DIR="${KUASAR_CNI_CONF_DIR:-$KUASAR_NODE_DIR/cni/net.d}"
KUASAR_CNI_BIN_DIR="${KUASAR_CNI_BIN_DIR:-$KUASAR_CONTAINERD_PREFIX/usr/lib/cni}"
# Change both when two nodes must run side by side (the bridge lives in the host netns).
KUASAR_CNI_BRIDGE="${KUASAR_CNI_BRIDGE:-kuasar0}"
KUASAR_CNI_SUBNET="${KUASAR_CNI_SUBNET:-10.88.77.0/24}"
# Where containerd dials our sandboxer (proxy plugin 'runc'); dialed lazily, may not exist yet.
KUASAR_SANDBOXER_SOCK="${KUASAR_SANDBOXER_SOCK:-$KUASAR_NODE_DIR/kuasar.sock}"

# The node's Prometheus metrics (kuasar.metrics.listen): a free loopback port by default, so that nodes side by side
# never take each other's; `java -jar host/target/kuasar.jar status` says which (line "metrics:").
KUASAR_METRICS_LISTEN="${KUASAR_METRICS_LISTEN:-127.0.0.1:0}"

# Our containerd/shim/ctr first, so containerd finds its own containerd-shim-runc-v2;
# runc stays bookworm's (/usr/sbin/runc: sid's needs a newer glibc).
case ":$PATH:" in
  *":$KUASAR_CONTAINERD_PREFIX/usr/bin:"*) ;;
  *) PATH="$KUASAR_CONTAINERD_PREFIX/usr/bin:$PATH" ;;
esac
case ":$PATH:" in *":/usr/sbin:"*) ;; *) PATH="$PATH:/usr/sbin:/sbin" ;; esac
CONTAINERD_BIN="${CONTAINERD_BIN:-$KUASAR_CONTAINERD_PREFIX/usr/bin/containerd}"
KUASAR_RUNC_BIN="${KUASAR_RUNC_BIN:-/usr/sbin/runc}"
# runc state of CRI's 'runc' handler (per namespace below it); own dir so teardown can find leftovers.
KUASAR_RUNC_ROOT="${KUASAR_RUNC_ROOT:-$KUASAR_NODE_DIR/runc}"
# cgroup_parent our tests should give their CRI pods; containerd-down.sh removes it (ctr uses /k8s.io).
KUASAR_CGROUP_PARENT="${KUASAR_CGROUP_PARENT:-/kuasar}"
# Use unquoted as a command prefix: $CTR images ls
CTR="${CTR:-$KUASAR_CONTAINERD_PREFIX/usr/bin/ctr --address $CONTAINERD_SOCK --namespace k8s.io}"

KUASAR_BUSYBOX_IMAGE="${KUASAR_BUSYBOX_IMAGE:-localhost/kuasar/busybox:1.0}"
KUASAR_PAUSE_IMAGE="${KUASAR_PAUSE_IMAGE:-localhost/kuasar/pause:1.0}"
KUASAR_IMAGE_DIR="${KUASAR_IMAGE_DIR:-$KUASAR_CACHE/images}"

export KUASAR_REPO KUASAR_CACHE KUASAR_CONTAINERD_PREFIX KUASAR_NODE_DIR CONTAINERD_ROOT CONTAINERD_STATE
export CONTAINERD_SOCK CONTAINERD_CONFIG CONTAINERD_LOG CONTAINERD_PID_FILE CONTAINERD_BIN CTR PATH
export KUASAR_METRICS_LISTEN KUASAR_CNI_CONF_DIR KUASAR_CNI_BIN_DIR KUASAR_CNI_BRIDGE KUASAR_CNI_SUBNET KUASAR_SANDBOXER_SOCK
export KUASAR_RUNC_BIN KUASAR_RUNC_ROOT KUASAR_CGROUP_PARENT KUASAR_BUSYBOX_IMAGE KUASAR_PAUSE_IMAGE KUASAR_IMAGE_DIR

# StrictModes for a directory the node trusts: it and every parent must be owned by root or by us and not be
# writable by group or others; a root-owned sticky parent (/tmp, 1777) is accepted, as the node itself does
# (io.kuasar.host.admin.NodeDirectories). Prints the finding and fails.
kuasar_check_dir() {
  local leaf p uid mode me
  me="$(id -u)"
  if [[ -L $1 ]]; then
    uid="$(stat -c %u -- "$1")"
    [[ $uid == 0 || $uid == "$me" ]] || { echo "refusing $1: a symbolic link owned by uid $uid" >&2; return 1; }
  fi
  [[ -d $1 ]] || { echo "refusing $1: not a directory" >&2; return 1; }
  leaf="$(realpath -- "$1")"
  p="$leaf"
  while :; do
    read -r uid mode < <(stat -c '%u %a' -- "$p")
    mode=$((8#$mode))
    if [[ $uid != 0 && $uid != "$me" ]]; then
      echo "refusing $1: $p is owned by uid $uid, neither root nor us: that user could plant files in it" >&2
      return 1
    fi
    # Group/other-writable: refused, unless a root-owned sticky parent (never the directory itself).
    if ((mode & 8#022)) && { [[ $p == "$leaf" || $uid != 0 ]] || ! ((mode & 8#1000)); }; then
      printf 'refusing %s: %s is writable by group or others (mode %04o)\n' "$1" "$p" "$((mode & 8#7777))" >&2
      return 1
    fi
    [[ $p == / ]] && return 0
    p="$(dirname -- "$p")"
  done
}

# Makes the node directory $1 safely: the leaf with a plain mkdir (no -p, mode 700), so a directory that already
# exists is never taken over unchecked; then kuasar_check_dir on it and its parents.
kuasar_node_dir() {
  if [[ ! -e $1 && ! -L $1 ]]; then
    mkdir -m 700 -- "$1" 2>/dev/null || [[ -d $1 ]] || { echo "cannot make $1 (does its parent exist?)" >&2; return 1; }
  fi
  kuasar_check_dir "$1"
}

# Installs those of the Debian packages "$@" that are not installed yet (one apt-get run; nothing when all are).
# $1 names the caller for its message. Used by install-deps.sh and every deps.d script.
kuasar_apt_ensure() {
  local who=$1 p missing=()
  shift
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "$who: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
