#!/bin/sh
# Builds the keeper: host/keeper/build.sh OUT. Static when the static binary runs, else dynamic (libc only).
# Does nothing when OUT is newer than every source.
set -eu
out=${1:?usage: build.sh OUT}
src=$(cd "$(dirname "$0")" && pwd)
sources="$src/kuasar-keeper.c $src/control.c $src/relay.c $src/handover.c $src/holder.c $src/bufs.c $src/exit_records.c"
if [ -x "$out" ]; then
    stale=0
    for f in $sources "$src/keeper.h" "$src/relay.h" "$src/build.sh"; do
        [ "$f" -nt "$out" ] && stale=1
    done
    [ "$stale" = 0 ] && exit 0
fi
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
flags="-O2 -Wall -Wextra -Werror"
# shellcheck disable=SC2086
if gcc $flags -static -o "$tmp" $sources 2>/dev/null && "$tmp" --version >/dev/null 2>&1; then
    :
else
    gcc $flags -o "$tmp" $sources
fi
mv -f "$tmp" "$out" # atomic: concurrent builds never see a half-written binary
