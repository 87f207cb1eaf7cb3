package io.kuasar.driver.vmm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kuasar.driver.kit.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;

/**
 * The size of a VM pod's host cgroup (QEMU's) after a container Update: it follows the limits of the pod's live
 * containers, which the guest applies to each container, so what the host accounts for the pod shrinks and grows
 * with them.
 * <ul>
 * <li>memory: the sum of the containers' memory limits, at most the guest's RAM (the guest cannot use more), plus
 * {@link PodCgroup#OVERHEAD_BYTES} (QEMU's own memory, and the guest's kernel, initramfs and agent); the guest's RAM
 * plus that overhead, as at the pod's start, while one of them has no limit;</li>
 * <li>CPU: the sum of their CFS quotas over a {@value #PERIOD_US} µs period; no quota while one of them has none.</li>
 * </ul>
 * A container's current limits are the {@code linux.resources} of its guest config.json in the pod share, written
 * at Create and rewritten by each Update, so a restarted driver finds them again.
 */
final class VmCgroupSize {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final long PERIOD_US = 100_000;
    /** The smallest CFS quota the kernel takes. */
    private static final long MIN_QUOTA_US = 1_000;

    /** A host cgroup's limits: bytes of memory, and the CFS quota in µs per {@link #PERIOD_US} (-1: none). */
    record Limits(long memoryBytes, long cpuQuotaUs) {
    }

    private VmCgroupSize() {
    }

    /** The host cgroup's limits for a guest of {@code guestBytes} RAM whose live containers have {@code resources}. */
    static Limits of(long guestBytes, Collection<JsonNode> resources) {
        long memory = 0;
        long quota = 0;
        for (JsonNode r : resources) {
            long limit = r.path("memory").path("limit").asLong(0);
            memory = limit <= 0 || memory < 0 ? -1 : saturatedAdd(memory, limit);
            long q = r.path("cpu").path("quota").asLong(0);
            long period = r.path("cpu").path("period").asLong(PERIOD_US);
            quota = q <= 0 || period <= 0 || quota < 0 ? -1 : saturatedAdd(quota, perPeriod(q, period));
        }
        long guest = memory < 0 || resources.isEmpty() ? guestBytes : Math.min(memory, guestBytes);
        long cpu = quota < 0 || resources.isEmpty() ? -1 : Math.max(quota, MIN_QUOTA_US);
        return new Limits(guest + PodCgroup.OVERHEAD_BYTES, cpu);
    }

    /** A quota of {@code q} µs per {@code period} µs as µs per {@link #PERIOD_US}, at least 1. */
    private static long perPeriod(long q, long period) {
        return q > Long.MAX_VALUE / PERIOD_US ? Long.MAX_VALUE : Math.max(1, q * PERIOD_US / period);
    }

    private static long saturatedAdd(long a, long b) {
        long s = a + b;
        return s < 0 ? Long.MAX_VALUE : s;
    }

    /** The {@code linux.resources} of the guest config.json in {@code ctrShare}; an empty object if it has none. */
    static JsonNode recorded(Path ctrShare) throws IOException {
        Path config = ctrShare.resolve("config.json");
        if (!Files.exists(config)) {
            return JSON.createObjectNode();
        }
        JsonNode r = JSON.readTree(config.toFile()).path("linux").path("resources");
        return r.isObject() ? r : JSON.createObjectNode();
    }

    /** Replaces the {@code linux.resources} of the guest config.json in {@code ctrShare} (after an Update). */
    static void record(Path ctrShare, JsonNode resources) throws IOException {
        Path config = ctrShare.resolve("config.json");
        JsonNode spec = JSON.readTree(config.toFile());
        if (spec instanceof ObjectNode o) {
            JsonNode linux = o.path("linux");
            (linux.isObject() ? (ObjectNode) linux : o.putObject("linux")).set("resources", resources);
            AtomicFiles.writeAtomically(config, JSON.writeValueAsBytes(o));
        }
    }
}
