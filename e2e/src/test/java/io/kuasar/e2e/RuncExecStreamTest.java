package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * CRI Exec over containerd's streaming server (WebSocket, Kubernetes channel protocol, see {@link CriStreams}):
 * without a terminal (separate stdout and stderr, stdin from the client, exit code in the status) and with
 * one (a pty, window size, an interactive shell; on {@code kuasar-runsc} too); on {@code kuasar-vmm} the guest
 * agent's pipes and pty.
 */
class RuncExecStreamTest extends RuncFeatureBase {
    static final Duration STREAM_WAIT = Duration.ofSeconds(20);

    @ParameterizedTest(name = "{0}")
    @MethodSource("handlersAndVm")
    void execWithoutTerminalSeparatesStdoutAndStderrAndReportsTheExitCode(String handler) {
        Started s = start(handler, "exec", containerConfig("sleeper", busybox(), "sleep", "3600"));
        try (CriStreams.Session session = CriStreams.exec(cri.execUrl(s.containerId(), false, false,
                "sh", "-c", "echo to-out; echo to-err >&2; exit 7"))) {
            session.awaitClose(STREAM_WAIT);
            assertEquals("to-out\n", session.text(CriStreams.STDOUT));
            assertEquals("to-err\n", session.text(CriStreams.STDERR));
            String status = session.text(CriStreams.ERROR);
            assertTrue(status.contains("\"ExitCode\"") && status.contains("\"7\""), status);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("handlersAndVm")
    void execWithStdinPassesWhatTheClientSends(String handler) {
        Started s = start(handler, "execin", containerConfig("sleeper", busybox(), "sleep", "3600"));
        // containerd 2.1's streaming server negotiates v4, which cannot half-close stdin: the reader stops by itself.
        try (CriStreams.Session session = CriStreams.exec(cri.execUrl(s.containerId(), false, true,
                "sh", "-c", "read a; echo got-$a; read b; echo got-$b"))) {
            session.send(CriStreams.STDIN, "one\n");
            session.awaitText(CriStreams.STDOUT, "got-one\n", STREAM_WAIT);
            session.send(CriStreams.STDIN, "two\n");
            session.awaitClose(STREAM_WAIT);
            assertEquals("got-one\ngot-two\n", session.text(CriStreams.STDOUT));
            assertTrue(session.text(CriStreams.ERROR).contains("Success"), session.text(CriStreams.ERROR));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("terminalHandlers")
    void execWithTerminalRunsAnInteractiveShellOnAPty(String handler) {
        Started s = start(handler, "exectty", containerConfig("sleeper", busybox(), "sleep", "3600"));
        try (CriStreams.Session session = CriStreams.exec(cri.execUrl(s.containerId(), true, true, "sh"))) {
            session.resize(100, 30);
            session.awaitTerminalSize(100, 30, STREAM_WAIT);
            // [ -t ], not tty(1): gVisor's host pty has no /dev/pts name in the sandbox. The terminal echoes the
            // typed line: only the shell's answer has "terminal-1"
            session.send(CriStreams.STDIN, "[ -t 0 ] && [ -t 1 ] && echo terminal-$((3-2)); stty size; echo answer-$((6*7))\n");
            String out = session.awaitText(CriStreams.STDOUT, "answer-42", STREAM_WAIT);
            assertTrue(out.contains("terminal-1"), out);
            assertTrue(out.contains("30 100"), out);
            session.resize(120, 40);
            session.awaitTerminalSize(120, 40, STREAM_WAIT);
            session.send(CriStreams.STDIN, "exit 3\n");
            session.awaitClose(STREAM_WAIT);
            String status = session.text(CriStreams.ERROR);
            assertTrue(status.contains("\"ExitCode\"") && status.contains("\"3\""), status);
        }
    }
}
