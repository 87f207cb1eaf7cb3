package io.kuasar.driver.vmm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Puts a pod's QEMU into the pod's cgroup, {@code CGROUP_PARENT/kuasar-vmm-ID}, in the cgroup v1 hierarchies this
 * host has (cpu, memory, pids), so the pod's whole cost (guest memory, vCPU threads, emulation) is accounted where
 * Kubernetes looks. The memory limit is the guest's memory plus QEMU's own overhead; a container Update resizes it
 * and the CPU quota ({@link VmCgroupSize}).
 */
final class PodCgroup {
    private static final Path ROOT = Path.of("/sys/fs/cgroup");
    private static final List<String> CONTROLLERS = List.of("cpu", "memory", "pids");
    /** QEMU's own memory beside the guest's RAM under TCG (translation cache, devices): measured about 160 MB. */
    static final long OVERHEAD_BYTES = 256L << 20;

    private PodCgroup() {
    }

    static String path(String parent, String podId) {
        String p = parent == null || parent.isBlank() ? "/kuasar-vmm" : parent.trim();
        return (p.startsWith("/") ? p : "/" + p).replaceAll("/+$", "") + "/kuasar-vmm-" + podId;
    }

    /** Creates the cgroup and moves {@code pid} into it; hierarchies this host lacks are skipped. */
    static void enter(String cgroup, long pid, long memoryBytes) throws IOException {
        for (String c : CONTROLLERS) {
            Path base = ROOT.resolve(c);
            if (!Files.isDirectory(base)) {
                continue;
            }
            Path dir = Files.createDirectories(base.resolve(cgroup.substring(1)));
            if (c.equals("memory") && memoryBytes > 0) {
                Files.writeString(dir.resolve("memory.limit_in_bytes"), Long.toString(memoryBytes + OVERHEAD_BYTES));
            }
            Files.writeString(dir.resolve("cgroup.procs"), Long.toString(pid));
        }
    }

    /** The memory limit and CFS quota the pod's cgroup has now; a hierarchy this host lacks reads as no limit. */
    static VmCgroupSize.Limits limits(String cgroup) throws IOException {
        if (cgroup == null || cgroup.isEmpty()) {
            return new VmCgroupSize.Limits(-1, -1);
        }
        Path memory = ROOT.resolve("memory").resolve(cgroup.substring(1)).resolve("memory.limit_in_bytes");
        Path cpu = ROOT.resolve("cpu").resolve(cgroup.substring(1));
        long bytes = Files.exists(memory) ? Long.parseLong(Files.readString(memory).trim()) : -1;
        long quota = Files.exists(cpu.resolve("cpu.cfs_quota_us"))
                ? Long.parseLong(Files.readString(cpu.resolve("cpu.cfs_quota_us")).trim())
                        * VmCgroupSize.PERIOD_US / Long.parseLong(Files.readString(cpu.resolve("cpu.cfs_period_us")).trim())
                : -1;
        return new VmCgroupSize.Limits(bytes, quota < 0 ? -1 : quota);
    }

    /**
     * Gives the pod's cgroup {@code limits} (hierarchies this host lacks are skipped). The kernel refuses to set a
     * memory limit below what QEMU holds (EBUSY: guest memory once touched stays with QEMU); that failure is thrown
     * with the cgroup left as it was.
     */
    static void apply(String cgroup, VmCgroupSize.Limits limits) throws IOException {
        if (cgroup == null || cgroup.isEmpty()) {
            return; // a pod recorded before it had a cgroup
        }
        Path memory = ROOT.resolve("memory").resolve(cgroup.substring(1));
        if (Files.isDirectory(memory) && limits.memoryBytes() > 0) {
            Files.writeString(memory.resolve("memory.limit_in_bytes"), Long.toString(limits.memoryBytes()));
        }
        Path cpu = ROOT.resolve("cpu").resolve(cgroup.substring(1));
        if (Files.isDirectory(cpu)) {
            Files.writeString(cpu.resolve("cpu.cfs_period_us"), Long.toString(VmCgroupSize.PERIOD_US));
            Files.writeString(cpu.resolve("cpu.cfs_quota_us"), Long.toString(limits.cpuQuotaUs()));
        }
    }

    /**
     * How many processes the kernel's OOM killer ended in the pod's memory cgroup ({@code oom_kill} of v1's
     * memory.oom_control, kernel 4.13 and later); 0 when the host has no such file.
     */
    static long oomKills(String cgroup) {
        if (cgroup == null || cgroup.isEmpty()) {
            return 0;
        }
        try {
            for (String line : Files.readAllLines(ROOT.resolve("memory").resolve(cgroup.substring(1))
                    .resolve("memory.oom_control"))) {
                if (line.startsWith("oom_kill ")) {
                    return Long.parseLong(line.substring("oom_kill ".length()).trim());
                }
            }
        } catch (IOException | NumberFormatException e) {
            // no v1 memory hierarchy, or an older kernel: nothing known
        }
        return 0;
    }

    /** Removes the cgroup once QEMU is gone (rmdir of an empty cgroup; the files inside are virtual). */
    static List<String> remove(String cgroup) {
        List<String> left = new ArrayList<>();
        if (cgroup == null || cgroup.isEmpty()) {
            return left;
        }
        for (String c : CONTROLLERS) {
            Path dir = ROOT.resolve(c).resolve(cgroup.substring(1));
            try {
                Files.deleteIfExists(dir);
            } catch (IOException e) {
                left.add(dir.toString());
            }
        }
        return left;
    }
}
