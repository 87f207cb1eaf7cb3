#!/usr/bin/env bash
# Fuzzing's dependencies: clang 16 with its compiler runtime (libFuzzer, ASan, UBSan) from bookworm, for the C
# fuzz targets of the keeper (host/keeper/fuzz) and the guest agent (driver-vmm/agent/fuzz) and the keeper's
# sanitizer build. The Java targets need nothing here: Jazzer comes from Maven Central. Idempotent; fast when done.
set -euo pipefail

PKGS=(clang-16 libclang-rt-16-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps.d/fuzz: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
