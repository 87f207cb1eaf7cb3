package io.kuasar.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** What a VM pod leaves on the host, as the vmm tests look for it. */
final class VmmHost {
    private VmmHost() {
    }

    /** Waits until the driver's template VM is saved (it is built in the background when the driver starts). */
    static void awaitTemplate(NodeEnv env, java.time.Duration timeout) throws InterruptedException, IOException {
        Path root = env.kuasarStateDir().resolve("vmm/template");
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            if (Files.isDirectory(root)) {
                try (var dirs = Files.list(root)) {
                    if (dirs.anyMatch(d -> Files.exists(d.resolve("ready")))) {
                        return;
                    }
                }
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("no template VM ready under " + root + " after " + timeout);
    }

    /** PSS of the pod's QEMU (its argv carries {@code -name kuasar-POD}). */
    static long qemuPssKb(String podId) {
        long kb = 0;
        for (Processes.Proc p : Processes.matching(p -> p.argvMentions("kuasar-" + podId))) {
            kb += pssKb(p.pid());
        }
        return kb;
    }

    /** The seccomp mode (/proc/PID/status "Seccomp:", 2 = filter) of each of the pod's QEMU processes. */
    static List<Integer> qemuSeccompModes(String podId) {
        List<Integer> modes = new ArrayList<>();
        for (Processes.Proc p : Processes.matching(p -> p.argvMentions("kuasar-" + podId))) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/" + p.pid() + "/status"))) {
                    if (line.startsWith("Seccomp:")) {
                        modes.add(Integer.parseInt(line.substring(8).strip()));
                    }
                }
            } catch (IOException | RuntimeException gone) {
                // exited meanwhile
            }
        }
        return modes;
    }

    static long pssKb(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
                if (line.startsWith("Pss:")) {
                    return Long.parseLong(line.replaceAll("\\D", ""));
                }
            }
        } catch (IOException | RuntimeException gone) {
            // exited meanwhile
        }
        return 0;
    }

    /** Tap devices in the host's namespace named after the pod (the driver's taps live in the pod's netns). */
    static List<String> tapsOf(String podId) {
        List<String> out = new ArrayList<>();
        try (var links = Files.list(Path.of("/sys/class/net"))) {
            links.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("tap") && Files.exists(Path.of("/sys/class/net", n, "tun_flags")))
                    .filter(n -> n.contains(podId.substring(0, 8)))
                    .forEach(out::add);
        } catch (IOException e) {
            // no sysfs: nothing to see
        }
        return out;
    }
}
