package io.kuasar.driver.kit.tty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A holder keeps the very file an fd of ours refers to, gives it back through pidfd_getfd, and ends on release.
 * Skipped where pidfd_getfd cannot work: before Linux 5.6, or where ptrace access to the holder (our child) is
 * refused, since pidfd_getfd needs PTRACE_MODE_ATTACH_REALCREDS on its target.
 */
class PtyHolderTest {
    @Test
    void holderKeepsTheFileAndGivesItBack(@TempDir Path tmp) throws Exception {
        String unavailable = pidfdGetfdUnavailable();
        assumeTrue(unavailable == null, () -> "pidfd_getfd cannot work here: " + unavailable);
        Pty pty = Pty.open(); // any open file would do; a pty is what holders hold
        int fd = pty.master();
        Path record = tmp.resolve("tty-init.holder");
        try {
            Path out = tmp.resolve("out");
            Files.writeString(out, "");
            PtyHolder.Held held = PtyHolder.hold(fd, out.toString(), null, record);
            assertNotNull(held, "posix_spawn works here");
            try {
                checkHolder(held, fd, out, record);
            } finally {
                PtyHolder.release(held, record); // idempotent: never leave a holder behind a failed assertion
            }
        } finally {
            pty.close();
        }
    }

    /**
     * A JVM killed between spawning a holder and writing its record left it running unrecorded: it holds
     * containerd's stdout FIFO open for writing, so nothing may leave it. Recovery records it where its process's work
     * dir still is and ends it where that is gone; holders under another root (another node's) are not touched.
     */
    @Test
    void holdersLeftUnrecordedAreRecordedOrEndedByRecovery(@TempDir Path tmp) throws Exception {
        Pty pty = Pty.open();
        Path root = Files.createDirectories(tmp.resolve("work"));
        Path kept = Files.createDirectories(root.resolve("pod/kept")).resolve("tty-init.holder");
        Path gone = Files.createDirectories(root.resolve("pod/gone")).resolve("tty-init.holder");
        Path other = Files.createDirectories(tmp.resolve("other/pod/c")).resolve("tty-init.holder");
        PtyHolder.Held keptHolder = PtyHolder.hold(pty.master(), null, null, kept);
        PtyHolder.Held goneHolder = PtyHolder.hold(pty.master(), null, null, gone);
        PtyHolder.Held otherHolder = PtyHolder.hold(pty.master(), null, null, other);
        try {
            assertNotNull(keptHolder, "posix_spawn works here");
            for (Path record : List.of(kept, gone, other)) {
                Files.delete(record); // what the killed JVM had not written yet
            }
            Files.delete(gone.getParent()); // that process was removed meanwhile

            PtyHolder.recordLeft(root);
            assertEquals(keptHolder, PtyHolder.find(kept), "recorded again, so reattach and removal find it");
            assertFalse(Files.exists(Path.of("/proc/" + goneHolder.pid())), "ended: no work dir to record it in");
            assertTrue(Files.exists(Path.of("/proc/" + otherHolder.pid())), "another root's holder left alone");
            assertFalse(Files.exists(other), "and not recorded");
        } finally {
            PtyHolder.release(keptHolder, kept);
            PtyHolder.release(goneHolder, gone);
            PtyHolder.release(otherHolder, other);
            pty.close();
        }
    }

    private static void checkHolder(PtyHolder.Held held, int fd, Path out, Path record) throws Exception {
        TtyLibC libc = Native.libc();
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
        assertFalse(Files.exists(Path.of("/proc/" + held.pid())), "killed and reaped, no zombie left");
        assertFalse(Files.exists(record));
        assertNull(PtyHolder.find(record));
    }

    /**
     * Why pidfd_getfd(2) on a child of ours would fail here, or null. It came with Linux 5.6. It needs
     * PTRACE_MODE_ATTACH_REALCREDS on the target: same real uid as the child (ours), unless Yama forbids it. Yama's
     * kernel.yama.ptrace_scope 1 still allows descendants (the holder is our child), 2 needs CAP_SYS_PTRACE, 3
     * forbids attaching altogether.
     */
    static String pidfdGetfdUnavailable() throws IOException {
        String release = procLine(Path.of("/proc/sys/kernel/osrelease"));
        Matcher v = Pattern.compile("^(\\d+)\\.(\\d+)").matcher(release);
        if (!v.find()) {
            return "cannot read the kernel version from '" + release + "'";
        }
        int major = Integer.parseInt(v.group(1));
        int minor = Integer.parseInt(v.group(2));
        if (major < 5 || major == 5 && minor < 6) {
            return "kernel " + release + " predates pidfd_getfd (Linux 5.6)";
        }
        Path yama = Path.of("/proc/sys/kernel/yama/ptrace_scope");
        int scope = Files.exists(yama) ? Integer.parseInt(procLine(yama)) : 0;
        if (scope >= 3) {
            return "kernel.yama.ptrace_scope = " + scope + " forbids ptrace attach, which pidfd_getfd needs";
        }
        if (scope == 2 && !hasEffectiveCapability(19)) {
            return "kernel.yama.ptrace_scope = 2 needs CAP_SYS_PTRACE, which this process lacks";
        }
        return null;
    }

    /**
     * The first line of a /proc file. Not Files.readString: it reads one byte first, and a numeric sysctl answers
     * the read at a non-zero offset that follows with end of file ("2" of "25").
     */
    private static String procLine(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file);
        return lines.isEmpty() ? "" : lines.get(0).strip();
    }

    private static boolean hasEffectiveCapability(int cap) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("CapEff:")) {
                return (Long.parseUnsignedLong(line.substring(7).strip(), 16) >>> cap & 1) == 1;
            }
        }
        return false;
    }
}
