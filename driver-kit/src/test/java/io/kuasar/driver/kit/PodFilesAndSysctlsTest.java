package io.kuasar.driver.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.PodConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pod's own files as CRI would write them, and which namespace each pod sysctl belongs to. */
class PodFilesAndSysctlsTest {

    @Test
    void resolvConfComesFromThePodsDnsConfigAndHostnameFromThePod(@TempDir Path dir) throws Exception {
        PodConfig pod = new PodConfig("p", "ns", "uid", "web-0", "", PodConfig.NamespaceMode.POD,
                PodConfig.NamespaceMode.CONTAINER, PodConfig.NamespaceMode.POD, "", Map.of(),
                List.of("10.0.0.10"), List.of("svc.test", "test"), List.of("ndots:5"));
        PodFiles.write(dir, "web-0", pod);
        assertEquals("search svc.test test\nnameserver 10.0.0.10\noptions ndots:5\n",
                Files.readString(dir.resolve(PodFiles.RESOLV)));
        assertEquals("web-0\n", Files.readString(dir.resolve(PodFiles.HOSTNAME)));
        assertEquals(Map.of("/etc/hostname", dir.resolve(PodFiles.HOSTNAME).toString(),
                "/etc/hosts", dir.resolve(PodFiles.HOSTS).toString(),
                "/etc/resolv.conf", dir.resolve(PodFiles.RESOLV).toString()), PodFiles.paths(dir));
    }

    @Test
    void withoutDnsConfigOrHostnameTheNodesAreCopied(@TempDir Path dir) throws Exception {
        PodFiles.write(dir, "", null);
        assertEquals(Files.readString(Path.of("/proc/sys/kernel/hostname")).strip() + "\n",
                Files.readString(dir.resolve(PodFiles.HOSTNAME)));
        if (Files.isRegularFile(Path.of("/etc/resolv.conf"))) {
            assertEquals(Files.readString(Path.of("/etc/resolv.conf")), Files.readString(dir.resolve(PodFiles.RESOLV)));
        }
    }

    @Test
    void sysctlsAreSortedIntoTheirNamespacesAndNodeWideOnesRefused() {
        assertEquals(Map.of("kernel.shm_rmid_forced", PodSysctls.Namespace.IPC, "net.ipv4.ip_forward",
                PodSysctls.Namespace.NET, "kernel.hostname", PodSysctls.Namespace.UTS),
                PodSysctls.classify(Map.of("kernel/shm_rmid_forced", "1", "net.ipv4.ip_forward", "1",
                        "kernel.hostname", "x"), true, true));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PodSysctls.classify(Map.of("kernel.panic", "1"), true, true));
        assertTrue(e.getMessage().contains("kernel.panic") && e.getMessage().contains("not namespaced"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> PodSysctls.classify(Map.of("net.core.somaxconn", "1"), true, false));
        assertTrue(e.getMessage().contains("hostNetwork"), e.getMessage());
    }
}
