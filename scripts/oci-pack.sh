# shellcheck shell=bash
# Building OCI image archives without a registry, for scripts/build-images.sh and scripts/images.d/*.sh.
# Source it after node-env.sh. `build NAME OUT_TAR FINGERPRINT FN` runs `FN ROOTFS` to fill a rootfs and
# `FN_config` to print the image config JSON, then packs it, unless OUT_TAR was built from the same fingerprint.
# Each archive gets OUT_TAR.digest (manifest digest) and OUT_TAR.name; containerd-up.sh imports all of them.

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
  [[ -f $out && -f $out.digest && -f $out.name && "$(cat "$out.inputs" 2>/dev/null)" == "$fp" ]] && return 0
  local r; r="$(mktemp -d)"
  "$fn" "$r/rootfs"
  pack "$name" "$r/rootfs" "$("$fn"_config)" "$out"
  echo "$fp" >"$out.inputs"
  echo "$name" >"$out.name"   # containerd-up.sh imports every archive with a .name
  rm -rf "$r"
}
