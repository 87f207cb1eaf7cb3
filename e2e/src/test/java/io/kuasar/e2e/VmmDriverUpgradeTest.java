package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ExecSyncResponse;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An upgrade of the vmm driver (a newer bundle dropped into the node's fileinstall folder, then removed again: a
 * rollback) while a VM pod runs. Deactivation leaves the VM alone; the new driver instance reconnects to its agent
 * from the state dir. The sleeper keeps running in the same QEMU and answers ExecSync; a container that exits
 * across the upgrade reports its own code; a shell on a terminal keeps it, and attach, input and resize work after
 * each switch.
 */
class VmmDriverUpgradeTest extends CriTestBase {
    private static final String NEW_VERSION = "0.1.1";
    private static final Duration SWITCH = Duration.ofSeconds(30);

    @BeforeAll
    static void qemuAndTheGuestImageAreThere() {
        HostTools.requireHandler(VmmPodTest.VMM_HANDLER);
    }

    @Test
    void vmPodSurvivesAnUpgradeAndARollbackOfTheDriver() throws Exception {
        PodSandboxConfig pod = podConfig("vm-upgrade");
        String podId = runPod(pod, VmmPodTest.VMM_HANDLER);
        String sleeper = cri.runContainer(podId, pod, containerConfig("sleeper", busybox(), "sleep", "3600"));
        cri.waitForState(sleeper, ContainerState.CONTAINER_RUNNING, VmmPodTest.VM_WAIT);
        String seven = cri.runContainer(podId, pod, containerConfig("seven", busybox(), "sh", "-c", "sleep 5; exit 7"));
        cri.waitForState(seven, ContainerState.CONTAINER_RUNNING, VmmPodTest.VM_WAIT);
        String shell = cri.runContainer(podId, pod, containerConfig("shell", busybox(), "sh").toBuilder().setTty(true)
                .setStdin(true).build());
        cri.waitForState(shell, ContainerState.CONTAINER_RUNNING, VmmPodTest.VM_WAIT);
        TerminalTalk.talk(cri, shell, 80, 20, "one");
        List<Processes.Proc> qemu = Processes.matching(p -> p.argvMentions("kuasar-" + podId));
        assertEquals(1, qemu.size(), "one QEMU for the pod");

        long mark = nodeLogMark();
        Path jar = Files.createTempFile(logRoot, "driver-vmm-", ".jar");
        DriverJars.repack(DriverJars.builtJar(env.repo(), "driver-vmm", "kuasar-driver-vmm"), jar, NEW_VERSION);
        Path dropped = env.nodeDir().resolve("kuasar/drivers/kuasar-driver-vmm-" + NEW_VERSION + ".jar");
        try {
            Files.move(jar, dropped, StandardCopyOption.ATOMIC_MOVE); // fileinstall must never see half a jar
            awaitLog(mark, "io.kuasar.driver.vmm " + NEW_VERSION + ", ", "serves [vmm]");
            assertEquals(7, cri.waitForState(seven, ContainerState.CONTAINER_EXITED, VmmPodTest.VM_WAIT).getExitCode(),
                    "the container that exited across the upgrade reports its own code");
            assertServed(sleeper, podId, qemu.get(0).pid());
            TerminalTalk.talk(cri, shell, 81, 21, "two");
        } finally {
            mark = nodeLogMark();
            Files.deleteIfExists(dropped); // rollback: the bundle installed before is the driver again
        }
        awaitLog(mark, "serves [vmm]");
        assertServed(sleeper, podId, qemu.get(0).pid());
        TerminalTalk.talk(cri, shell, 82, 22, "three");
        TerminalTalk.exit(cri, shell, 3);
        assertEquals(3, cri.waitForState(shell, ContainerState.CONTAINER_EXITED, VmmPodTest.VM_WAIT).getExitCode());
        String log = cri.waitForLog(shell, "said-three-2", VmmPodTest.VM_WAIT);
        assertTrue(log.contains("said-one-2") && log.contains("said-two-2"), log);
    }

    private void assertServed(String sleeper, String podId, long qemuPid) {
        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(sleeper).getState(), "sleeper runs");
        ExecSyncResponse r = execSync(sleeper, "echo", "still-here");
        assertEquals("still-here\n", r.getStdout().toStringUtf8(), () -> r.getStderr().toStringUtf8());
        List<Processes.Proc> now = Processes.matching(p -> p.argvMentions("kuasar-" + podId));
        assertTrue(now.size() == 1 && now.get(0).pid() == qemuPid, () -> "the same QEMU " + qemuPid + ": " + now);
    }

    private String awaitLog(long mark, String... texts) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + SWITCH.toNanos();
        while (System.nanoTime() < deadline) {
            for (String line : nodeLogSince(mark).lines().toList()) {
                if (List.of(texts).stream().allMatch(line::contains)) {
                    return line;
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no line with " + List.of(texts) + " in the node log within " + SWITCH + ":\n"
                + nodeLogSince(mark));
    }
}
