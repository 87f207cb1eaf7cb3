#!/usr/bin/env bash
# Build the two test images as OCI layout archives in .cache/images, without any registry:
#   $KUASAR_BUSYBOX_IMAGE: busybox-static with all its applets; $KUASAR_PAUSE_IMAGE: our static pause.
# Archives are reproducible (fixed mtimes, sorted, owner 0) and rebuilt only when their inputs change.
# containerd-up.sh imports them.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/node-env.sh"
umask 022
export LC_ALL=C
BUSYBOX=/bin/busybox
PAUSE_SRC="$KUASAR_REPO/scripts/pause/pause.c"
mkdir -p "$KUASAR_IMAGE_DIR"

. "$KUASAR_REPO/scripts/oci-pack.sh"   # sha, rtar, pack, build

busybox_rootfs() {
  local root=$1 a
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,proc,sys,dev,run,var,tmp}
  chmod 1777 "$root/tmp"
  cp "$BUSYBOX" "$root/bin/busybox"
  # --list-full gives each applet's canonical path (bin/sh, usr/bin/wget, ...).
  for a in $("$root/bin/busybox" --list-full); do
    [[ $a == */* && $a != bin/busybox ]] || continue   # skip "linuxrc" and itself
    ln -sf /bin/busybox "$root/$a"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}
busybox_rootfs_config() {
  echo '{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"WorkingDir":"/"}'
}

pause_rootfs() {
  mkdir -p "$1"
  gcc -static -O2 -s -Wall -Wl,--build-id=none -o "$1/pause" "$PAUSE_SRC"
}
pause_rootfs_config() {
  echo '{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":["/pause"],"WorkingDir":"/"}'
}

self="$(sha "${BASH_SOURCE[0]}")"
build "$KUASAR_BUSYBOX_IMAGE" "$KUASAR_IMAGE_DIR/busybox.tar" \
  "$self $(sha "$BUSYBOX") $KUASAR_BUSYBOX_IMAGE" busybox_rootfs
build "$KUASAR_PAUSE_IMAGE" "$KUASAR_IMAGE_DIR/pause.tar" \
  "$self $(sha "$PAUSE_SRC") $(gcc -dumpfullversion) $(dpkg-query -W -f='${Version}' libc6-dev) $KUASAR_PAUSE_IMAGE" pause_rootfs

# Images of the other drivers (wasm modules, the VM guest): one idempotent script each in scripts/images.d,
# writing OCI archives to $KUASAR_IMAGE_DIR (imported by containerd-up.sh) or other cached artefacts.
for img in "$KUASAR_REPO"/scripts/images.d/*.sh; do
  [[ -e $img ]] || continue
  bash "$img"
done
