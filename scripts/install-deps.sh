#!/usr/bin/env bash
# Prepare a Debian 12 machine for the node tests: bookworm packages, plus containerd and the CNI
# plugins from Debian sid unpacked (not installed) under .cache/containerd. Idempotent; fast when done.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/node-env.sh"

# --- bookworm packages -------------------------------------------------------------------------
# gcc + libc6-dev: static pause binary; busybox-static: image rootfs; mount/util-linux: findmnt, setsid.
PKGS=(runc busybox-static iproute2 util-linux mount procps gcc libc6-dev tar gzip coreutils findutils
      maven openjdk-17-jdk-headless fontconfig fonts-dejavu-core)   # fonts: the benchmarks draw PNG charts
kuasar_apt_ensure install-deps "${PKGS[@]}" || exit 1

# --- gVisor runsc (driver-quark's runsc sandboxer) ---------------------------------------------
# bookworm ships runsc 20221219 (platform ptrace only); bookworm-backports has 20240729, which adds systrap
# (faster, see /work/shared/FACTS.md). It is installed with apt from a private list of bookworm-backports, so the
# system's sources stay as they are; bookworm's own package is the fallback.
RUNSC_WANT="${KUASAR_RUNSC_VERSION:-0.0~20240729}"
runsc_have="$(dpkg-query -W -f='${Version}' runsc 2>/dev/null || true)"
if [[ $runsc_have != "$RUNSC_WANT"* ]]; then
  B="$KUASAR_CACHE/apt-bpo"
  mkdir -p "$B/lists/partial" "$B/cache/archives/partial" "$B/empty" "$KUASAR_CACHE/debs"
  BPO_MIRROR="${KUASAR_DEBIAN_MIRROR:-$(apt-get -o "Dir::State::Lists=$B/lists" -o "Dir::Cache=$B/cache" --print-uris \
    update 2>/dev/null | sed -nE "s#^'(https?://[^']+)/dists/bookworm/InRelease'.*#\1#p" | head -1)}"
  # The mirror comes from the system's own bookworm sources: no host is named here.
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $BPO_MIRROR bookworm-backports main" \
    >"$B/sources.list"
  BPO_OPTS=(-o "Dir::State::Lists=$B/lists" -o "Dir::Cache=$B/cache" -o "Dir::Etc::SourceList=$B/sources.list"
            -o "Dir::Etc::SourceParts=$B/empty" -o "Acquire::Languages=none" -o "APT::Sandbox::User=root")
  export DEBIAN_FRONTEND=noninteractive
  rver=""
  if [[ -n $BPO_MIRROR ]] && apt-get "${BPO_OPTS[@]}" update -qq 2>/dev/null; then
    rver="$(apt-cache "${BPO_OPTS[@]}" madison runsc | awk -F' *[|] *' -v w="$RUNSC_WANT" 'index($2, w) == 1 {print $2; exit}')"
  fi
  if [[ -n $rver ]]; then
    ( cd "$KUASAR_CACHE/debs" && apt-get "${BPO_OPTS[@]}" download -qq "runsc=$rver" )
    deb="$KUASAR_CACHE/debs/runsc_${rver//:/%3a}_amd64.deb"
    echo "install-deps: installing runsc $rver (bookworm-backports)"
    apt-get install -y -qq --no-install-recommends "$deb" >/dev/null
  else
    echo "install-deps: WARNING: runsc $RUNSC_WANT not offered by bookworm-backports; using bookworm's (ptrace only)" >&2
    [[ -n $runsc_have ]] || apt-get install -y -qq --no-install-recommends runsc >/dev/null
  fi
  rm -rf "$B"
fi

# --- per-driver dependencies -------------------------------------------------------------------
# Each driver that needs more than the above (WasmEdge, the WASI toolchain, QEMU and the guest image's inputs)
# ships an idempotent script in scripts/deps.d; each caches what it fetches under $KUASAR_CACHE.
for dep in "$KUASAR_REPO"/scripts/deps.d/*.sh; do
  [[ -e $dep ]] || continue
  bash "$dep"
done

# --- containerd + CNI plugins from sid ---------------------------------------------------------
# Wanted containerd version prefix; sid moves, so we take 2.1.9 when offered, else the newest 2.1.x.
WANT="${KUASAR_CONTAINERD_VERSION:-2.1.9}"
STAMP="$KUASAR_CONTAINERD_PREFIX/.kuasar-debs"
if [[ -f $STAMP && -x $CONTAINERD_BIN && -x $KUASAR_CNI_BIN_DIR/bridge ]]; then
  exit 0
fi

# A private apt config: own lists/cache/sources, so the system's apt state never sees sid.
A="$KUASAR_CACHE/apt-sid"
mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/empty" "$KUASAR_CACHE/debs"
# Reuse the mirror the system's sources use for bookworm (no host hard-coded here); --print-uris
# reads the sources without fetching and works before any `apt-get update`.
MIRROR="${KUASAR_DEBIAN_MIRROR:-$(apt-get -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache" --print-uris update \
  2>/dev/null | sed -nE "s#^'(https?://[^']+)/dists/bookworm/InRelease'.*#\1#p" | head -1)}"
[[ -n $MIRROR ]] || { echo "install-deps: no bookworm mirror found; set KUASAR_DEBIAN_MIRROR" >&2; exit 1; }
# testing too: when sid moves past 2.1, testing may still carry it for a while.
for suite in ${KUASAR_CONTAINERD_SUITES:-sid testing}; do
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $suite main"
done >"$A/sources.list"
APT_OPTS=(-o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache" -o "Dir::Etc::SourceList=$A/sources.list"
          -o "Dir::Etc::SourceParts=$A/empty" -o "Dir::Etc::PreferencesParts=$A/empty"
          -o "Dir::Etc::Preferences=$A/empty/none" -o "Acquire::Languages=none"
          -o "APT::Sandbox::User=root" -o "APT::Architectures=amd64")
echo "install-deps: fetching sid/testing package lists"
apt-get "${APT_OPTS[@]}" update -qq

# First version of $1 whose string starts with $2 (madison lists newest first).
pick() { apt-cache "${APT_OPTS[@]}" madison "$1" | awk -F' *[|] *' -v w="$2" 'index($2, w) == 1 {print $2; exit}'; }
cver="$(pick containerd "$WANT")"
[[ -n $cver ]] || cver="$(pick containerd 2.1.)"
[[ -n $cver ]] || { echo "install-deps: no containerd 2.1.x offered:" >&2
                    apt-cache "${APT_OPTS[@]}" madison containerd >&2; exit 1; }
[[ $cver == "$WANT"* ]] || echo "install-deps: WARNING: containerd $WANT not offered, using $cver" >&2
nver="$(pick containernetworking-plugins '')"

cd "$KUASAR_CACHE/debs"
rm -rf "$KUASAR_CONTAINERD_PREFIX"; mkdir -p "$KUASAR_CONTAINERD_PREFIX"
for pv in "containerd=$cver" "containernetworking-plugins=$nver"; do
  deb="${pv%%=*}_${pv#*=}_amd64.deb"; deb="${deb//:/%3a}"   # apt's file naming (epoch ':' escaped)
  [[ -f $deb ]] || apt-get "${APT_OPTS[@]}" download -qq "$pv"
  dpkg -x "$deb" "$KUASAR_CONTAINERD_PREFIX"
done

got="$("$CONTAINERD_BIN" --version)"
echo "install-deps: $got; CNI plugins $nver"
[[ $got =~ [[:space:]]v?2\.1\. ]] || { echo "install-deps: unexpected containerd version" >&2; exit 1; }
for b in containerd-shim-runc-v2 ctr; do [[ -x $KUASAR_CONTAINERD_PREFIX/usr/bin/$b ]]; done
for b in bridge host-local loopback; do [[ -x $KUASAR_CNI_BIN_DIR/$b ]]; done
printf 'containerd=%s\ncontainernetworking-plugins=%s\n' "$cver" "$nver" >"$STAMP"
rm -rf "$A"   # sid lists (~25 MB) are only needed to pick a version; the debs stay in .cache/debs
