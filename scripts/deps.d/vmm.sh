#!/usr/bin/env bash
# driver-vmm's dependencies: QEMU from bookworm (installed with apt), and the guest image's inputs fetched as
# Debian packages into $KUASAR_CACHE/vmm/debs (never installed on the host): the generic kernel (it has the 9p
# modules; the cloud kernel has none), busybox-static, runc and the libraries runc links against.
# scripts/images.d/vmm-guest.sh builds the guest kernel + initramfs from those debs. Idempotent; fast when done.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../node-env.sh"

PKGS=(qemu-system-x86 qemu-utils cpio)
kuasar_apt_ensure deps.d/vmm "${PKGS[@]}" || exit 1

# Guest packages: downloaded from the system's own sources (no mirror named here), kept as debs.
D="$KUASAR_CACHE/vmm/debs"
STAMP="$D/.fetched"
# linux-image-amd64 is a meta package: the real kernel package is its dependency.
GUEST_PKGS=(busybox-static runc libseccomp2 libc6)
if [[ -f $STAMP ]] && ls "$D"/linux-image-*-amd64_*.deb >/dev/null 2>&1; then
  exit 0
fi
mkdir -p "$D"
kernel_pkg="$(apt-cache depends linux-image-amd64 2>/dev/null | sed -nE 's/^ *Depends: (linux-image-[0-9].*-amd64)$/\1/p' | head -1)"
if [[ -z $kernel_pkg ]]; then
  apt-get update -qq
  kernel_pkg="$(apt-cache depends linux-image-amd64 | sed -nE 's/^ *Depends: (linux-image-[0-9].*-amd64)$/\1/p' | head -1)"
fi
[[ -n $kernel_pkg ]] || { echo "deps.d/vmm: cannot resolve linux-image-amd64" >&2; exit 1; }
echo "deps.d/vmm: fetching $kernel_pkg ${GUEST_PKGS[*]}"
# apt-get download runs as _apt by default and cannot write into root-owned dirs.
( cd "$D" && apt-get -o APT::Sandbox::User=root download -qq "$kernel_pkg" "${GUEST_PKGS[@]}" )
# Unpacked once for tools that want the kernel (bench's bare QEMU boot reads vmlinuz from here too).
rm -rf "$KUASAR_CACHE/vmm/kernel"
dpkg -x "$D/${kernel_pkg}"_*.deb "$KUASAR_CACHE/vmm/kernel"
printf '%s\n' "$kernel_pkg" "${GUEST_PKGS[@]}" >"$STAMP"
