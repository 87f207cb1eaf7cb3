package io.kuasar.driver.quark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.driver.kit.testing.TempHostPaths;
import io.kuasar.host.internal.KeeperExitRecords;
import io.kuasar.spi.PodConfig;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runsc sandboxer's Create, which runs nothing (runsc is first run at Start, so none is needed here): what it
 * refuses leaves no record and no directory, as the vmm driver's Create does.
 */
class RunscCreateTest {
    @TempDir
    Path tmp;

    @Test
    void aCgroupParentThatIsNotAPlainPathIsRefusedAtCreateLeavingNothing() throws Exception {
        RunscDriver driver = driver();
        try {
            for (String bad : List.of("/kubepods/../../etc", "system.slice:cri-containerd:p1", "/a/./b")) {
                SandboxException e = assertThrows(SandboxException.class, () -> driver.create(spec("refused", bad)));
                assertEquals(SandboxException.Code.INVALID_ARGUMENT, e.code(), bad);
                assertTrue(e.getMessage().contains("cgroup parent \"" + bad + "\""), e.getMessage());
                SandboxException gone = assertThrows(SandboxException.class, () -> driver.status("refused", false));
                assertEquals(SandboxException.Code.NOT_FOUND, gone.code(), "no record of the refused sandbox");
            }
            try (Stream<Path> all = Files.walk(tmp)) {
                assertEquals(List.of(), all.filter(p -> p.getFileName().toString().contains("refused")).toList(),
                        "files or directories of the refused sandbox");
            }
            driver.create(spec("plain", "/kubepods/burstable/pod-1"));
            assertEquals("plain", driver.status("plain", false).id(), "a plain cgroupfs parent is taken");
        } finally {
            driver.deactivate();
        }
    }

    @Test
    void whatGvisorCannotDoIsRefusedAtCreateLeavingNoRecord() throws Exception {
        RunscDriver driver = driver();
        try {
            PodConfig base = spec("x", "").pod();
            Map<String, PodConfig> asks = Map.of(
                    "host's PID namespace", withModes(base, PodConfig.NamespaceMode.NODE, base.ipc(), base.sysctls()),
                    "host's IPC namespace", withModes(base, base.pid(), PodConfig.NamespaceMode.NODE, base.sysctls()),
                    "kernel.msgmax", withModes(base, base.pid(), base.ipc(), Map.of("kernel.msgmax", "65536")));
            for (Map.Entry<String, PodConfig> ask : asks.entrySet()) {
                SandboxSpec refused = new SandboxSpec("refused", "k8s.io", "", List.of(), ask.getValue(), null,
                        Map.of(), Map.of());
                SandboxException e = assertThrows(SandboxException.class, () -> driver.create(refused));
                assertEquals(SandboxException.Code.FAILED_PRECONDITION, e.code(), ask.getKey());
                assertTrue(e.getMessage().contains(ask.getKey()) && e.getMessage().contains("gVisor"), e.getMessage());
                SandboxException gone = assertThrows(SandboxException.class, () -> driver.status("refused", false));
                assertEquals(SandboxException.Code.NOT_FOUND, gone.code(), "no record of the refused sandbox");
            }
        } finally {
            driver.deactivate();
        }
    }

    private static PodConfig withModes(PodConfig c, PodConfig.NamespaceMode pid, PodConfig.NamespaceMode ipc,
                                       Map<String, String> sysctls) {
        return new PodConfig(c.name(), c.podNamespace(), c.uid(), c.hostname(), c.logDirectory(), c.network(), pid,
                ipc, c.cgroupParent(), sysctls, c.dnsServers(), c.dnsSearches(), c.dnsOptions());
    }

    /** A driver whose runsc would never run: the platform is given, so no probe starts it either. */
    private RunscDriver driver() throws Exception {
        RunscSettings settings = new RunscSettings(tmp.resolve("no-runsc").toString(), null, "ptrace", "host", null,
                null, Files.createDirectories(tmp.resolve("log")), Duration.ofSeconds(2));
        return new RunscDriver(e -> { }, new TempHostPaths(tmp), new KeeperExitRecords((Path) null), settings,
                new Reaper());
    }

    private static SandboxSpec spec(String id, String cgroupParent) {
        PodConfig pod = new PodConfig("web", "default", "uid-1", "web-0", "/var/log/pods/x", PodConfig.NamespaceMode.POD,
                PodConfig.NamespaceMode.CONTAINER, PodConfig.NamespaceMode.POD, cgroupParent, Map.of(), List.of(),
                List.of(), List.of());
        return new SandboxSpec(id, "k8s.io", "", List.of(), pod, null, Map.of(), Map.of());
    }
}
