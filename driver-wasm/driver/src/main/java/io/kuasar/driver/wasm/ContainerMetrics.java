package io.kuasar.driver.wasm;

import io.kuasar.spi.TypedData;
import java.io.ByteArrayOutputStream;

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
        Pb usage = new Pb().uint64(1, cpuNanos);
        Pb cpu = new Pb().message(1, usage);
        Pb entry = new Pb().uint64(1, limitBytes > 0 ? limitBytes : NO_LIMIT).uint64(2, memoryBytes)
                .uint64(3, Math.max(peakBytes, memoryBytes));
        Pb memory = new Pb().uint64(2, memoryBytes).uint64(19, memoryBytes).message(33, entry);
        return new TypedData(TYPE_URL, new Pb().message(3, cpu).message(4, memory).bytes());
    }

    /** Varint fields and nested messages, all this message needs. */
    static final class Pb {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Pb uint64(int field, long value) {
            if (value != 0) {
                varint((long) field << 3);
                varint(value);
            }
            return this;
        }

        /** Always written, also when empty, so the reader sees it set. */
        Pb message(int field, Pb body) {
            byte[] b = body.bytes();
            varint(((long) field << 3) | 2);
            varint(b.length);
            out.writeBytes(b);
            return this;
        }

        private void varint(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
