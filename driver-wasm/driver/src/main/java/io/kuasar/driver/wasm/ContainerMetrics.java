package io.kuasar.driver.wasm;

import io.kuasar.driver.kit.ProtoWriter;
import io.kuasar.spi.TypedData;

/**
 * A wasm container's figures as containerd's CRI reads them on Linux: the cgroup v1
 * {@code io.containerd.cgroups.v1.Metrics} message, protobuf-encoded by hand (the bundle carries no protobuf
 * runtime). CRI takes CPU from {@code cpu.usage.total} (ns) and the working set from {@code memory.usage.usage}
 * minus {@code memory.total_inactive_file}; field numbers are those of containerd/cgroups' v1 metrics.proto:
 * Metrics { cpu = 3; memory = 4 }, CPUStat { usage = 1 }, CPUUsage { total = 1 }, MemoryStat { rss = 2;
 * usage = 33 }, MemoryEntry { limit = 1; usage = 2; max = 3 }.
 */
final class ContainerMetrics {
    static final String TYPE_URL = "io.containerd.cgroups.v1.Metrics";
    /** Written as the limit when there is none: above CRI's 2^62 "unlimited" threshold. */
    static final long NO_LIMIT = Long.MAX_VALUE;

    private ContainerMetrics() {
    }

    static TypedData of(long cpuNanos, long memoryBytes, long peakBytes, long limitBytes) {
        ProtoWriter usage = new ProtoWriter().uint64(1, cpuNanos);
        ProtoWriter cpu = new ProtoWriter().message(1, usage, true);
        ProtoWriter entry = new ProtoWriter().uint64(1, limitBytes > 0 ? limitBytes : NO_LIMIT).uint64(2, memoryBytes)
                .uint64(3, Math.max(peakBytes, memoryBytes));
        ProtoWriter memory = new ProtoWriter().uint64(2, memoryBytes).uint64(19, memoryBytes).message(33, entry, true);
        return new TypedData(TYPE_URL, new ProtoWriter().message(3, cpu, true).message(4, memory, true).bytes());
    }
}
