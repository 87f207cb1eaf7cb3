package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStats;
import io.kuasar.api.cri.v1.ContainerStatsRequest;
import io.kuasar.api.cri.v1.ContainerStatus;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.PodSandboxStatusRequest;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.condition.DisabledIfEnvironmentVariable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A kill -9 of the node's JVM with a terminal container and a plain one running on {@code kuasar-runc} and on
 * {@code kuasar-runsc} (the stock shim has no such event, so this runs on ours only). The terminal's pty master was parked in a holder process, so
 * the terminal is not hung up: the shell runs on, the restarted node copies its terminal again, attach and resize
 * work, and it ends with its own exit code. The plain container keeps running, with stats and exec streaming.
 */
@DisabledIfEnvironmentVariable(named = "KUASAR_KEEPER", matches = "0",
        disabledReason = "KUASAR_KEEPER=0: no keeper restarts the node's JVM after the kill -9 this test makes")
class TtyNodeCrashTest extends RuncFeatureBase {
    private static final Duration BACK = Duration.ofSeconds(60);
    private static final Duration STREAM_WAIT = Duration.ofSeconds(20);

    /** Our handlers whose terminals are held across a restart of the node. */
    static List<String> ourTerminalHandlers() {
        return List.of(NodeEnv.KUASAR_HANDLER, RunscPodTest.RUNSC_HANDLER);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ourTerminalHandlers")
    void terminalAndPlainContainersSurviveAKillDashNineOfTheNode(String handler) throws Exception {
        HostTools.requireHandler(handler);
        PodSandboxConfig pod = podConfig("ttycrash");
        String podId = runPod(pod, handler);
        String plain = cri.runContainer(podId, pod, containerConfig("plain", busybox(), "sleep", "3600"));
        ContainerConfig ttyConfig = containerConfig("tty", busybox(), "sh").toBuilder().setTty(true).setStdin(true)
                .build();
        String tty = cri.runContainer(podId, pod, ttyConfig);
        cri.waitForState(plain, ContainerState.CONTAINER_RUNNING, WAIT);
        cri.waitForState(tty, ContainerState.CONTAINER_RUNNING, WAIT);
        try (CriStreams.Session session = CriStreams.exec(cri.attachUrl(tty, true, true))) {
            session.send(CriStreams.STDIN, "echo before-$((1+1))\n");
            session.awaitText(CriStreams.STDOUT, "before-2", STREAM_WAIT);
        }
        long plainPid = initPid(plain);
        long ttyPid = initPid(tty);

        KeeperNode node = new KeeperNode(env, BACK);
        long keeper = node.keeper();
        long jvm = KeeperNode.jvmOf(keeper);
        assertTrue(jvm > 0, "no java child of keeper " + keeper);
        new ProcessBuilder("kill", "-9", Long.toString(jvm)).inheritIO().start().waitFor();
        node.awaitNewJvm(keeper, jvm);
        node.awaitSandboxerAnswers();
        awaitControllerThroughContainerd(podId);

        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(tty).getState());
        assertEquals(ttyPid, initPid(tty), "same shell");
        try (CriStreams.Session session = CriStreams.exec(cri.attachUrl(tty, true, true))) {
            session.resize(77, 21);
            session.awaitTerminalSize(77, 21, STREAM_WAIT);
            session.send(CriStreams.STDIN, "stty size; echo after-$((2+2)); exit 5\n");
            String out = session.awaitText(CriStreams.STDOUT, "after-4", STREAM_WAIT);
            assertTrue(out.contains("21 77"), out);
        }
        ContainerStatus exited = cri.waitForState(tty, ContainerState.CONTAINER_EXITED, WAIT);
        assertEquals(5, exited.getExitCode(), exited::toString);

        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(plain).getState());
        assertEquals(plainPid, initPid(plain), "same process");
        ContainerStats stats = cri.runtime().containerStats(ContainerStatsRequest.newBuilder().setContainerId(plain)
                .build()).getStats();
        assertTrue(stats.getMemory().getWorkingSetBytes().getValue() > 0, stats::toString);
        try (CriStreams.Session session = CriStreams.exec(cri.execUrl(plain, true, true, "sh"))) {
            session.send(CriStreams.STDIN, "echo exec-$((3+3)); exit\n");
            session.awaitText(CriStreams.STDOUT, "exec-6", STREAM_WAIT);
        }
        awaitControllerThroughContainerd(podId);
    }

    /**
     * containerd's gRPC connection to the restarted sandboxer may still be in its reconnect back-off, and calls such
     * as ContainerStats and the pod's removal need it: wait until PodSandboxStatus (which asks the Controller) answers
     * through containerd.
     */
    private void awaitControllerThroughContainerd(String podId) {
        asKubeletRetries(BACK, () -> cri.runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder()
                .setPodSandboxId(podId).build()));
    }
}
