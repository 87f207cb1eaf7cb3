package io.kuasar.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kuasar.service: what it must say for pods to outlive a restart of the node, and {@code systemd-analyze verify}
 * on it. verify needs the programs the unit runs to exist, so it checks the unit with the package's paths moved
 * into a {@code dpkg -x} tree ({@link PathMap}); systemd itself need not run.
 */
class ServiceUnitTest {
    @Test
    void theUnitRunsTheKeeperOverTheJvmAndLetsPodsOutliveIt(@TempDir Path root) throws IOException {
        DebPackage.built().unpack(root);
        ServiceUnit unit = ServiceUnit.read(root.resolve("lib/systemd/system/kuasar.service"));
        assertEquals(List.of("/usr/lib/kuasar/kuasar-keeper", "--dir", "/run/kuasar/keeper", "--", "/usr/bin/java",
                "@/etc/kuasar/jvm.args", "-jar", "/usr/lib/kuasar/kuasar.jar"), unit.execStart());
        // Only the keeper is signalled on stop: containers, VMs and holders of the drivers stay.
        assertEquals("process", unit.one("Service.KillMode"));
        // Task sockets and pinned namespaces live in /run/kuasar: a stop must not delete them.
        assertEquals("kuasar", unit.one("Service.RuntimeDirectory"));
        assertEquals("yes", unit.one("Service.RuntimeDirectoryPreserve"));
        assertEquals("0700", unit.one("Service.RuntimeDirectoryMode"));
        assertEquals("kuasar kuasar/state kuasar/drivers", unit.one("Service.StateDirectory"));
        assertEquals("0700", unit.one("Service.StateDirectoryMode"));
        assertEquals("on-failure", unit.one("Service.Restart"));
        // A stop hands containerd's connections over: the keeper speaks sd_notify, and may store one fd per
        // container and per pod with systemd.
        assertEquals("notify", unit.one("Service.Type"));
        assertEquals("main", unit.one("Service.NotifyAccess"));
        assertTrue(Integer.parseInt(unit.one("Service.FileDescriptorStoreMax")) >= 4096, "room for a node's pods");
        assertTrue(unit.one("Unit.After").contains("containerd.service"), "after containerd");
        assertTrue(unit.one("Unit.Before").contains("kubelet.service"), "before the kubelet");
        assertEquals("multi-user.target", unit.one("Install.WantedBy"));
    }

    @Test
    void systemdAnalyzeVerifiesTheUnit(@TempDir Path root) throws IOException {
        Assumptions.assumeTrue(Run.has("systemd-analyze"),
                "systemd-analyze is not installed (package systemd; scripts/deps.d/package.sh installs it)");
        DebPackage.built().unpack(root);
        PathMap paths = new PathMap(root, root.resolve("containerd.sock"));
        Path unit = root.resolve("lib/systemd/system/kuasar.service");
        Path mapped = Files.createDirectories(root.resolve("verify")).resolve("kuasar.service");
        Files.writeString(mapped, paths.map(Files.readString(unit)));
        assertEquals("", verify(mapped), "systemd-analyze verify kuasar.service");

        // The check can fail: a misspelt kill mode and an unknown key are reported.
        Path broken = Files.createDirectories(root.resolve("broken")).resolve("kuasar.service");
        Files.writeString(broken, Files.readString(mapped).replace("KillMode=process", "KillMode=proces\nRestartAlways=yes"));
        String findings = verify(broken);
        assertTrue(findings.contains("kill mode") && findings.contains("RestartAlways"), findings);
    }

    /** systemd-analyze verify's findings about the unit; "" when none. */
    private static String verify(Path unit) {
        Run run = Run.of(java.util.Map.of(), unit.getParent(), "systemd-analyze", "verify", "--man=no", unit.toString());
        return run.exit() == 0 ? run.output().strip() : "exit " + run.exit() + ": " + run.output();
    }
}
