package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * CloseIO: a container started with stdin held open once ({@code stdinOnce}, as {@code kubectl run -i} makes it) gets
 * end-of-file when its first attach ends: containerd then closes the process's stdin (its Task CloseIO), and a process
 * reading stdin to the end ({@code wc}) finishes. Same behaviour asked of the stock shim, our runc driver, our
 * gVisor driver and our VM driver (whose guest agent closes the process's stdin pipe at the FIFO's end). (containerd 2.1's streaming server speaks the v4 channel protocol, whose only way to end stdin is to
 * end the session.)
 */
class StdinCloseTest extends RuncFeatureBase {
    /** How long containerd may take to log a refused CloseIO once the container has ended. */
    private static final Duration REFUSAL_WAIT = Duration.ofSeconds(2);

    static List<String> handlersWithRunscAndVm() {
        return List.of(NodeEnv.STOCK_HANDLER, NodeEnv.KUASAR_HANDLER, RunscPodTest.RUNSC_HANDLER,
                VmmPodTest.VMM_HANDLER);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("handlersWithRunscAndVm")
    void aStdinOnceContainerReadingStdinToItsEndFinishesWhenItsAttachEnds(String handler) {
        ContainerConfig config = containerConfig("counter", busybox(), "sh", "-c",
                "echo started; wc -c; echo stdin-ended").toBuilder().setStdin(true).setStdinOnce(true).build();
        Started s = start(handler, "stdin-once", config);
        cri.waitForLog(s.containerId(), "started", waitOn(handler));
        try (CriStreams.Session session = CriStreams.exec(cri.attachUrl(s.containerId(), false, true))) {
            session.send(CriStreams.STDIN, "twelve bytes");
        } // the attach ends: containerd closes the container's stdin
        assertEquals(0, cri.waitForState(s.containerId(), ContainerState.CONTAINER_EXITED, waitOn(handler))
                .getExitCode());
        String log = cri.waitForLog(s.containerId(), "stdin-ended", waitOn(handler));
        assertTrue(log.lines().anyMatch(l -> l.trim().equals("12")), () -> "wc counted 12 bytes: " + log);
        // containerd carries on when CloseIO fails (it closed its own end of the FIFO first), but logs it, a moment
        // after the container may have ended: give it that moment
        String id = s.containerId();
        long deadline = System.nanoTime() + REFUSAL_WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            assertFalse(containerdLog().lines().anyMatch(l -> l.contains("Failed to close stdin") && l.contains(id)),
                    () -> handler + " refused CloseIO: see containerd.log");
            sleep(100);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private String containerdLog() {
        try {
            return Files.readString(env.nodeDir().resolve("containerd.log"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
