package io.kuasar.driver.runc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A holder keeps the very file an fd of ours refers to, gives it back through pidfd_getfd, and ends on release. */
class PtyHolderTest {
    @Test
    void holderKeepsTheFileAndGivesItBack(@TempDir Path tmp) throws Exception {
        LibC libc = Syscalls.libc();
        int fd = libc.eventfd(0, Syscalls.EFD_CLOEXEC); // stands in for a pty master: any open file will do
        Path record = tmp.resolve("tty-init.holder");
        try (ExitWatcher watcher = new ExitWatcher(true)) {
            Path out = tmp.resolve("out");
            Files.writeString(out, "");
            PtyHolder.Held held = PtyHolder.hold(fd, out.toString(), null, record);
            assertNotNull(held, "posix_spawn works here");
            try {
                checkHolder(held, fd, out, record, watcher);
            } finally {
                PtyHolder.release(held, record); // idempotent: never leave a holder behind a failed assertion
            }
        } finally {
            libc.close(fd);
        }
    }

    private static void checkHolder(PtyHolder.Held held, int fd, Path out, Path record, ExitWatcher watcher)
            throws Exception {
        LibC libc = Syscalls.libc();
        CompletableFuture<Integer> reaped = new CompletableFuture<>();
        watcher.watch(held.pid(), reaped::complete);
        String ours = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
        assertEquals(ours, Files.readSymbolicLink(Path.of("/proc/" + held.pid() + "/fd/" + PtyHolder.HELD_FD))
                .toString());
        assertEquals(out.toString(), Files.readSymbolicLink(Path.of("/proc/" + held.pid() + "/fd/"
                + (PtyHolder.HELD_FD + 1))).toString(), "the stdout file");
        assertFalse(Files.exists(Path.of("/proc/" + held.pid() + "/fd/" + (PtyHolder.HELD_FD + 2))),
                "nothing else of this JVM leaks into the holder");
        assertEquals(held, PtyHolder.find(record));

        int back = PtyHolder.reclaim(held);
        assertTrue(back >= 0);
        assertEquals(ours, Files.readSymbolicLink(Path.of("/proc/self/fd/" + back)).toString());
        libc.close(back);

        PtyHolder.release(held, record);
        assertEquals(128 + 9, (int) reaped.get(), "killed by SIGKILL");
        assertFalse(Files.exists(record));
        assertNull(PtyHolder.find(record));
    }
}
