package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

/** A short conversation with the shell of a terminal container over CRI Attach, as tests across driver switches hold. */
final class TerminalTalk {
    private static final Duration STREAM_WAIT = Duration.ofSeconds(20);

    private TerminalTalk() {
    }

    /** Attaches, sets the window size, has the shell print it and {@code said-WORD-2}, detaches. */
    static void talk(CriClient cri, String id, int width, int height, String word) {
        try (CriStreams.Session session = CriStreams.exec(cri.attachUrl(id, true, true))) {
            session.resize(width, height);
            session.awaitTerminalSize(width, height, STREAM_WAIT);
            // $((1+1)): the terminal echoes the command line, so only the shell's output holds "-2"
            session.send(CriStreams.STDIN, "stty size; echo said-" + word + "-$((1+1))\n");
            String out = session.awaitText(CriStreams.STDOUT, "said-" + word + "-2", STREAM_WAIT);
            assertTrue(out.contains(height + " " + width), out);
        }
    }

    /** Attaches and has the shell exit with {@code code}. */
    static void exit(CriClient cri, String id, int code) {
        try (CriStreams.Session session = CriStreams.exec(cri.attachUrl(id, true, true))) {
            session.send(CriStreams.STDIN, "exit " + code + "\n");
        }
    }
}
