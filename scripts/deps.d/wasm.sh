#!/usr/bin/env bash
# driver-wasm's dependencies (run by install-deps.sh; idempotent, fast when done):
#  - the WASI C toolchain from bookworm (installed with apt): clang-16, lld-16, wasi-libc, libclang-rt-16-dev-wasm32,
#    used by scripts/images.d/wasm.sh to build the test module;
#  - WasmEdge 0.14.1 from Debian trixie: the debs of wasmedge, libwasmedge0 and every library they need (libLLVM-19,
#    trixie's glibc 2.41 included) are fetched with a private apt configuration and unpacked with dpkg -x under
#    $KUASAR_WASMEDGE_ROOT, never installed: bookworm's glibc is too old for them, so the driver runs wasmedge
#    through the unpacked ld.so with the unpacked library path (the wrapper bin/wasmedge does the same).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../node-env.sh"
WASMEDGE_ROOT="${KUASAR_WASMEDGE_ROOT:-$KUASAR_CACHE/wasmedge}"
WASMEDGE_WANT="${KUASAR_WASMEDGE_VERSION:-0.14.1}"
export DEBIAN_FRONTEND=noninteractive

# --- WASI toolchain (bookworm) ------------------------------------------------------------------
PKGS=(clang-16 lld-16 wasi-libc libclang-rt-16-dev-wasm32)
kuasar_apt_ensure deps.d/wasm "${PKGS[@]}" || exit 1

# --- WasmEdge (trixie debs, unpacked) -----------------------------------------------------------
STAMP="$WASMEDGE_ROOT/.kuasar-wasmedge"
if [[ -f $STAMP && "$(cat "$STAMP")" == "$WASMEDGE_WANT"* && -x $WASMEDGE_ROOT/bin/wasmedge ]]; then
  exit 0
fi
A="$KUASAR_CACHE/apt-trixie"
mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/empty" "$KUASAR_CACHE/debs/trixie"
# The mirror comes from the system's own bookworm sources (no host is named here); --print-uris reads the sources
# without fetching anything.
MIRROR="${KUASAR_DEBIAN_MIRROR:-$(apt-get -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache" --print-uris update \
  2>/dev/null | sed -nE "s#^'(https?://[^']+)/dists/bookworm/InRelease'.*#\1#p" | head -1)}"
[[ -n $MIRROR ]] || { echo "deps.d/wasm: no bookworm mirror found; set KUASAR_DEBIAN_MIRROR" >&2; exit 1; }
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" >"$A/sources.list"
APT_OPTS=(-o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache" -o "Dir::Etc::SourceList=$A/sources.list"
          -o "Dir::Etc::SourceParts=$A/empty" -o "Dir::Etc::PreferencesParts=$A/empty"
          -o "Dir::Etc::Preferences=$A/empty/none" -o "Acquire::Languages=none"
          -o "APT::Sandbox::User=root" -o "APT::Architectures=amd64")
echo "deps.d/wasm: fetching trixie package lists"
apt-get "${APT_OPTS[@]}" update -qq
ver="$(apt-cache "${APT_OPTS[@]}" madison wasmedge | awk -F' *[|] *' -v w="$WASMEDGE_WANT" 'index($2, w) == 1 {print $2; exit}')"
[[ -n $ver ]] || { echo "deps.d/wasm: wasmedge $WASMEDGE_WANT not offered by trixie" >&2; exit 1; }

# The run-time closure of wasmedge (Depends and Pre-Depends only), real packages only.
closure="$(apt-cache "${APT_OPTS[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances "wasmedge=$ver" 2>/dev/null | grep -E '^[a-z0-9]' | sort -u)"
# Packages that are programs or configuration, not libraries wasmedge loads: skipped to keep the download small.
skip='^(debconf|dpkg|perl-base|tar|coreutils|sensible-utils|install-info|libc-bin|base-files|bash|debianutils|init-system-helpers|mawk|diffutils|grep|sed|findutils|gzip|util-linux|libpam.*|login|passwd|adduser|cdebconf|debconf-2.0)$'
cd "$KUASAR_CACHE/debs/trixie"
rm -rf "$WASMEDGE_ROOT.tmp"; mkdir -p "$WASMEDGE_ROOT.tmp/root"
for p in $closure; do
  [[ $p =~ $skip ]] && continue
  # virtual packages have no candidate version
  pv="$(apt-cache "${APT_OPTS[@]}" policy "$p" | awk '/Candidate:/ {print $2}')"
  [[ -n $pv && $pv != "(none)" ]] || continue
  deb="$(ls "${p}_${pv//:/%3a}"_*.deb 2>/dev/null | head -1 || true)"
  if [[ -z $deb ]]; then
    apt-get "${APT_OPTS[@]}" download -qq "$p=$pv"
    deb="$(ls "${p}_${pv//:/%3a}"_*.deb | head -1)"
  fi
  dpkg -x "$deb" "$WASMEDGE_ROOT.tmp/root"
done
R="$WASMEDGE_ROOT.tmp/root"
[[ -x $R/usr/bin/wasmedge && -e $R/usr/lib64/ld-linux-x86-64.so.2 ]] || { echo "deps.d/wasm: unpacked tree lacks wasmedge or ld.so" >&2; exit 1; }
mkdir -p "$WASMEDGE_ROOT.tmp/bin"
# The wrapper is for people and the benchmark; the driver builds the same command line itself (WasmEdgeInstall).
cat >"$WASMEDGE_ROOT.tmp/bin/wasmedge" <<'EOF'
#!/bin/sh
# WasmEdge from trixie debs unpacked beside this script, run through trixie's own dynamic loader.
R="$(cd "$(dirname "$0")/../root" && pwd)"
# trixie is merged-/usr: the loader is usr/lib64/ld-linux-x86-64.so.2, the libraries usr/lib/x86_64-linux-gnu.
exec "$R/usr/lib64/ld-linux-x86-64.so.2" --library-path "$R/usr/lib/x86_64-linux-gnu" "$R/usr/bin/wasmedge" "$@"
EOF
chmod 755 "$WASMEDGE_ROOT.tmp/bin/wasmedge"
got="$("$WASMEDGE_ROOT.tmp/bin/wasmedge" --version 2>&1 | head -1)"
echo "deps.d/wasm: $got"
[[ $got == *"$WASMEDGE_WANT"* ]] || { echo "deps.d/wasm: unpacked wasmedge does not run: $got" >&2; exit 1; }
echo "$ver" >"$WASMEDGE_ROOT.tmp/.kuasar-wasmedge"
rm -rf "$WASMEDGE_ROOT"; mv "$WASMEDGE_ROOT.tmp" "$WASMEDGE_ROOT"
echo "deps.d/wasm: wasmedge $ver unpacked under $WASMEDGE_ROOT"
