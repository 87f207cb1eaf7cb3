package io.kuasar.host.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.kuasar.host.fuzz.FuzzInput;
import io.kuasar.host.fuzz.FuzzSeeds;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Fuzz target {@code admin-protocol}: request lines as a root client may send them to the node's admin socket,
 * through {@link AdminProtocol}. What must hold:
 * <ul>
 *   <li>{@code parse} gives a known command with valid arguments, or an IllegalArgumentException, nothing else;</li>
 *   <li>a parsed request written back ({@code toLine}) parses to the same request; so does any request
 *       {@code request(words)} accepts;</li>
 *   <li>{@code quote} and {@code split} are inverse for every word without a line break or NUL (those are refused
 *       with IllegalArgumentException, never passed on);</li>
 *   <li>{@code error} and {@code textLine} always give one line, so the reply framing (status last) holds.</li>
 * </ul>
 * Input: byte 0 picks how the rest becomes text (UTF-8, or UTF-16 units so any char appears), then the line; the
 * line's words (split at spaces) also serve as a word list for {@code request} and the quote round trip.
 */
class AdminProtocolFuzzTest {
    @FuzzTest(maxDuration = "10s")
    void lines(byte[] data) {
        FuzzInput in = new FuzzInput(data);
        boolean utf16 = in.bool();
        byte[] rest = in.rest();
        String line = utf16 ? new String(rest, StandardCharsets.UTF_16BE) : new String(rest, StandardCharsets.UTF_8);

        // parse: a request or IllegalArgumentException; a request survives its own line.
        try {
            AdminProtocol.Request r = AdminProtocol.parse(line);
            assertTrue(AdminProtocol.COMMANDS.contains(r.command()), r.command());
            assertEquals(r, AdminProtocol.parse(r.toLine()), "request " + r + " written as " + r.toLine());
            noLineBreak(r.toLine());
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage() != null && !expected.getMessage().isBlank());
        }

        // request() on arbitrary words (empty ones and ones with blanks included) and the quote round trip.
        List<String> words = new ArrayList<>(List.of(line.split(" ", -1)));
        try {
            AdminProtocol.Request r = AdminProtocol.request(words);
            if (words.stream().noneMatch(AdminProtocolFuzzTest::unsendable)) {
                assertEquals(r, AdminProtocol.parse(r.toLine()), "request " + r + " written as " + r.toLine());
            }
        } catch (IllegalArgumentException expected) {
            // refused with its reason
        }
        for (String w : List.of(line, words.get(0))) {
            if (unsendable(w)) {
                assertThrows(IllegalArgumentException.class, () -> AdminProtocol.split(AdminProtocol.quote(w)));
            } else {
                assertEquals(List.of(w), AdminProtocol.split(AdminProtocol.quote(w)), "quoted as " + AdminProtocol.quote(w));
            }
        }

        // Replies: always one line.
        String err = AdminProtocol.error(line);
        assertTrue(err.startsWith(AdminProtocol.ERR + " "), err);
        noLineBreak(err);
        noLineBreak(AdminProtocol.textLine(line));
        assertFalse(AdminProtocol.error(null).isBlank());
    }

    /** What a request line cannot carry: its end (a line break) or a NUL. */
    private static boolean unsendable(String w) {
        return w.indexOf('\r') >= 0 || w.indexOf('\n') >= 0 || w.indexOf('\0') >= 0;
    }

    private static void noLineBreak(String s) {
        assertTrue(s.indexOf('\n') < 0 && s.indexOf('\r') < 0, "a line break in " + s);
    }

    @TestFactory
    Stream<DynamicTest> seeds() {
        return FuzzSeeds.replay("admin-protocol", this::lines);
    }
}
