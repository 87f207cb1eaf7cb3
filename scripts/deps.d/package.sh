#!/usr/bin/env bash
# The Debian package's tests (packaging/deb; run by install-deps.sh; idempotent, fast when done):
#  - lintian checks the built kuasar_*.deb;
#  - systemd provides systemd-analyze, which verifies kuasar.service (only the tool is used: no systemd runs here);
#  - dpkg-dev is not needed: the package is built with dpkg-deb, which dpkg itself provides.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../node-env.sh"
kuasar_apt_ensure deps.d/package lintian systemd
