package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link HostCgroups} over mountinfo of the layouts hosts have; no node needed. */
class HostCgroupsTest {
    /** This machine kind: separate v1 hierarchies, name=systemd, and a controller-less cgroup2 mount. */
    private static final List<String> HYBRID = List.of(
            "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
            "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
            "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct",
            "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
            "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer",
            "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd",
            "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw");
    /** A systemd host of the v1 era: cpu and cpuacct comounted, optional fields before the separator. */
    private static final List<String> COMOUNTED = List.of(
            "24 18 0:21 / /sys/fs/cgroup ro,nosuid shared:5 - tmpfs tmpfs ro,mode=755",
            "25 24 0:22 / /sys/fs/cgroup/systemd rw,nosuid shared:6 - cgroup cgroup rw,xattr,name=systemd",
            "28 24 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct",
            "29 24 0:26 / /sys/fs/cgroup/memory rw,nosuid shared:10 - cgroup cgroup rw,memory");
    /** A current distribution: cgroup2 only, at /sys/fs/cgroup. */
    private static final List<String> UNIFIED = List.of(
            "22 28 0:20 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate");

    @Test
    void aHybridHostIsV1AndFindsEachController() {
        HostCgroups c = HostCgroups.parse(HYBRID);
        assertTrue(c.isV1());
        assertFalse(c.isV2());
        assertEquals(Path.of("/sys/fs/cgroup/memory/kuasar/c1"), c.dir("memory", "/kuasar/c1"));
        assertEquals(Path.of("/sys/fs/cgroup/freezer/kuasar/c1"), c.dir("freezer", "kuasar/c1"));
        assertNull(c.dir("pids", "/kuasar/c1"), "no pids hierarchy mounted");
        assertEquals(List.of(Path.of("/sys/fs/cgroup/cpu"), Path.of("/sys/fs/cgroup/cpuacct"),
                Path.of("/sys/fs/cgroup/freezer"), Path.of("/sys/fs/cgroup/memory"), Path.of("/sys/fs/cgroup/systemd"),
                Path.of("/sys/fs/cgroup/unified")), c.roots());
        assertTrue(c.describe().contains("cgroup2 mount at /sys/fs/cgroup/unified"), c.describe());
    }

    @Test
    void comountedControllersShareOneDirectoryAndOneRoot() {
        HostCgroups c = HostCgroups.parse(COMOUNTED);
        assertTrue(c.isV1());
        assertEquals(Path.of("/sys/fs/cgroup/cpu,cpuacct/a"), c.dir("cpu", "/a"));
        assertEquals(Path.of("/sys/fs/cgroup/cpu,cpuacct/a"), c.dir("cpuacct", "/a"));
        assertEquals(List.of(Path.of("/sys/fs/cgroup/cpu,cpuacct"), Path.of("/sys/fs/cgroup/memory"),
                Path.of("/sys/fs/cgroup/systemd")), c.roots());
        assertEquals(3, c.dirsEverywhere("/a").size());
    }

    @Test
    void aUnifiedHostIsV2AndEveryControllerIsTheOneTree() {
        HostCgroups c = HostCgroups.parse(UNIFIED);
        assertTrue(c.isV2());
        assertFalse(c.isV1());
        assertEquals(Path.of("/sys/fs/cgroup/kuasar/c1"), c.dir("memory", "/kuasar/c1"));
        assertEquals(Path.of("/sys/fs/cgroup/kuasar/c1"), c.dir("freezer", "/kuasar/c1"));
        assertEquals(List.of(Path.of("/sys/fs/cgroup")), c.roots());
        assertTrue(c.describe().startsWith("cgroup v2"), c.describe());
    }

    @Test
    void aMountShowingASubTreeStripsItsRoot() {
        HostCgroups c = HostCgroups.parse(List.of(
                "40 30 0:30 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw"));
        assertEquals(Path.of("/sys/fs/cgroup/c1"), c.dir("memory", "/kubepods/pod1/c1"));
    }

    @Test
    void noCgroupMountedIsNeitherVersion() {
        HostCgroups c = HostCgroups.parse(List.of("31 23 0:28 / /sys rw - sysfs sysfs rw"));
        assertFalse(c.isV1());
        assertFalse(c.isV2());
        assertEquals(List.of(), c.roots());
    }

    @Test
    void thisHostHasAtLeastOneHierarchyAndItsRootsExist() {
        HostCgroups c = HostCgroups.host();
        assertTrue(c.isV1() || c.isV2(), c::describe);
        assertFalse(c.roots().isEmpty(), c::describe);
        c.roots().forEach(r -> assertTrue(Files.isDirectory(r), r::toString));
    }
}
