package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Upgrading the runc driver under running pods through the drivers drop-in folder, then rolling back by deleting the
 * dropped jar: pods keep running with the same processes, exec works, a container that exits during the switch
 * reports its own code (not 255), nothing is logged as an error, and the log names the version serving.
 */
class DriverUpgradeTest extends CriTestBase {
    private static final String NEW_VERSION = "0.1.1";
    /** Pods running through the switch: as many as the operator scenario asks for. */
    private static final int PODS = 10;
    private static final Duration SWITCH = Duration.ofSeconds(20);

    private Path dropped;

    @AfterEach
    void takeBackTheDroppedJar() throws Exception {
        if (dropped != null && Files.deleteIfExists(dropped)) {
            awaitLog(nodeLogMark(), "serves [runc]");
        }
    }

    @Test
    void podsKeepRunningAcrossAnUpgradeAndARollbackOfTheRuncDriver() throws Exception {
        Map<String, Long> sleepers = new LinkedHashMap<>();
        PodSandboxConfig first = null;
        String firstPod = null;
        for (int i = 0; i < PODS; i++) {
            PodSandboxConfig pod = podConfig("upgrade" + i);
            String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
            String id = cri.runContainer(podId, pod, containerConfig("sleeper", busybox(), "sleep", "3600"));
            cri.waitForState(id, ContainerState.CONTAINER_RUNNING, WAIT);
            sleepers.put(id, initPid(id));
            if (first == null) {
                first = pod;
                firstPod = podId;
            }
        }

        long mark = nodeLogMark();
        String seven = cri.runContainer(firstPod, first, containerConfig("seven", busybox(), "sh", "-c", "sleep 4; exit 7"));
        Path jar = Files.createTempFile(logRoot, "driver-runc-", ".jar");
        DriverJars.repack(DriverJars.builtRuncJar(env.repo()), jar, NEW_VERSION);
        dropped = env.nodeDir().resolve("kuasar/drivers/kuasar-driver-runc-" + NEW_VERSION + ".jar");
        Files.move(jar, dropped, StandardCopyOption.ATOMIC_MOVE); // fileinstall must never see half a jar
        String serves = awaitLog(mark, "io.kuasar.driver.runc " + NEW_VERSION + ", ", "serves [runc]");
        // both versions implement SandboxHandover: the newer one adopts the pods one at a time and recovers none
        Matcher handed = Pattern.compile("handed over (\\d+) sandbox\\(es\\) one at a time")
                .matcher(serves);
        assertTrue(handed.find() && Integer.parseInt(handed.group(1)) >= PODS, serves);
        assertEquals(7, cri.waitForState(seven, ContainerState.CONTAINER_EXITED, WAIT).getExitCode(),
                "the container that exited across the upgrade reports its own code");
        assertStillServed(sleepers, mark);

        mark = nodeLogMark();
        String sevenAgain = cri.runContainer(firstPod, first,
                containerConfig("seven-again", busybox(), "sh", "-c", "sleep 4; exit 7"));
        Files.delete(dropped); // rollback: the bundle the node shipped with is started again
        dropped = null;
        String back = awaitLog(mark, "serves [runc]");
        assertTrue(back.contains("io.kuasar.driver.runc 0.1.0"), back);
        // the bundle it had replaced stood by before it went: the pods were handed back one at a time, not recovered
        Matcher handedBack = Pattern.compile("handed over (\\d+) sandbox\\(es\\) one at a time").matcher(back);
        assertTrue(handedBack.find() && Integer.parseInt(handedBack.group(1)) >= PODS, back);
        assertEquals(7, cri.waitForState(sevenAgain, ContainerState.CONTAINER_EXITED, WAIT).getExitCode());
        assertStillServed(sleepers, mark);
    }

    /** The first node log line after {@code mark} holding every one of {@code texts} (waits up to {@link #SWITCH}). */
    private String awaitLog(long mark, String... texts) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + SWITCH.toNanos();
        while (System.nanoTime() < deadline) {
            for (String line : nodeLogSince(mark).lines().toList()) {
                if (Stream.of(texts).allMatch(line::contains)) {
                    return line;
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no line with " + List.of(texts) + " in the node log within " + SWITCH + ":\n"
                + nodeLogSince(mark));
    }
}
