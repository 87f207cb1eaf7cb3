#!/usr/bin/env bash
# driver-wasm's test image: a WASI C program (driver-wasm/testdata/wasm-test.c, see its header for the actions)
# built with clang-16 --target=wasm32-wasi against bookworm's wasi-libc, packed as an OCI archive that
# containerd-up.sh imports. The rootfs holds only:
#   /wasm-test.wasm   the module (the image's entrypoint)
#   /etc/greeting     a file the module can read from its rootfs
#   /corrupt.wasm     garbage with a .wasm name, for the "corrupt module" create error
#   /tmp, /root/      directories, and links that try to leave the container's root (WasmConfinementTest):
#   /hostroot -> /, /secret -> /root/kuasar-wasm-secret, /up -> ../../../../.., /chain1 -> /chain2 -> hostroot/tmp,
#   /dangling -> /no/such/file, /loop1 -> /loop2 -> /loop1, /tovol -> /mnt/vol/inside.txt
# Also leaves $KUASAR_IMAGE_DIR/wasm-test.wasm for the benchmark. Rebuilt only when its inputs change.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../node-env.sh"
. "$KUASAR_REPO/scripts/oci-pack.sh"   # sha, rtar, pack, build
umask 022
export LC_ALL=C
KUASAR_WASM_TEST_IMAGE="${KUASAR_WASM_TEST_IMAGE:-localhost/kuasar/wasm-test:1.0}"
SRC="$KUASAR_REPO/driver-wasm/testdata/wasm-test.c"
SRC_FS="$KUASAR_REPO/driver-wasm/testdata/wasm-test-fs.c"
mkdir -p "$KUASAR_IMAGE_DIR"

compile() {
  clang-16 --target=wasm32-wasi --sysroot=/usr -O2 -Wall -Wl,--strip-all -o "$1" "$SRC" "$SRC_FS"
}

wasm_rootfs() {
  local root=$1
  mkdir -p "$root/etc"
  compile "$root/wasm-test.wasm"
  echo "hello from the wasm image" >"$root/etc/greeting"
  printf 'this is not a WebAssembly module\n' >"$root/corrupt.wasm"
  mkdir -p "$root/tmp" "$root/root"
  chmod 1777 "$root/tmp"
  ln -s / "$root/hostroot"
  ln -s /root/kuasar-wasm-secret "$root/secret"
  ln -s ../../../../.. "$root/up"
  ln -s /chain2 "$root/chain1"
  ln -s hostroot/tmp "$root/chain2"
  ln -s /no/such/file "$root/dangling"
  ln -s /loop2 "$root/loop1"
  ln -s /loop1 "$root/loop2"
  ln -s /mnt/vol/inside.txt "$root/tovol"
}
wasm_rootfs_config() {
  echo '{"Env":["PATH=/"],"Entrypoint":["/wasm-test.wasm"],"WorkingDir":"/"}'
}

fp="$(sha "${BASH_SOURCE[0]}") $(sha "$SRC") $(sha "$SRC_FS") $(dpkg-query -W -f='${Version}' clang-16 wasi-libc | tr '\n' ' ') $KUASAR_WASM_TEST_IMAGE"
build "$KUASAR_WASM_TEST_IMAGE" "$KUASAR_IMAGE_DIR/wasm-test.tar" "$fp" wasm_rootfs
if [[ ! -f $KUASAR_IMAGE_DIR/wasm-test.wasm || "$(cat "$KUASAR_IMAGE_DIR/wasm-test.wasm.inputs" 2>/dev/null)" != "$fp" ]]; then
  compile "$KUASAR_IMAGE_DIR/wasm-test.wasm.tmp"
  mv "$KUASAR_IMAGE_DIR/wasm-test.wasm.tmp" "$KUASAR_IMAGE_DIR/wasm-test.wasm"
  echo "$fp" >"$KUASAR_IMAGE_DIR/wasm-test.wasm.inputs"
fi
