package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStatus;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Containers with {@code tty: true}: the init runs on a pty whose output reaches the CRI log, an attached client
 * drives it interactively, and the attach's resize messages set the window size (the Task API's ResizePty). On
 * {@code kuasar-vmm} the pty is the guest agent's, in the VM; on {@code kuasar-runsc} gVisor's, made by runsc.
 */
class RuncTtyTest extends RuncFeatureBase {
    private static final Duration STREAM_WAIT = Duration.ofSeconds(20);

    @ParameterizedTest(name = "{0}")
    @MethodSource("terminalHandlers")
    void terminalContainerWritesItsOutputToTheLogAndExits(String handler) {
        // [ -t ], not tty(1): gVisor gives the process the host's pty, which has no /dev/pts name inside the sandbox
        ContainerConfig config = containerConfig("tty", busybox(), "sh", "-c",
                "[ -t 0 ] && [ -t 1 ] && echo on-a-terminal; exit 4").toBuilder().setTty(true).build();
        Started s = run(handler, "ttylog", config); // it may end before a status shows it running
        ContainerStatus exited = cri.waitForState(s.containerId(), ContainerState.CONTAINER_EXITED, waitOn(handler));
        assertEquals(4, exited.getExitCode());
        cri.waitForLog(s.containerId(), "on-a-terminal", waitOn(handler)); // fails unless the shell saw a terminal
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("terminalHandlers")
    void attachToTerminalContainerDrivesItsShellAndResizesIt(String handler) {
        ContainerConfig config = containerConfig("shell", busybox(), "sh").toBuilder().setTty(true).setStdin(true)
                .build();
        Started s = start(handler, "ttyattach", config);
        try (CriStreams.Session session = CriStreams.exec(cri.attachUrl(s.containerId(), true, true))) {
            session.resize(90, 25);
            session.awaitTerminalSize(90, 25, STREAM_WAIT);
            session.send(CriStreams.STDIN, "stty size; echo sum-$((40+2))\n");
            String out = session.awaitText(CriStreams.STDOUT, "sum-42", STREAM_WAIT);
            assertTrue(out.contains("25 90"), out);
        }
        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(s.containerId()).getState(),
                "detaching leaves the shell running");
        try (CriStreams.Session again = CriStreams.exec(cri.attachUrl(s.containerId(), true, true))) {
            again.send(CriStreams.STDIN, "exit 6\n");
        }
        ContainerStatus exited = cri.waitForState(s.containerId(), ContainerState.CONTAINER_EXITED, waitOn(handler));
        assertEquals(6, exited.getExitCode());
        assertTrue(cri.waitForLog(s.containerId(), "sum-42", waitOn(handler)).contains("sum-42"));
    }
}
