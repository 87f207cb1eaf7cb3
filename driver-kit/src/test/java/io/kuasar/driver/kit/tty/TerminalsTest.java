package io.kuasar.driver.kit.tty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.driver.kit.StdioRedirects;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.Stdio;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TerminalsTest {
    @Test
    void aTerminalProcessGivesRuncNoStdioButItsPathsAreStillChecked() throws Exception {
        Stdio tty = new Stdio("/run/fifo/in", "/run/fifo/out", "/run/fifo/err", true);
        assertSame(StdioRedirects.NONE, Terminals.redirects(tty, "test"));
        assertEquals(SandboxException.Code.UNIMPLEMENTED, assertThrows(SandboxException.class,
                () -> Terminals.redirects(new Stdio("", "binary:///log", "", true), "test")).code());
        assertEquals(SandboxException.Code.INVALID_ARGUMENT, assertThrows(SandboxException.class,
                () -> Terminals.redirects(new Stdio("ftp://x/in", "", "", true), "test")).code());
    }

    @Test
    void withoutATerminalThereIsNoConsoleSocket(@TempDir Path tmp) throws Exception {
        assertNull(new Terminals(tmp).open(Stdio.NONE));
        assertNull(Terminals.attach(null, Stdio.NONE, "nothing", tmp.resolve("h")));
    }

    @Test
    void aConsoleSocketThatTheRuntimeNeverReachedFailsInsteadOfWaiting(@TempDir Path tmp) throws Exception {
        ConsoleSocket socket = new Terminals(tmp.resolve("tty")).open(new Stdio("", "", "", true));
        Path path = socket.path();
        assertTrue(Files.exists(path));
        try {
            IOException e = assertThrows(IOException.class, socket::receive);
            assertTrue(e.getMessage().contains("the runtime sent no terminal"), e.getMessage());
        } finally {
            socket.close();
        }
        assertTrue(Files.notExists(path), "closing removes the socket file");
    }

    @Test
    void aSocketPathLongerThanSunPathIsRefused(@TempDir Path tmp) {
        Path longPath = tmp.resolve("x".repeat(ConsoleSocket.MAX_PATH) + ".sock");
        assertThrows(IOException.class, () -> ConsoleSocket.listen(longPath));
    }
}
