package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A terminal container across an upgrade and a rollback of the runc driver inside the running node
 * ({@code kuasar-runc} only: the stock shim has no such event). The old driver instance stops copying, the new one
 * takes the pty master back from its holder: the shell keeps its terminal, attach and resize work after each
 * switch, and its exit code arrives.
 */
class RuncTtyDriverUpgradeTest extends RuncFeatureBase {
    private static final String NEW_VERSION = "0.1.1";
    private static final Duration SWITCH = Duration.ofSeconds(20);
    private Path dropped;

    @AfterEach
    void takeBackTheDroppedJar() throws Exception {
        if (dropped != null && Files.deleteIfExists(dropped)) {
            awaitServed(nodeLogMark(), "serves [runc]");
        }
    }

    @Test
    void terminalKeepsWorkingAcrossAnUpgradeAndARollback() throws Exception {
        PodSandboxConfig pod = podConfig("ttyupgrade");
        String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
        ContainerConfig config = containerConfig("shell", busybox(), "sh").toBuilder().setTty(true).setStdin(true)
                .build();
        String id = cri.runContainer(podId, pod, config);
        cri.waitForState(id, ContainerState.CONTAINER_RUNNING, WAIT);
        long pid = initPid(id);
        TerminalTalk.talk(cri, id, 80, 20, "one");

        long mark = nodeLogMark();
        Path jar = Files.createTempFile(logRoot, "driver-runc-", ".jar");
        DriverJars.repack(DriverJars.builtRuncJar(env.repo()), jar, NEW_VERSION);
        dropped = env.nodeDir().resolve("kuasar/drivers/kuasar-driver-runc-" + NEW_VERSION + ".jar");
        Files.move(jar, dropped, StandardCopyOption.ATOMIC_MOVE);
        awaitServed(mark, "io.kuasar.driver.runc " + NEW_VERSION + ", ", "serves [runc]");
        TerminalTalk.talk(cri, id, 81, 21, "two");

        mark = nodeLogMark();
        Files.delete(dropped);
        dropped = null;
        awaitServed(mark, "serves [runc]");
        TerminalTalk.talk(cri, id, 82, 22, "three");

        assertEquals(pid, initPid(id), "the same shell throughout");
        TerminalTalk.exit(cri, id, 3);
        assertEquals(3, cri.waitForState(id, ContainerState.CONTAINER_EXITED, WAIT).getExitCode());
        String log = cri.waitForLog(id, "said-three-2", WAIT);
        assertTrue(log.contains("said-one-2") && log.contains("said-two-2"), log);
    }

    private void awaitServed(long mark, String... texts) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + SWITCH.toNanos();
        while (System.nanoTime() < deadline) {
            for (String line : nodeLogSince(mark).lines().toList()) {
                if (java.util.Arrays.stream(texts).allMatch(line::contains)) {
                    return;
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the node log shows no " + java.util.List.of(texts) + " within " + SWITCH);
    }
}
