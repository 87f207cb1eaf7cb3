#!/usr/bin/env bash
# Cuts the baseline of a bundle's exported API for the build's semantic-version check (bnd-baseline-maven-plugin in
# the module's pom.xml): a jar holding only the given packages, as compiled from the current sources, with the
# manifest a release of bundle BSN would have. The module's build installs it into the local Maven repository and
# baselines against it.
#
#   cnf/make-baseline.sh [--overwrite] [--title TEXT] MODULE BSN PACKAGE...
#
#   cnf/make-baseline.sh --title "Kuasar driver SPI" host/bundle io.kuasar.host io.kuasar.spi
#   cnf/make-baseline.sh --title "Kuasar ttrpc" ttrpc-endpoint/ttrpc io.kuasar.ttrpc io.kuasar.ttrpc
#
# Run it after building the module (mvn -B install -pl MODULE). MODULE is relative to the repository (or absolute).
# The version is the first PACKAGE's in Export-Package of MODULE/target/classes' manifest (its @Version); the name
# is the artifactId of the module's baseCoordinates (io.kuasar.jvm.baseline:NAME:...), so the jar written,
# MODULE/baseline/NAME-VERSION.jar, is the one the pom installs. Only each package's own classes go in, not its
# subpackages. A baseline that exists is never rewritten: cut a new one (new version), point the pom's
# baseline.*.version at it and delete the old jar.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '7p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2; exit 2; }

overwrite=0 title=""
while [[ ${1:-} == --* ]]; do
  case $1 in
    --overwrite) overwrite=1; shift ;;
    --title) title=${2:-}; shift 2 || usage ;;
    *) usage ;;
  esac
done
(($# >= 3)) || usage
module=$1 bsn=$2
shift 2
packages=("$@")
[[ $module == /* ]] || module="$repo/$module"

classes="$module/target/classes"
manifest="$classes/META-INF/MANIFEST.MF"
[ -f "$manifest" ] || { echo "no $manifest: build the module first (mvn -B install -pl MODULE)" >&2; exit 1; }
name="$(grep -o '<baseCoordinates>io\.kuasar\.jvm\.baseline:[^:<]*:' "$module/pom.xml" | sed 's/.*baseline:\(.*\):/\1/')"
[ -n "$name" ] || { echo "no <baseCoordinates>io.kuasar.jvm.baseline:NAME:...</baseCoordinates> in $module/pom.xml" >&2; exit 1; }

# Unfold the manifest's 72-column continuation lines, drop directives (uses:="a,b" holds commas), then find
# PACKAGE;version="X" in Export-Package.
exports="$(sed -e ':a' -e 'N' -e '$!ba' -e 's/\r\?\n //g' "$manifest" | grep '^Export-Package:' \
  | sed 's/;[a-z-]*:="[^"]*"//g' || true)"
exported=() version=""
for p in "${packages[@]}"; do
  v="$(grep -o "[ ,]${p//./\\.};version=\"[0-9.]*\"" <<<"$exports" | sed 's/.*version="\(.*\)"/\1/' || true)"
  [ -n "$v" ] || { echo "$p is not exported with a version in $manifest" >&2; exit 1; }
  [ -n "$version" ] || version=$v
  exported+=("$p;version=\"$v\"")
done

jar="$module/baseline/$name-$version.jar"
if [ -e "$jar" ] && ((!overwrite)); then
  echo "baseline $version exists ($jar); a released baseline is never rewritten (--overwrite to force)" >&2
  exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for p in "${packages[@]}"; do
  dir="${p//.//}"
  mkdir -p "$work/classes/$dir"
  find "$classes/$dir" -maxdepth 1 -type f -exec cp {} "$work/classes/$dir/" \;
done
# Bundle-Version 0.0.0: only the package versions are checked (see docs/writing-a-driver.md, Versioning).
cat > "$work/MANIFEST.MF" <<MF
Bundle-ManifestVersion: 2
Bundle-SymbolicName: ${bsn}
Bundle-Name: ${title:-$bsn} ${version} (baseline)
Bundle-Version: 0.0.0
Export-Package: $(IFS=,; echo "${exported[*]}")
MF
mkdir -p "$module/baseline"
roots=()
for d in "$work/classes"/*; do roots+=(-C "$work/classes" "$(basename "$d")"); done
jar --create --file "$jar" --manifest "$work/MANIFEST.MF" --date=2026-01-01T00:00:00Z "${roots[@]}"
echo "baseline ${packages[*]} $version: $jar"
