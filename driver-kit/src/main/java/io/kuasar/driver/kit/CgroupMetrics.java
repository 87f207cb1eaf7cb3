package io.kuasar.driver.kit;

import io.kuasar.spi.TypedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A container's cgroup read straight from the cgroup files (as containerd's runc shim does in-process; no runc
 * process per Stats call, which the kubelet makes every few seconds for every container) and encoded as the message
 * containerd's CRI decodes: {@code io.containerd.cgroups.v1.Metrics} on a v1 or hybrid host,
 * {@code io.containerd.cgroups.v2.Metrics} on a unified one. Field numbers are those of containerd/cgroups'
 * metrics.proto files (kit 1.10; from driver-runc, for every driver whose processes have a host cgroup). CRI reads CPU {@code usage.total} (v1) / {@code usage_usec} (v2), memory usage, limit and
 * (total_)inactive_file for the working set, rss, page faults, and pids.
 */
public final class CgroupMetrics {
    static final String V1_TYPE = "io.containerd.cgroups.v1.Metrics";
    static final String V2_TYPE = "io.containerd.cgroups.v2.Metrics";

    /** cpuacct.stat counts USER_HZ ticks (100 per second on Linux); Metrics wants nanoseconds. */
    private static final long NANOS_PER_TICK = 10_000_000L;

    /**
     * memory.stat keys in the order of MemoryStat's fields 1..17; fields 18..32 are the {@code total_} forms of the
     * first 15 of them, except the two hierarchical limits.
     */
    private static final List<String> V1_MEMORY_KEYS = List.of("cache", "rss", "rss_huge", "mapped_file", "dirty",
            "writeback", "pgpgin", "pgpgout", "pgfault", "pgmajfault", "inactive_anon", "active_anon",
            "inactive_file", "active_file", "unevictable", "hierarchical_memory_limit", "hierarchical_memsw_limit");
    private static final int V1_TOTALS = 15;

    /** memory.stat keys of v2 in the order of MemoryStat's fields 1..31. */
    private static final List<String> V2_MEMORY_KEYS = List.of("anon", "file", "kernel_stack", "slab", "sock",
            "shmem", "file_mapped", "file_dirty", "file_writeback", "anon_thp", "inactive_anon", "active_anon",
            "inactive_file", "active_file", "unevictable", "slab_reclaimable", "slab_unreclaimable", "pgfault",
            "pgmajfault", "workingset_refault", "workingset_activate", "workingset_nodereclaim", "pgrefill", "pgscan",
            "pgsteal", "pgactivate", "pgdeactivate", "pglazyfree", "pglazyfreed", "thp_fault_alloc",
            "thp_collapse_alloc");

    private CgroupMetrics() {
    }

    /** The metrics of {@code cgroupPath} in the layout's version; missing files count as 0. */
    public static TypedData read(Cgroups layout, String cgroupPath) throws IOException {
        if (layout.isV1()) {
            return new TypedData(V1_TYPE, v1(layout, cgroupPath));
        }
        return new TypedData(V2_TYPE, v2(layout.unified().resolve(cgroupPath.replaceFirst("^/+", ""))));
    }

    /** Metrics { PidsStat pids = 2; CPUStat cpu = 3; MemoryStat memory = 4; MemoryOomControl oom_control = 9; } */
    static byte[] v1(Cgroups layout, String cgroupPath) throws IOException {
        Path memory = layout.v1Dir("memory", cgroupPath);
        if (memory == null || !Files.isDirectory(memory)) {
            throw new IOException("memory cgroup " + cgroupPath + " does not exist");
        }
        ProtoWriter m = new ProtoWriter();
        Path pids = layout.v1Dir("pids", cgroupPath);
        if (pids != null) {
            m.message(2, new ProtoWriter().uint64(1, CgroupFiles.single(pids.resolve("pids.current")))
                    .uint64(2, CgroupFiles.single(pids.resolve("pids.max"))), false);
        }
        Path cpuacct = layout.v1Dir("cpuacct", cgroupPath);
        ProtoWriter usage = new ProtoWriter();
        if (cpuacct != null) {
            Map<String, Long> ticks = CgroupFiles.keyed(cpuacct.resolve("cpuacct.stat"));
            usage.uint64(1, CgroupFiles.single(cpuacct.resolve("cpuacct.usage")))
                    .uint64(2, ticks.getOrDefault("system", 0L) * NANOS_PER_TICK)
                    .uint64(3, ticks.getOrDefault("user", 0L) * NANOS_PER_TICK)
                    .packed(4, CgroupFiles.list(cpuacct.resolve("cpuacct.usage_percpu")));
        }
        ProtoWriter throttling = new ProtoWriter();
        Path cpu = layout.v1Dir("cpu", cgroupPath);
        if (cpu != null) {
            Map<String, Long> st = CgroupFiles.keyed(cpu.resolve("cpu.stat"));
            throttling.uint64(1, st.getOrDefault("nr_periods", 0L)).uint64(2, st.getOrDefault("nr_throttled", 0L))
                    .uint64(3, st.getOrDefault("throttled_time", 0L));
        }
        // CPUStat { CPUUsage usage = 1; Throttle throttling = 2; }: usage always set, CRI reads it when present
        m.message(3, new ProtoWriter().message(1, usage, true).message(2, throttling, false), true);

        Map<String, Long> stat = CgroupFiles.keyed(memory.resolve("memory.stat"));
        ProtoWriter ms = new ProtoWriter();
        for (int i = 0; i < V1_MEMORY_KEYS.size(); i++) {
            ms.uint64(i + 1, stat.getOrDefault(V1_MEMORY_KEYS.get(i), 0L));
        }
        for (int i = 0; i < V1_TOTALS; i++) {
            ms.uint64(V1_MEMORY_KEYS.size() + 1 + i, stat.getOrDefault("total_" + V1_MEMORY_KEYS.get(i), 0L));
        }
        // MemoryStat { MemoryEntry usage = 33; swap = 34; kernel = 35; kernel_tcp = 36; }
        ms.message(33, entry(memory, "memory."), true);
        ms.message(34, entry(memory, "memory.memsw."), false);
        ms.message(35, entry(memory, "memory.kmem."), false);
        ms.message(36, entry(memory, "memory.kmem.tcp."), false);
        m.message(4, ms, true);

        // MemoryOomControl { oom_kill_disable = 1; under_oom = 2; oom_kill = 3; }
        Map<String, Long> oom = CgroupFiles.keyed(memory.resolve("memory.oom_control"));
        m.message(9, new ProtoWriter().uint64(1, oom.getOrDefault("oom_kill_disable", 0L))
                .uint64(2, oom.getOrDefault("under_oom", 0L)).uint64(3, oom.getOrDefault("oom_kill", 0L)), false);
        return m.bytes();
    }

    /** MemoryEntry { limit = 1; usage = 2; max = 3; failcnt = 4; } from PREFIX{limit,usage,max_usage}_in_bytes. */
    private static ProtoWriter entry(Path dir, String prefix) throws IOException {
        return new ProtoWriter().uint64(1, CgroupFiles.single(dir.resolve(prefix + "limit_in_bytes")))
                .uint64(2, CgroupFiles.single(dir.resolve(prefix + "usage_in_bytes")))
                .uint64(3, CgroupFiles.single(dir.resolve(prefix + "max_usage_in_bytes")))
                .uint64(4, CgroupFiles.single(dir.resolve(prefix + "failcnt")));
    }

    /** Metrics { PidsStat pids = 1; CPUStat cpu = 2; MemoryStat memory = 4; MemoryEvents memory_events = 8; } */
    static byte[] v2(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException("cgroup " + dir + " does not exist");
        }
        ProtoWriter m = new ProtoWriter();
        m.message(1, new ProtoWriter().uint64(1, CgroupFiles.single(dir.resolve("pids.current")))
                .uint64(2, CgroupFiles.single(dir.resolve("pids.max"))), false);
        Map<String, Long> cpu = CgroupFiles.keyed(dir.resolve("cpu.stat"));
        m.message(2, new ProtoWriter().uint64(1, cpu.getOrDefault("usage_usec", 0L))
                .uint64(2, cpu.getOrDefault("user_usec", 0L)).uint64(3, cpu.getOrDefault("system_usec", 0L))
                .uint64(4, cpu.getOrDefault("nr_periods", 0L)).uint64(5, cpu.getOrDefault("nr_throttled", 0L))
                .uint64(6, cpu.getOrDefault("throttled_usec", 0L)), true);
        Map<String, Long> stat = CgroupFiles.keyed(dir.resolve("memory.stat"));
        ProtoWriter ms = new ProtoWriter();
        for (int i = 0; i < V2_MEMORY_KEYS.size(); i++) {
            ms.uint64(i + 1, stat.getOrDefault(V2_MEMORY_KEYS.get(i), 0L));
        }
        ms.uint64(32, CgroupFiles.single(dir.resolve("memory.current")))
                .uint64(33, CgroupFiles.single(dir.resolve("memory.max")))
                .uint64(34, CgroupFiles.single(dir.resolve("memory.swap.current")))
                .uint64(35, CgroupFiles.single(dir.resolve("memory.swap.max")))
                .uint64(36, CgroupFiles.single(dir.resolve("memory.peak")));
        m.message(4, ms, true);
        Map<String, Long> ev = CgroupFiles.keyed(dir.resolve("memory.events"));
        m.message(8, new ProtoWriter().uint64(1, ev.getOrDefault("low", 0L)).uint64(2, ev.getOrDefault("high", 0L))
                .uint64(3, ev.getOrDefault("max", 0L)).uint64(4, ev.getOrDefault("oom", 0L))
                .uint64(5, ev.getOrDefault("oom_kill", 0L)), false);
        return m.bytes();
    }
}
