#!/usr/bin/env bash
# Cuts a baseline of the driver SPI for the build's semantic-version check (bnd-baseline-maven-plugin in
# host/bundle/pom.xml): a jar holding only the package io.kuasar.spi, as compiled from the current sources, with
# the manifest a release of bundle io.kuasar.host would have, written next to this script as
# kuasar-spi-SPI_VERSION.jar. The build installs it into the local Maven repository as
# io.kuasar.jvm.baseline:kuasar-spi:SPI_VERSION and baselines against it.
#
#   host/bundle/baseline/make-baseline.sh            # after mvn -B install -pl host/bundle
#
# SPI_VERSION is read from host/bundle/target/classes' manifest (the version of io.kuasar.spi in Export-Package,
# i.e. @Version in package-info.java). A baseline that exists is never rewritten: cut a new one (new SPI version),
# point baseline.spi.version in host/bundle/pom.xml at it and delete the old jar.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
classes="$here/../target/classes"
manifest="$classes/META-INF/MANIFEST.MF"
[ -f "$manifest" ] || { echo "no $manifest: build host/bundle first (mvn -B install -pl host/bundle)" >&2; exit 1; }
# Unfold the manifest's 72-column continuation lines, then find io.kuasar.spi;version="X" in Export-Package.
version="$(sed -e ':a' -e 'N' -e '$!ba' -e 's/\r\?\n //g' "$manifest" | grep '^Export-Package:' \
  | grep -o 'io\.kuasar\.spi;version="[0-9.]*"' | sed 's/.*version="\(.*\)"/\1/')"
[ -n "$version" ] || { echo "io.kuasar.spi is not exported with a version in $manifest" >&2; exit 1; }

jar="$here/kuasar-spi-$version.jar"
if [ -e "$jar" ] && [ "${1:-}" != "--overwrite" ]; then
  echo "baseline $version exists ($jar); a released baseline is never rewritten (--overwrite to force)" >&2
  exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/classes/io/kuasar"
cp -r "$classes/io/kuasar/spi" "$work/classes/io/kuasar/"
# Bundle-Version 0.0.0: only the package versions are checked (see docs/writing-a-driver.md, Versioning).
cat > "$work/MANIFEST.MF" <<MF
Bundle-ManifestVersion: 2
Bundle-SymbolicName: io.kuasar.host
Bundle-Name: Kuasar driver SPI ${version} (baseline)
Bundle-Version: 0.0.0
Export-Package: io.kuasar.spi;version="${version}"
MF
jar --create --file "$jar" --manifest "$work/MANIFEST.MF" --date=2026-01-01T00:00:00Z -C "$work/classes" io
echo "baseline io.kuasar.spi $version: $jar"
