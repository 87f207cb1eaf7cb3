package io.kuasar.driver.kit.tty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.SandboxException;
import io.kuasar.spi.Stdio;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pty made here for a process that opens the replica itself: what the process writes reaches the stdout file
 * through the Console, a resize is what the process reads back, and the terminal closes when the process is gone.
 */
class PtyTest {
    @Test
    void aProcessOnTheReplicaIsCopiedAndSized(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out");
        Files.writeString(out, "");
        Path in = tmp.resolve("in");
        assertEquals(0, new ProcessBuilder("mkfifo", in.toString()).start().waitFor());
        Pty pty = Terminals.openPty("test");
        assertTrue(pty.replica().startsWith("/dev/pts/"), pty.replica());
        // taken before the process opened the replica: the Pty's own replica fd keeps the terminal from hanging up
        Console console = pty.take(new Stdio(in.toString(), out.toString(), "", true), "test process",
                tmp.resolve("h.holder"));
        assertThrows(IllegalStateException.class, () -> pty.take(Stdio.NONE, "again", tmp.resolve("x")));
        Thread.sleep(300);
        assertTrue(console.isOpen(), "no process on the replica yet, and still open");
        Process p = new ProcessBuilder("/bin/sh", "-c", "read go <\"$0\"; stty size <\"$0\"; echo on-the-pty >\"$0\"",
                pty.replica()).start();
        p.onExit().thenRun(pty::close);
        console.resize(77, 11);
        Files.writeString(in, "go\n"); // containerd's stdin FIFO: the shell reads its line from the terminal
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        assertEquals("11 77", new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim());
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.readString(out).contains("on-the-pty") && System.nanoTime() < end) {
            Thread.sleep(20);
        }
        assertTrue(Files.readString(out).contains("on-the-pty"), Files.readString(out));
        while (console.isOpen() && System.nanoTime() < end) {
            Thread.sleep(20);
        }
        assertFalse(console.isOpen(), "the terminal closes once its process is gone");
        assertEquals(SandboxException.Code.NOT_FOUND,
                assertThrows(SandboxException.class, () -> console.resize(80, 24)).code());
    }

}
