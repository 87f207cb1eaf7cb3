package io.kuasar.driver.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

class CommandsTest {
    @Test
    void returnsTrimmedOutputOfBothStreams() throws Exception {
        assertEquals("out\nerr", Commands.run(List.of("sh", "-c", "echo out; echo err >&2"), 10));
    }

    @Test
    void failureCarriesExitCodeAndOutput() {
        IOException e = assertThrows(IOException.class, () -> Commands.run(List.of("sh", "-c", "echo nope; exit 3"), 10));
        assertTrue(e.getMessage().contains("(exit 3): nope"), e.getMessage());
    }

    @Test
    void stdinIsEmpty() throws Exception {
        assertEquals("0", Commands.run(List.of("sh", "-c", "wc -c | tr -d ' '"), 10));
    }

    @Test
    void hangIsKilled() {
        // Backgrounded sleep keeps no pipe open (its output goes to /dev/null), so only the timeout can end this.
        IOException e = assertThrows(IOException.class,
                () -> Commands.run(List.of("sh", "-c", "exec sleep 30 >/dev/null 2>&1"), 1));
        assertTrue(e.getMessage().contains("did not finish"), e.getMessage());
    }
}
