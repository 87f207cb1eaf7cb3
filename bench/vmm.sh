#!/usr/bin/env bash
# driver-vmm figures, in one run on this machine (TCG here, see /work/shared/FACTS.md):
#   1. bare QEMU: the guest kernel + initramfs booted by hand (the driver's cold command line, no pod) to the agent's
#      first Ping answer (the physical limit of a cold pod start), the agent's round trip over virtio-serial, and
#      QEMU's PSS with the idle guest;
#   2. through CRI (handler kuasar-vmm, the private containerd and node): pod start (RunPodSandbox) and pod start to
#      container running (RunPodSandbox + CreateContainer + StartContainer of busybox sleep), cold boot and
#      templated, alternating, PODS each; PSS per VM pod (QEMU + the stream holder) against QEMU alone.
# Usage: bench/vmm.sh [PODS] (default 5). Prints a table; writes bench/results/vmm.txt. See docs/benchmarks.md.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$repo/scripts/node-env.sh"
PODS="${1:-5}"
BOOTS="${KUASAR_VMM_BENCH_BOOTS:-5}"
OUT="$repo/bench/results/vmm.txt"
G="${KUASAR_VMM_IMAGE_DIR:-$KUASAR_CACHE/vmm/guest}"
bash "$repo/scripts/deps.d/vmm.sh" >/dev/null
bash "$repo/scripts/images.d/vmm-guest.sh"
mkdir -p "$repo/bench/results"
work="$(mktemp -d /tmp/kuasar-vmm-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# --- 1. bare QEMU --------------------------------------------------------------------------------------------
# A JDK-only client: spawns QEMU, pings the agent until it answers (boot to ready), then 500 pings (round trip),
# then reads QEMU's PSS and ends it. ttrpc frames by hand: 10-byte header, Request{service=1, method=2, payload=3}.
cat >"$work/BarePing.java" <<'JAVA'
import java.io.*; import java.net.*; import java.nio.*; import java.nio.channels.*; import java.nio.file.*; import java.util.*;
public class BarePing {
    static int stream = 1;
    static byte[] field(int n, byte[] v) { ByteArrayOutputStream b = new ByteArrayOutputStream(); b.write(n << 3 | 2); b.write(v.length); b.writeBytes(v); return b.toByteArray(); }
    static boolean ping(SocketChannel ch, long timeoutMs) throws Exception {
        ByteArrayOutputStream req = new ByteArrayOutputStream();
        req.writeBytes(field(1, "kuasar.agent.v1.Agent".getBytes())); req.writeBytes(field(2, "Ping".getBytes()));
        byte[] r = req.toByteArray();
        ByteBuffer f = ByteBuffer.allocate(10 + r.length).putInt(r.length).putInt(stream).put((byte) 1).put((byte) 0).put(r);
        stream += 2; f.flip(); while (f.hasRemaining()) ch.write(f);
        Selector sel = Selector.open(); ch.configureBlocking(false); ch.register(sel, SelectionKey.OP_READ);
        ByteBuffer h = ByteBuffer.allocate(10); long end = System.nanoTime() + timeoutMs * 1_000_000L;
        try {
            while (h.hasRemaining()) { if (sel.select(Math.max(1, (end - System.nanoTime()) / 1_000_000)) == 0 && System.nanoTime() > end) return false; sel.selectedKeys().clear(); if (ch.read(h) < 0) throw new EOFException(); }
            ByteBuffer body = ByteBuffer.allocate(h.flip().getInt());
            while (body.hasRemaining()) { sel.select(); sel.selectedKeys().clear(); if (ch.read(body) < 0) throw new EOFException(); }
            return true;
        } finally { sel.close(); ch.configureBlocking(true); }
    }
    public static void main(String[] a) throws Exception {
        Path sock = Path.of(a[0]); List<String> cmd = Arrays.asList(a).subList(1, a.length);
        long t0 = System.nanoTime();
        Process q = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(new File(sock + ".log")).start();
        SocketChannel ch = null;
        while (ch == null) { try { ch = SocketChannel.open(UnixDomainSocketAddress.of(sock)); } catch (IOException e) { Thread.sleep(5); } }
        while (!ping(ch, 20)) { }
        long ready = System.nanoTime() - t0;
        long[] rtt = new long[500];
        for (int i = 0; i < rtt.length; i++) { long s = System.nanoTime(); ping(ch, 5000); rtt[i] = System.nanoTime() - s; }
        Arrays.sort(rtt);
        Thread.sleep(1000); // idle guest
        long pss = 0;
        for (String l : Files.readAllLines(Path.of("/proc/" + q.pid() + "/smaps_rollup"))) if (l.startsWith("Pss:")) pss = Long.parseLong(l.replaceAll("\\D", ""));
        q.destroyForcibly(); q.waitFor();
        System.out.printf("%d %d %d %d%n", ready / 1_000_000, rtt[rtt.length / 2] / 1000, rtt[rtt.length * 99 / 100] / 1000, pss);
    }
}
JAVA
mkdir -p "$work/share"
qemu_cmd=(qemu-system-x86_64 -machine pc,accel=tcg -cpu max -smp 1 -m 256M -nodefaults -no-user-config -display none
  -no-reboot -kernel "$G/vmlinuz" -initrd "$G/initrd.img"
  -append "console=ttyS0 quiet panic=-1 i8042.noaux i8042.nokbd i8042.nopnp noreplace-smp"
  -serial "file:$work/console.log" -device virtio-serial-pci,id=vser
  -chardev "socket,id=agent,path=$work/agent.sock,server=on,wait=off"
  -device virtserialport,bus=vser.0,chardev=agent,name=kuasar.agent
  -fsdev "local,id=share,path=$work/share,security_model=none,multidevs=remap"
  -device virtio-9p-pci,fsdev=share,mount_tag=kshare)
javac -d "$work" "$work/BarePing.java"
bare=()
for i in $(seq "$BOOTS"); do
  rm -f "$work/agent.sock"
  bare+=("$(java -cp "$work" BarePing "$work/agent.sock" "${qemu_cmd[@]}")")
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
p90() { sort -n | awk '{a[NR]=$1} END {i=int(NR*0.9+0.999); if (i<1) i=1; print a[i]}'; }
col() { printf '%s\n' "${bare[@]}" | awk -v c="$1" '{print $c}'; }
bare_ready_med="$(col 1 | median)"; bare_ready_p90="$(col 1 | p90)"
rtt_med="$(col 2 | median)"; rtt_p99="$(col 3 | median)"; bare_pss="$(col 4 | median)"

# --- 2. through CRI ------------------------------------------------------------------------------------------
build_dir="${KUASAR_E2E_BUILD_DIR:-$work/e2e}"
(cd "$repo" && KUASAR_E2E=1 mvn -B -q -o install -pl e2e -Dkuasar.e2e.build.dir="$build_dir" -Dtest=VmmBench \
   -Dsurefire.failIfNoSpecifiedTests=false -Dkuasar.vmm.bench=true -Dkuasar.vmm.bench.pods="$PODS" \
   -Dkuasar.vmm.bench.out="$work/cri.txt" >"$work/mvn.log" 2>&1) || { tail -40 "$work/mvn.log"; exit 1; }

{
  echo "# bench/vmm.sh $(date -u +%FT%TZ), $(nproc) CPUs, $(qemu-system-x86_64 --version | head -1), accel tcg"
  echo "bare QEMU, kernel + initramfs ($(stat -c %s "$G/initrd.img") B) to the agent's first answer, $BOOTS boots:" \
       "median $bare_ready_med ms, p90 $bare_ready_p90 ms"
  echo "agent round trip (Ping over virtio-serial, 500 calls, median of runs): median $rtt_med us, p99 $rtt_p99 us"
  echo "QEMU alone, idle guest after boot (256 MiB): PSS $bare_pss KiB"
  cat "$work/cri.txt"
} | tee "$OUT"
