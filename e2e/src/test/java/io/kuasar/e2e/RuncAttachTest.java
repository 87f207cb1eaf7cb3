package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerConfig;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * CRI Attach to a container started with stdin open: what the client sends reaches the container's init, what it
 * prints comes back (and goes to the CRI log as well), and a second attach sees the same process.
 */
class RuncAttachTest extends RuncFeatureBase {
    private static final Duration STREAM_WAIT = Duration.ofSeconds(20);

    @ParameterizedTest(name = "{0}")
    @MethodSource("handlersAndVm")
    void attachWithoutTerminalFeedsStdinAndStreamsStdout(String handler) {
        ContainerConfig config = containerConfig("reader", busybox(), "sh", "-c",
                "echo started; while read l; do echo got-$l; done").toBuilder().setStdin(true).build();
        Started s = start(handler, "attach", config);
        cri.waitForLog(s.containerId(), "started", waitOn(handler));
        try (CriStreams.Session session = CriStreams.exec(cri.attachUrl(s.containerId(), false, true))) {
            session.send(CriStreams.STDIN, "first\n");
            session.awaitText(CriStreams.STDOUT, "got-first\n", STREAM_WAIT);
        }
        try (CriStreams.Session again = CriStreams.exec(cri.attachUrl(s.containerId(), false, true))) {
            again.send(CriStreams.STDIN, "second\n");
            again.awaitText(CriStreams.STDOUT, "got-second\n", STREAM_WAIT);
        }
        String log = cri.waitForLog(s.containerId(), "got-second", waitOn(handler));
        assertTrue(log.contains("got-first"), log);
    }
}
