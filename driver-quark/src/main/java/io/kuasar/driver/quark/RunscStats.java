package io.kuasar.driver.quark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kuasar.driver.kit.ProtoWriter;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TypedData;
import java.io.IOException;

/**
 * A container's figures from {@code runsc events --stats ID} turned into what containerd's CRI reads on Linux: the
 * cgroup v1 {@code io.containerd.cgroups.v1.Metrics} message, protobuf-encoded by hand (driver bundles carry no
 * protobuf runtime). CRI takes CPU from {@code cpu.usage.total} and the working set from {@code memory.usage.usage}
 * minus {@code memory.total_inactive_file}; available bytes from {@code memory.usage.limit}.
 *
 * <p>runsc prints runc's event format: {@code {"type":"stats","id":..,"data":{"cpu":{"usage":{"total":..}},
 * "memory":{"cache":..,"usage":{"limit":..,"usage":..,"max":..,"failcnt":..},"raw":{..}},"pids":{"current":..}}}};
 * gVisor fills cpu total, memory usage and pids (the sentry's own accounting), leaves the rest zero or absent.
 * Field numbers are those of containerd/cgroups' v1 metrics.proto.
 *
 * <p>What the figures mean (runsc 20240729, seen in a probe): CPU is the container's own; memory is gVisor's
 * accounting for the whole sandbox, the same value for every app container of the pod (the pod's sandbox container
 * itself reports none), and it moved with files in the sentry's memory-backed filesystems but not with anonymous
 * buffers (a 20 MB shell string or dd buffer did not show).
 */
final class RunscStats {
    static final String TYPE_URL = "io.containerd.cgroups.v1.Metrics";

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Written as the memory limit when runsc reports none (0): above CRI's 2^62 "unlimited" threshold. */
    static final long NO_LIMIT = Long.MAX_VALUE;

    private RunscStats() {
    }

    /** Parses runsc events --stats output and encodes it as cgroups v1 Metrics. */
    static TypedData fromEvents(String json) throws SandboxException {
        JsonNode data;
        try {
            JsonNode root = JSON.readTree(json == null || json.isBlank() ? "{}" : json.trim().lines().findFirst()
                    .orElse("{}"));
            data = root.path("data");
        } catch (IOException e) {
            throw SandboxException.internal("cannot parse runsc events --stats output", e);
        }
        if (!data.isObject()) {
            throw SandboxException.internal("runsc events --stats printed no data: " + String.valueOf(json).strip(), null);
        }
        return new TypedData(TYPE_URL, metrics(data));
    }

    /** Metrics { PidsStat pids = 2; CPUStat cpu = 3; MemoryStat memory = 4; } */
    static byte[] metrics(JsonNode data) {
        ProtoWriter m = new ProtoWriter();
        JsonNode pids = data.path("pids");
        ProtoWriter p = new ProtoWriter().uint64(1, u(pids, "current")).uint64(2, u(pids, "limit"));
        m.message(2, p, false);

        JsonNode cpu = data.path("cpu");
        JsonNode cu = cpu.path("usage");
        ProtoWriter usage = new ProtoWriter().uint64(1, u(cu, "total")).uint64(2, u(cu, "kernel"))
                .uint64(3, u(cu, "user"));
        usage.packed(4, longs(cu.path("percpu")));
        JsonNode th = cpu.path("throttling");
        ProtoWriter throttle = new ProtoWriter().uint64(1, u(th, "periods")).uint64(2, u(th, "throttledPeriods"))
                .uint64(3, u(th, "throttledTime"));
        // CPUStat { CPUUsage usage = 1; Throttle throttling = 2; }: usage always present, CRI reads it when set
        m.message(3, new ProtoWriter().message(1, usage, true).message(2, throttle, false), true);

        JsonNode mem = data.path("memory");
        JsonNode raw = mem.path("raw");
        ProtoWriter ms = new ProtoWriter();
        ms.uint64(1, u(mem, "cache"));
        ms.uint64(2, rawOr(raw, "rss", "anon"));
        ms.uint64(9, rawOr(raw, "pgfault", "pgfault"));
        ms.uint64(10, rawOr(raw, "pgmajfault", "pgmajfault"));
        ms.uint64(13, rawOr(raw, "inactive_file", "inactive_file"));
        ms.uint64(14, rawOr(raw, "active_file", "active_file"));
        ms.uint64(18, rawOr(raw, "total_cache", "file"));
        ms.uint64(19, rawOr(raw, "total_rss", "anon"));
        ms.uint64(26, rawOr(raw, "total_pgfault", "pgfault"));
        ms.uint64(27, rawOr(raw, "total_pgmajfault", "pgmajfault"));
        ms.uint64(30, rawOr(raw, "total_inactive_file", "inactive_file"));
        ms.uint64(31, rawOr(raw, "total_active_file", "active_file"));
        // MemoryStat { MemoryEntry usage = 33; swap = 34; kernel = 35; kernel_tcp = 36; }
        ms.message(33, entry(mem.path("usage"), true), true);
        ms.message(34, entry(mem.path("swap"), false), false);
        ms.message(35, entry(mem.path("kernel"), false), false);
        ms.message(36, entry(mem.path("kernelTCP"), false), false);
        m.message(4, ms, true);
        return m.bytes();
    }

    /** MemoryEntry { limit = 1; usage = 2; max = 3; failcnt = 4; }; a missing usage limit is written as none. */
    private static ProtoWriter entry(JsonNode e, boolean usage) {
        long limit = u(e, "limit");
        if (usage && limit == 0) {
            limit = NO_LIMIT;
        }
        return new ProtoWriter().uint64(1, limit).uint64(2, u(e, "usage")).uint64(3, u(e, "max"))
                .uint64(4, u(e, "failcnt"));
    }

    /** An unsigned 64-bit JSON number as a long's bits; 0 when absent. */
    private static long u(JsonNode n, String field) {
        JsonNode v = n.path(field);
        if (v.isBigInteger()) {
            return v.bigIntegerValue().longValue();
        }
        return v.isNumber() ? v.longValue() : 0;
    }

    /** A JSON array of unsigned 64-bit numbers as longs; empty when absent. */
    private static long[] longs(JsonNode values) {
        long[] out = new long[values.isArray() ? values.size() : 0];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = values.get(i);
            out[i] = v.isBigInteger() ? v.bigIntegerValue().longValue() : v.asLong();
        }
        return out;
    }

    /** A key of the raw cgroup memory.stat map (v1 name first, then the v2 name). */
    private static long rawOr(JsonNode raw, String v1, String v2) {
        long v = u(raw, v1);
        return v != 0 ? v : u(raw, v2);
    }
}
