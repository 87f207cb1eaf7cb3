#!/usr/bin/env bash
# The vmm driver's guest: a kernel and an initramfs, built only from Debian packages (fetched by
# scripts/deps.d/vmm.sh into $KUASAR_CACHE/vmm/debs) and this project's guest agent (driver-vmm/agent, C):
#   $KUASAR_CACHE/vmm/guest/vmlinuz      the generic Debian kernel (9p, virtio_console as modules)
#   $KUASAR_CACHE/vmm/guest/initrd.img   cpio: /init = kuasar-agent, runc + its libraries, busybox, the modules
#   $KUASAR_CACHE/vmm/guest/inputs       content hash of every input; nothing is rebuilt while it matches
# The driver finds the image there through $KUASAR_CACHE (or -Dkuasar.vmm.image.dir).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../node-env.sh"
export LC_ALL=C
umask 022

DEBS="$KUASAR_CACHE/vmm/debs"
OUT="$KUASAR_CACHE/vmm/guest"
AGENT_SRC="$KUASAR_REPO/driver-vmm/agent"
BUILDER="$KUASAR_REPO/driver-vmm/src/main/java/io/kuasar/driver/vmm/image/InitramfsBuilder.java"
# Modules the agent loads (the builder adds what they depend on): the port to the host, the pod share, the NIC.
MODULES=(virtio_pci virtio_console 9pnet_virtio 9p virtio_net)

ls "$DEBS"/linux-image-*-amd64_*.deb >/dev/null 2>&1 || bash "$KUASAR_REPO/scripts/deps.d/vmm.sh"
inputs="$( { sha256sum "$DEBS"/*.deb "$AGENT_SRC"/*.[ch] "$AGENT_SRC/Makefile" "$BUILDER" "${BASH_SOURCE[0]}" \
             | sed "s#  $KUASAR_REPO/#  #; s#  $DEBS/#  debs/#"; gcc -dumpfullversion; \
             dpkg-query -W -f='${Version}\n' libc6-dev; echo "${MODULES[*]}"; } | sha256sum | cut -d' ' -f1)"
if [[ -f $OUT/inputs && $(cat "$OUT/inputs") == "$inputs" && -f $OUT/vmlinuz && -f $OUT/initrd.img ]]; then
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for deb in "$DEBS"/*.deb; do dpkg -x "$deb" "$work/x"; done
make -s -C "$AGENT_SRC" OUT="$work/kuasar-agent" >/dev/null
kdir="$(echo "$work"/x/lib/modules/*)"
lib="$work/x/lib/x86_64-linux-gnu"
[[ -e $lib/libc.so.6 ]] || lib="$work/x/usr/lib/x86_64-linux-gnu"
seccomp=""
for s in "$work"/x/usr/lib/x86_64-linux-gnu/libseccomp.so.2 "$work"/x/lib/x86_64-linux-gnu/libseccomp.so.2; do
  [[ -e $s ]] && seccomp=$s && break
done
[[ -n $seccomp ]] || { echo "images.d/vmm-guest: libseccomp.so.2 not in the libseccomp2 deb" >&2; exit 1; }
cat >"$work/spec" <<SPEC
file init $work/kuasar-agent
file bin/runc $work/x/usr/sbin/runc
file bin/busybox $work/x/bin/busybox
link bin/sh busybox
file lib/x86_64-linux-gnu/libc.so.6 $lib/libc.so.6
file lib/x86_64-linux-gnu/libseccomp.so.2 $seccomp
file lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 $lib/ld-linux-x86-64.so.2
link lib64 lib
link lib64/ld-linux-x86-64.so.2 /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
dev dev/console 5 1
dev dev/null 1 3
dir proc
dir sys
dir run
dir tmp
dir etc
dir root
modules $kdir ${MODULES[*]}
SPEC
sed -i '/^link lib64 lib$/d' "$work/spec"   # lib64 is a real directory holding the loader link
mkdir -p "$OUT"
# Each file is replaced by a rename, never rewritten in place: a worktree's .cache may hard-link another's.
java "$BUILDER" "$work/spec" "$OUT/initrd.img.tmp" && mv "$OUT/initrd.img.tmp" "$OUT/initrd.img"
cp "$work"/x/boot/vmlinuz-* "$OUT/vmlinuz.tmp" && mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
echo "$inputs" >"$OUT/inputs.tmp" && mv "$OUT/inputs.tmp" "$OUT/inputs"
echo "images.d/vmm-guest: $(stat -c %s "$OUT/initrd.img") byte initramfs, agent $(stat -c %s "$work/kuasar-agent") bytes -> $OUT"
