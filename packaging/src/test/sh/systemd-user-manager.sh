#!/bin/sh
# A real systemd manager (systemd --user, run as root) for tests of kuasar.service on a host that was not booted
# with systemd. Run it in a mount namespace of its own (unshare -m): everything it changes stays there.
#   systemd-user-manager.sh CGROUP RUNTIME_DIR CONFIG_HOME
# - systemd refuses to run unless /run/systemd/system exists: this namespace gets a /run of its own (a tmpfs) that
#   holds that directory and bind mounts of every entry of the host's /run but /run/systemd, so the host never
#   sees it (a host with /run/systemd/system looks booted with systemd to every tool).
# - The manager and its units live in cgroup CGROUP, made below the root of each hierarchy systemd uses (the
#   name=systemd one, and the cgroup2 one beside it): nothing else's cgroups are touched.
# - RUNTIME_DIR and CONFIG_HOME are its XDG_RUNTIME_DIR (RuntimeDirectory= below it) and XDG_CONFIG_HOME
#   (StateDirectory= and its units, in systemd/user, below it).
set -eu
cgroup=$1 runtime=$2 config=$3
old=$runtime/.host-run
mkdir -p "$old"
mount --bind /run "$old"
mount -t tmpfs -o mode=0755 tmpfs /run
for e in "$old"/* "$old"/.[!.]*; do
  [ -e "$e" ] || [ -L "$e" ] || continue
  name=$(basename "$e")
  [ "$name" = systemd ] && continue
  if [ -d "$e" ] && [ ! -L "$e" ]; then
    mkdir "/run/$name" && mount --rbind "$e" "/run/$name"
  else
    ln -s "$e" "/run/$name"
  fi
done
mkdir -p /run/systemd/system
# Beside cgroup v1 controllers systemd needs a name=systemd hierarchy. A host without one gets it in this namespace
# only: /sys/fs/cgroup becomes a tmpfs of bind mounts of the host's hierarchies (as /run above), plus a mount of a
# name=systemd hierarchy, which the kernel makes and which no other namespace sees.
if [ "${KUASAR_TEST_OWN_NAMED_CGROUP:-0}" = 1 ] \
    || ! grep -q ' /sys/fs/cgroup/systemd .* - cgroup .*name=systemd' /proc/self/mountinfo; then
  oldcg=$runtime/.host-cgroup
  mkdir -p "$oldcg"
  mount --rbind /sys/fs/cgroup "$oldcg"
  mount -t tmpfs -o mode=0755 tmpfs /sys/fs/cgroup
  for e in "$oldcg"/*; do
    name=$(basename "$e")
    [ "$name" = systemd ] && continue
    mkdir "/sys/fs/cgroup/$name" && mount --rbind "$e" "/sys/fs/cgroup/$name"
  done
  mkdir /sys/fs/cgroup/systemd
  mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
fi
for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
  if [ -d "$h" ]; then
    mkdir -p "$h/$cgroup"
    echo $$ > "$h/$cgroup/cgroup.procs"
  fi
done
exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$config" \
  XDG_RUNTIME_DIR="$runtime" XDG_CONFIG_HOME="$config" SYSTEMD_LOG_TARGET=console \
  /lib/systemd/systemd --user --unit=kuasar-test.target
