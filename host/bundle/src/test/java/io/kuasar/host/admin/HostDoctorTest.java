package io.kuasar.host.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The doctor on a fake host root: mounts, tools (scripts that print a version), devices and containerd configs. */
class HostDoctorTest {
    @TempDir
    Path root;

    private final int self = NodeDirectories.selfUid();

    private HostDoctor doctor() {
        return new HostDoctor(root, Map.of(), self);
    }

    private Path write(String path, String text) throws IOException {
        Path p = root.resolve(path);
        Files.createDirectories(p.getParent());
        return Files.writeString(p, text);
    }

    private void tool(String path, String output, int exit) throws IOException {
        Path p = write(path, "#!/bin/sh\necho '" + output + "'\nexit " + exit + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
    }

    @Test
    void cgroupV2WithoutPidsIsAFailNamingIt() throws IOException {
        write("proc/self/mounts", "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n");
        write("sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory\n");
        HostDoctor.Finding f = doctor().cgroups();
        assertEquals(HostDoctor.Level.FAIL, f.level(), f::line);
        assertTrue(f.text().startsWith("v2 (/sys/fs/cgroup): cpu, cpuset, io, memory; missing pids"), f::line);
    }

    @Test
    void cgroupV1HierarchiesAreListedWithTheUnifiedMountBeside() throws IOException {
        write("proc/self/mounts", String.join("\n",
                "cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0",
                "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0",
                "cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0",
                "cgroup /sys/fs/cgroup/devices cgroup rw,relatime,devices 0 0",
                "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime,nsdelegate 0 0", ""));
        HostDoctor.Finding f = doctor().cgroups();
        assertEquals(HostDoctor.Level.OK, f.level(), f::line);
        assertEquals("v1 (and cgroup2 at /sys/fs/cgroup/unified): cpu, cpuacct, devices, memory, pids", f.text());
    }

    @Test
    void toolsAreFoundBelowTheRootWithTheVersionTheyPrint() throws IOException {
        tool("usr/sbin/runc", "runc version 9.9.9", 0);
        tool("usr/bin/runsc", "broken", 1);
        HostDoctor.Finding runc = doctor().tool("runc", "runc", HostDoctor.Level.FAIL, "apt-get install runc");
        assertEquals(HostDoctor.Level.OK, runc.level(), runc::line);
        assertEquals(root.resolve("usr/sbin/runc") + ": runc version 9.9.9", runc.text());
        HostDoctor.Finding runsc = doctor().tool("runsc", "runsc", HostDoctor.Level.WARN, "install it");
        assertEquals(HostDoctor.Level.WARN, runsc.level(), runsc::line);
        assertTrue(runsc.text().contains("--version failed"), runsc::line);
        HostDoctor.Finding qemu = doctor().tool("qemu", "qemu-system-x86_64", HostDoctor.Level.WARN, "apt-get install qemu-system-x86");
        assertTrue(qemu.line().startsWith("WARN qemu       qemu-system-x86_64 not found in [/usr/local/sbin"), qemu::line);
        assertTrue(qemu.line().endsWith("; fix: apt-get install qemu-system-x86"), qemu::line);
    }

    @Test
    void kvmMissingIsAWarningAndAnOpenableDeviceIsOk() throws IOException {
        assertEquals(HostDoctor.Level.WARN, doctor().kvm().level());
        write("dev/kvm", "");
        assertEquals(HostDoctor.Level.OK, doctor().kvm().level(), doctor().kvm()::line);
    }

    @Test
    void wasmEdgeIsFoundUnderTheCacheTheScriptsUnpackIt() throws IOException {
        tool("cache/wasmedge/bin/wasmedge", "wasmedge version 0.14.1", 0);
        HostDoctor.Finding f = new HostDoctor(root, Map.of("KUASAR_CACHE", "/cache"), self).wasmedge();
        assertEquals(HostDoctor.Level.OK, f.level(), f::line);
        assertTrue(f.text().endsWith(": wasmedge version 0.14.1"), f::line);
    }

    @Test
    void containerdConfigAndItsImportsGiveThePluginsAndHandlers() throws IOException {
        Path sock = Files.createDirectories(root.resolve("run/kuasar")).resolve("kuasar.sock");
        write("etc/containerd/config.toml", String.join("\n",
                "version = 3",
                "imports = ['/etc/containerd/conf.d/*.toml']  # the package's drop-in",
                "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.orphan]",
                "  sandboxer = \"gone\"", ""));
        write("etc/containerd/conf.d/kuasar.toml", String.join("\n",
                "[proxy_plugins.runc]",
                "  type = 'sandbox'",
                "  address = '/run/kuasar/kuasar.sock'",
                "[proxy_plugins.wasm]",
                "  type = 'sandbox'",
                "  address = '/run/kuasar/kuasar.sock'",
                "[proxy_plugins.snap]",
                "  type = 'snapshot'",
                "  address = '/x.sock'",
                "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kuasar-runc]",
                "  runtime_type = 'io.containerd.runc.v2'",
                "  sandboxer = 'runc'", ""));
        List<HostDoctor.Finding> before = doctor().containerd(null);
        assertEquals(List.of(
                "WARN containerd proxy plugin runc -> /run/kuasar/kuasar.sock (handlers kuasar-runc): no node listens"
                        + " there; fix: start the node with kuasar.listen=/run/kuasar/kuasar.sock",
                "FAIL containerd proxy plugin wasm -> /run/kuasar/kuasar.sock: no runtime handler names it; fix: add"
                        + " [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kuasar-wasm] sandboxer = 'wasm'",
                "FAIL containerd handler orphan names sandboxer gone, which no sandbox proxy plugin of "
                        + root.resolve("etc/containerd/config.toml") + " (with 1 import(s)) defines; fix: add"
                        + " [proxy_plugins.gone] type = 'sandbox'"),
                before.stream().map(HostDoctor.Finding::line).toList());
        try (ServerSocketChannel node = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            node.bind(UnixDomainSocketAddress.of(sock));
            HostDoctor.Finding runc = doctor().containerd(null).get(0);
            assertEquals("OK   containerd proxy plugin runc -> /run/kuasar/kuasar.sock, handlers kuasar-runc", runc.line());
        }
    }

    @Test
    void noConfigAnywhereIsAWarningThatSaysHowToNameOne() {
        HostDoctor.Finding f = doctor().containerd(null).get(0);
        assertEquals(HostDoctor.Level.WARN, f.level());
        assertTrue(f.line().endsWith("fix: name it: doctor --containerd-config FILE"), f::line);
    }

    @Test
    void anAdminSocketOpenToOthersFails() throws IOException {
        Path run = Files.createDirectories(root.resolve("node/kuasar/run"));
        Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwx------"));
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwx------"));
        Path sock = run.resolve("admin.sock");
        try (ServerSocketChannel node = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            node.bind(UnixDomainSocketAddress.of(sock));
            Files.setPosixFilePermissions(sock, PosixFilePermissions.fromString("rw-rw-rw-"));
            List<HostDoctor.Finding> f = doctor().places(sock);
            assertEquals(HostDoctor.Level.FAIL, f.get(0).level(), f.get(0)::line);
            assertTrue(f.get(0).line().endsWith("fix: chmod 600 " + sock), f.get(0)::line);
            Files.setPosixFilePermissions(sock, PosixFilePermissions.fromString("rw-------"));
            assertEquals(HostDoctor.Level.OK, doctor().places(sock).get(0).level());
            Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwxrwxrwx"));
            HostDoctor.Finding dir = doctor().places(sock).get(1);
            assertEquals(HostDoctor.Level.FAIL, dir.level(), dir::line);
            assertTrue(dir.text().contains("writable by group and others"), dir::line);
        }
    }
}
