package io.kuasar.driver.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kuasar.spi.TypedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fake cgroup trees in, containerd's metrics messages out (field numbers of containerd/cgroups' metrics.proto). */
class CgroupMetricsTest {
    @Test
    void v1FilesBecomeCgroupsV1Metrics(@TempDir Path root) throws Exception {
        Path cpu = dir(root, "cpu");
        Path cpuacct = dir(root, "cpuacct");
        Path memory = dir(root, "memory");
        Path pids = dir(root, "pids");
        Files.writeString(cpuacct.resolve("cpuacct.usage"), "123456789\n");
        Files.writeString(cpuacct.resolve("cpuacct.usage_percpu"), "100 200 \n");
        Files.writeString(cpuacct.resolve("cpuacct.stat"), "user 3\nsystem 2\n");
        Files.writeString(cpu.resolve("cpu.stat"), "nr_periods 10\nnr_throttled 4\nthrottled_time 999\n");
        Files.writeString(memory.resolve("memory.usage_in_bytes"), "8000000\n");
        Files.writeString(memory.resolve("memory.limit_in_bytes"), "9223372036854771712\n");
        Files.writeString(memory.resolve("memory.max_usage_in_bytes"), "9000000\n");
        Files.writeString(memory.resolve("memory.failcnt"), "5\n");
        Files.writeString(memory.resolve("memory.stat"), "cache 4096\nrss 700000\npgfault 33\n"
                + "hierarchical_memory_limit 9223372036854771712\ntotal_rss 700001\ntotal_inactive_file 1234\n");
        Files.writeString(memory.resolve("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
        Files.writeString(pids.resolve("pids.current"), "3\n");
        Files.writeString(pids.resolve("pids.max"), "max\n");
        Cgroups layout = new Cgroups(Map.of("cpu", root.resolve("cpu"), "cpuacct", root.resolve("cpuacct"),
                "memory", root.resolve("memory"), "pids", root.resolve("pids")), null);

        TypedData t = CgroupMetrics.read(layout, "/pod/c1");
        assertEquals("io.containerd.cgroups.v1.Metrics", t.typeUrl());
        byte[] m = t.value();
        assertEquals(3, ProtoReader.number(m, 2, 1), "pids.current");
        assertEquals(0, ProtoReader.number(m, 2, 2), "pids.max 'max' is no limit");
        assertEquals(123456789, ProtoReader.number(m, 3, 1, 1), "cpu usage total");
        assertEquals(20_000_000, ProtoReader.number(m, 3, 1, 2), "kernel: 2 ticks");
        assertEquals(30_000_000, ProtoReader.number(m, 3, 1, 3), "user: 3 ticks");
        assertEquals(4, ProtoReader.number(m, 3, 2, 2), "throttled periods");
        assertEquals(4096, ProtoReader.number(m, 4, 1), "cache");
        assertEquals(700000, ProtoReader.number(m, 4, 2), "rss");
        assertEquals(33, ProtoReader.number(m, 4, 9), "pgfault");
        assertEquals(700001, ProtoReader.number(m, 4, 19), "total_rss");
        assertEquals(1234, ProtoReader.number(m, 4, 30), "total_inactive_file");
        assertEquals(9223372036854771712L, ProtoReader.number(m, 4, 16), "hierarchical_memory_limit");
        assertEquals(8000000, ProtoReader.number(m, 4, 33, 2), "usage");
        assertEquals(9223372036854771712L, ProtoReader.number(m, 4, 33, 1), "limit");
        assertEquals(9000000, ProtoReader.number(m, 4, 33, 3), "max usage");
        assertEquals(5, ProtoReader.number(m, 4, 33, 4), "failcnt");
        assertEquals(1, ProtoReader.number(m, 9, 3), "oom_kill");
    }

    @Test
    void v2FilesBecomeCgroupsV2Metrics(@TempDir Path root) throws Exception {
        Path c = Files.createDirectories(root.resolve("pod/c1"));
        Files.writeString(c.resolve("cpu.stat"), "usage_usec 5000\nuser_usec 3000\nsystem_usec 2000\n");
        Files.writeString(c.resolve("memory.current"), "8000000\n");
        Files.writeString(c.resolve("memory.max"), "max\n");
        Files.writeString(c.resolve("memory.stat"), "anon 600000\nfile 4096\ninactive_file 1234\npgfault 9\n");
        Files.writeString(c.resolve("memory.events"), "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n");
        Files.writeString(c.resolve("pids.current"), "2\n");
        TypedData t = CgroupMetrics.read(new Cgroups(Map.of(), root), "/pod/c1");
        assertEquals("io.containerd.cgroups.v2.Metrics", t.typeUrl());
        byte[] m = t.value();
        assertEquals(2, ProtoReader.number(m, 1, 1));
        assertEquals(5000, ProtoReader.number(m, 2, 1));
        assertEquals(600000, ProtoReader.number(m, 4, 1));
        assertEquals(1234, ProtoReader.number(m, 4, 13));
        assertEquals(9, ProtoReader.number(m, 4, 18));
        assertEquals(8000000, ProtoReader.number(m, 4, 32));
        assertEquals(0, ProtoReader.number(m, 4, 33), "memory.max 'max' is no limit");
        assertEquals(1, ProtoReader.number(m, 8, 5));
    }

    @Test
    void aMissingCgroupIsAnError(@TempDir Path root) {
        Cgroups layout = new Cgroups(Map.of("memory", root.resolve("memory")), null);
        assertThrows(IOException.class, () -> CgroupMetrics.read(layout, "/gone"));
    }

    private static Path dir(Path root, String controller) throws IOException {
        return Files.createDirectories(root.resolve(controller).resolve("pod/c1"));
    }
}
