#!/usr/bin/env bash
# Builds the Debian package kuasar_VERSION_amd64.deb from the build's outputs, with dpkg-deb only:
#   packaging/deb/build.sh MAVEN_VERSION OUT_DIR
# Inputs: host/target/kuasar.jar (the node with every driver inside, `mvn install`), the keeper (built here from
# host/keeper), the vmm driver's guest ($KUASAR_CACHE/vmm/guest, scripts/build-images.sh; left out with a warning
# when absent: kuasar-vmm pods then fail naming the missing file). A Maven -SNAPSHOT becomes ~SNAPSHOT, which
# Debian orders before the release. Prints the path of the package.
set -euo pipefail
umask 022   # the files written here (control, md5sums, gzip output) get 0644 whatever the caller's umask
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
MVN_VERSION=${1:?usage: build.sh MAVEN_VERSION OUT_DIR}
OUT=${2:?usage: build.sh MAVEN_VERSION OUT_DIR}
CACHE="${KUASAR_CACHE:-$REPO/.cache}"
JAR="$REPO/host/target/kuasar.jar"
GUEST="${KUASAR_VMM_GUEST_DIR:-$CACHE/vmm/guest}"
VERSION="${MVN_VERSION/-SNAPSHOT/~SNAPSHOT}"
[[ $VERSION =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || { echo "deb/build.sh: '$MVN_VERSION' makes no Debian version" >&2; exit 1; }
[[ -f $JAR ]] || { echo "deb/build.sh: $JAR missing; build it with: mvn -B install -DskipTests" >&2; exit 1; }

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
ROOT="$OUT/deb-root"
rm -rf "$ROOT"
# Directories 0755 and files 0644 whatever the umask; the few executables are set below.
install -d -m 755 "$ROOT/DEBIAN" "$ROOT/usr/bin" "$ROOT/usr/lib/kuasar" "$ROOT/lib/systemd/system" \
  "$ROOT/etc/kuasar/conf.d" "$ROOT/etc/containerd/conf.d" "$ROOT/usr/share/doc/kuasar" \
  "$ROOT/usr/share/lintian/overrides" "$ROOT/usr/share/man/man1"

install -m 644 "$JAR" "$ROOT/usr/lib/kuasar/kuasar.jar"
"$REPO/host/keeper/build.sh" "$OUT/keeper/kuasar-keeper"
install -m 755 "$OUT/keeper/kuasar-keeper" "$ROOT/usr/lib/kuasar/kuasar-keeper"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$ROOT/usr/lib/kuasar/kuasar-keeper"
if [[ -f $GUEST/vmlinuz && -f $GUEST/initrd.img ]]; then
  install -d -m 755 "$ROOT/usr/lib/kuasar/vmm/guest"
  install -m 644 "$GUEST/vmlinuz" "$GUEST/initrd.img" "$ROOT/usr/lib/kuasar/vmm/guest/"
else
  echo "deb/build.sh: WARNING: no vmm guest in $GUEST (scripts/build-images.sh makes it); packaging without it" >&2
fi
install -m 755 "$HERE/files/kuasar" "$ROOT/usr/bin/kuasar"
install -m 644 "$HERE/files/kuasar.service" "$ROOT/lib/systemd/system/kuasar.service"
install -m 644 "$HERE/files/jvm.args" "$HERE/files/README.conf.d" "$ROOT/etc/kuasar/"
mv "$ROOT/etc/kuasar/README.conf.d" "$ROOT/etc/kuasar/conf.d/README"
install -m 644 "$HERE/files/io.kuasar.driver.runc.cfg.example" "$ROOT/etc/kuasar/conf.d/"
install -m 644 "$HERE/files/containerd-kuasar.toml" "$ROOT/etc/containerd/conf.d/kuasar.toml"
install -m 644 "$HERE/debian/copyright" "$HERE/files/README.Debian" "$ROOT/usr/share/doc/kuasar/"
gzip -9n <"$HERE/debian/changelog" >"$ROOT/usr/share/doc/kuasar/changelog.gz"
gzip -9n <"$HERE/files/kuasar.1" >"$ROOT/usr/share/man/man1/kuasar.1.gz"
install -m 644 "$HERE/debian/lintian-overrides" "$ROOT/usr/share/lintian/overrides/kuasar"

for s in postinst prerm postrm; do install -m 755 "$HERE/debian/$s" "$ROOT/DEBIAN/$s"; done
install -m 644 "$HERE/debian/conffiles" "$ROOT/DEBIAN/conffiles"
size="$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)"
sed -e "s/@VERSION@/$VERSION/" -e "s/@SIZE@/$size/" "$HERE/debian/control" >"$ROOT/DEBIAN/control"
(cd "$ROOT" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) \
  >"$ROOT/DEBIAN/md5sums"
chmod 644 "$ROOT/DEBIAN/md5sums"

deb="$OUT/kuasar_${VERSION}_amd64.deb"
# --root-owner-group: every file root:root without fakeroot. gzip, not dpkg's default xz: the payload is mostly
# compressed already (jars, the initramfs), so xz saves 5% and took 131 s against gzip's 5 s on a busy 2-CPU machine.
dpkg-deb --root-owner-group -Zgzip --build "$ROOT" "$deb" >/dev/null
echo "$deb"
