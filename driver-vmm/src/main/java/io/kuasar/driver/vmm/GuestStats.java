package io.kuasar.driver.vmm;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import io.kuasar.driver.vmm.agent.proto.StatsResponse;
import io.kuasar.spi.TypedData;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The agent's cgroup2 figures as containerd's cgroups v1 {@code Metrics}, the type CRI's stats read (as the other
 * drivers report): Metrics { PidsStat pids = 2; CPUStat cpu = 3; MemoryStat memory = 4 }.
 */
final class GuestStats {
    static final String TYPE_URL = "io.containerd.cgroups.v1.Metrics";
    /** cgroups v1's "no limit", which CRI expects rather than 0. */
    private static final long NO_LIMIT = 0x7FFFFFFFFFFFF000L;

    private GuestStats() {
    }

    static TypedData metrics(StatsResponse s) {
        ByteString pids = message(out -> out.writeUInt64(1, s.getPids()));
        ByteString usage = message(out -> out.writeUInt64(1, s.getCpuUsageNs()));
        ByteString cpu = message(out -> out.writeBytes(1, usage));
        long limit = s.getMemoryLimitBytes() == 0 ? NO_LIMIT : s.getMemoryLimitBytes();
        ByteString memUsage = message(out -> {
            out.writeUInt64(1, limit);
            out.writeUInt64(2, s.getMemoryUsageBytes());
        });
        ByteString memory = message(out -> out.writeBytes(33, memUsage)); // MemoryStat { MemoryEntry usage = 33 }
        ByteString metrics = message(out -> {
            out.writeBytes(2, pids);
            out.writeBytes(3, cpu);
            out.writeBytes(4, memory);
        });
        return new TypedData(TYPE_URL, metrics.toByteArray());
    }

    private interface Writer {
        void write(CodedOutputStream out) throws IOException;
    }

    private static ByteString message(Writer w) {
        try {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            CodedOutputStream out = CodedOutputStream.newInstance(b);
            w.write(out);
            out.flush();
            return ByteString.copyFrom(b.toByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
