package io.kuasar.driver.vmm;

import io.kuasar.spi.SandboxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * The driver's settings (ConfigAdmin pid {@code io.kuasar.driver.vmm}) and the per-pod sizing rules.
 *
 * @param imageDir where vmlinuz and initrd.img are: setting, else -Dkuasar.vmm.image.dir, else
 *                 $KUASAR_CACHE/vmm/guest (what scripts/images.d/vmm-guest.sh writes), else /var/lib/kuasar/vmm/guest
 */
record VmmSettings(String qemu, Path imageDir, String accel, int defaultVcpus, int maxVcpus, int defaultMemoryMb,
                   int minMemoryMb, int maxMemoryMb, Duration bootTimeout, Duration stopTimeout, boolean network,
                   boolean template) {
    /** Annotations a pod may use to size its VM (beside the CRI pod-overhead annotations). */
    static final String VCPUS_ANNOTATION = "io.kuasar.vmm.vcpus";
    static final String MEMORY_ANNOTATION = "io.kuasar.vmm.memory-mb";
    static final String CRI_CPU_QUOTA = "io.kubernetes.cri.sandbox-cpu-quota";
    static final String CRI_CPU_PERIOD = "io.kubernetes.cri.sandbox-cpu-period";
    static final String CRI_MEMORY = "io.kubernetes.cri.sandbox-memory";

    static VmmSettings of(VmmConfig c) {
        String dir = c.image_dir();
        if (dir.isEmpty()) {
            dir = System.getProperty("kuasar.vmm.image.dir", "");
        }
        if (dir.isEmpty()) {
            String cache = System.getenv("KUASAR_CACHE");
            dir = cache == null || cache.isEmpty() ? "/var/lib/kuasar/vmm/guest" : cache + "/vmm/guest";
        }
        int hostCpus = Runtime.getRuntime().availableProcessors();
        return new VmmSettings(c.qemu_binary(), Path.of(dir), c.accel(), Math.max(1, c.default_vcpus()),
                Math.max(1, Math.min(c.max_vcpus(), hostCpus)), c.default_memory_mb(), 64, c.max_memory_mb(),
                Duration.ofSeconds(c.boot_timeout_seconds()), Duration.ofSeconds(c.stop_timeout_seconds()),
                c.network(), c.template());
    }

    Path kernel() {
        return imageDir.resolve("vmlinuz");
    }

    Path initrd() {
        return imageDir.resolve("initrd.img");
    }

    /** vCPUs for a pod: our annotation, else the CRI CPU quota rounded up, else the default; capped. */
    int vcpus(Map<String, String> annotations) throws SandboxException {
        long v = number(annotations, VCPUS_ANNOTATION, 0);
        if (v == 0) {
            long quota = number(annotations, CRI_CPU_QUOTA, 0);
            long period = number(annotations, CRI_CPU_PERIOD, 100_000);
            v = quota > 0 && period > 0 ? (quota + period - 1) / period : defaultVcpus;
        }
        if (v < 1 || v > maxVcpus) {
            throw SandboxException.invalid("a VM pod may have 1 to " + maxVcpus + " vCPUs here, not " + v);
        }
        return (int) v;
    }

    /** Memory for a pod in MiB: our annotation, else the CRI memory limit (bytes), else the default; bounded. */
    int memoryMb(Map<String, String> annotations) throws SandboxException {
        long mb = number(annotations, MEMORY_ANNOTATION, 0);
        if (mb == 0) {
            long bytes = number(annotations, CRI_MEMORY, 0);
            mb = bytes > 0 ? Math.max(minMemoryMb, (bytes + (1 << 20) - 1) >> 20) : defaultMemoryMb;
        }
        if (mb < minMemoryMb || mb > maxMemoryMb) {
            throw SandboxException.invalid("a VM pod may have " + minMemoryMb + " to " + maxMemoryMb
                    + " MiB of memory, not " + mb);
        }
        return (int) mb;
    }

    private static long number(Map<String, String> annotations, String key, long absent) throws SandboxException {
        String v = annotations.get(key);
        if (v == null || v.isBlank()) {
            return absent;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw SandboxException.invalid("annotation " + key + " must be a number, not \"" + v + "\"");
        }
    }
}
