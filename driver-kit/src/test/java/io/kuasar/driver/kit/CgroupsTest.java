package io.kuasar.driver.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.SandboxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CgroupsTest {
    /** This host's kind: v1 controllers, each mounted alone, plus a cgroup2 mount holding only hugetlb. */
    static final List<String> HYBRID = List.of(
            "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
            "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
            "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct",
            "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
            "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd",
            "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw");

    @Test
    void hybridHostCountsAsV1WithEachControllersMount() {
        Cgroups c = Cgroups.fromMountInfo(HYBRID);
        assertTrue(c.isV1());
        assertEquals(Path.of("/sys/fs/cgroup/memory/kuasar/c1"), c.v1Dir("memory", "/kuasar/c1"));
        assertEquals(Path.of("/sys/fs/cgroup/cpuacct/kuasar/c1"), c.v1Dir("cpuacct", "/kuasar/c1"));
        assertEquals(null, c.v1Dir("pids", "/kuasar/c1"));
        assertFalse(c.v1().containsKey("name=systemd"));
        assertEquals(Path.of("/sys/fs/cgroup/unified"), c.unified());
    }

    @Test
    void comountedControllersShareTheirMountAndAUnifiedHostIsV2() throws Exception {
        Cgroups co = Cgroups.fromMountInfo(List.of(
                "25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct"));
        assertEquals(Path.of("/sys/fs/cgroup/cpu,cpuacct/a"), co.v1Dir("cpu", "a"));
        assertEquals(Path.of("/sys/fs/cgroup/cpu,cpuacct/a"), co.v1Dir("cpuacct", "/a"));
        Cgroups v2 = Cgroups.fromMountInfo(List.of(
                "26 24 0:23 / /sys/fs/cgroup rw,nosuid,nodev shared:4 - cgroup2 cgroup2 rw,nsdelegate"));
        assertFalse(v2.isV1());
        assertEquals(Path.of("/sys/fs/cgroup/kubepods/c1"), v2.v2Dir("/kubepods/c1"));
    }

    @Test
    void cgroupsPathComesFromTheBundleAndMustBeACgroupfsPath(@TempDir Path bundle) throws Exception {
        Files.writeString(bundle.resolve("config.json"), "{\"linux\":{\"cgroupsPath\":\"/kuasar/abc\"}}");
        assertEquals("/kuasar/abc", Cgroups.cgroupsPath(bundle));
        Files.writeString(bundle.resolve("config.json"), "{\"linux\":{\"cgroupsPath\":\"system.slice:cri:abc\"}}");
        SandboxException systemd = assertThrows(SandboxException.class, () -> Cgroups.cgroupsPath(bundle));
        assertEquals(SandboxException.Code.FAILED_PRECONDITION, systemd.code());
        assertTrue(systemd.getMessage().contains("systemd"), systemd.getMessage());
        Files.writeString(bundle.resolve("config.json"), "{\"linux\":{}}");
        assertEquals(SandboxException.Code.FAILED_PRECONDITION,
                assertThrows(SandboxException.class, () -> Cgroups.cgroupsPath(bundle)).code());
    }

    @Test
    void oomKillsAreReadFromMemoryOomControlAndAreZeroWithoutACgroup(@TempDir Path root) throws Exception {
        Path memory = Files.createDirectories(root.resolve("memory/kuasar/c1"));
        Files.writeString(memory.resolve("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
        Cgroups c = new Cgroups(java.util.Map.of("memory", root.resolve("memory")), null);
        assertEquals(2, c.oomKills("/kuasar/c1"));
        assertEquals(0, c.oomKills("/kuasar/gone"));
    }
}
