#!/usr/bin/env bash
# Fuzzing's dependencies: clang 16 with its compiler runtime (libFuzzer, ASan, UBSan) from bookworm, for the C
# fuzz targets of the keeper (host/keeper/fuzz) and the guest agent (driver-vmm/agent/fuzz) and the keeper's
# sanitizer build. The Java targets need nothing here: Jazzer comes from Maven Central. Idempotent; fast when done.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../node-env.sh"

PKGS=(clang-16 libclang-rt-16-dev)
kuasar_apt_ensure deps.d/fuzz "${PKGS[@]}" || exit 1
