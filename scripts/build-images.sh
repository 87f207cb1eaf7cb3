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

sha() { sha256sum "$1" | cut -d' ' -f1; }
# Deterministic tar of a directory's contents.
rtar() { tar -C "$1" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu -cf "$2" .; }

# pack NAME ROOTFS CONFIG_JSON OUT_TAR: write an OCI image layout archive for one linux/amd64 image.
pack() {
  local name=$1 rootfs=$2 cfg=$3 out=$4 d; d="$(mktemp -d)"
  mkdir -p "$d/oci/blobs/sha256"
  rtar "$rootfs" "$d/layer.tar"
  local diff; diff="$(sha "$d/layer.tar")"
  gzip -n -9 <"$d/layer.tar" >"$d/layer.tgz"   # -n: no name/mtime in the gzip header
  local ld ls; ld="$(sha "$d/layer.tgz")"; ls="$(stat -c %s "$d/layer.tgz")"
  mv "$d/layer.tgz" "$d/oci/blobs/sha256/$ld"
  printf '{"created":"1970-01-01T00:00:00Z","architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"kuasar scripts/build-images.sh"}]}' \
    "$cfg" "$diff" >"$d/config.json"
  local cd cs; cd="$(sha "$d/config.json")"; cs="$(stat -c %s "$d/config.json")"
  mv "$d/config.json" "$d/oci/blobs/sha256/$cd"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$cd" "$cs" "$ld" "$ls" >"$d/manifest.json"
  local md ms; md="$(sha "$d/manifest.json")"; ms="$(stat -c %s "$d/manifest.json")"
  mv "$d/manifest.json" "$d/oci/blobs/sha256/$md"
  # io.containerd.image.name makes `ctr images import` register the full name without extra flags.
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$md" "$ms" "$name" "${name##*:}" >"$d/oci/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$d/oci/oci-layout"
  rtar "$d/oci" "$out.tmp"
  mv "$out.tmp" "$out"
  echo "sha256:$md" >"$out.digest"   # manifest digest: containerd-up.sh re-imports when it changes
  rm -rf "$d"
  echo "build-images: $name -> $out (sha256:$md)"
}

# build NAME OUT FINGERPRINT FUNCTION: rebuild only when the inputs' fingerprint changed.
build() {
  local name=$1 out=$2 fp=$3 fn=$4
  [[ -f $out && -f $out.digest && "$(cat "$out.inputs" 2>/dev/null)" == "$fp" ]] && return 0
  local r; r="$(mktemp -d)"
  "$fn" "$r/rootfs"
  pack "$name" "$r/rootfs" "$("$fn"_config)" "$out"
  echo "$fp" >"$out.inputs"
  rm -rf "$r"
}

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
