package io.kuasar.driver.quark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.driver.kit.ProcStat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import jnr.ffi.LibraryLoader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reaper adopts orphans re-parented to this (subreaper) JVM by their command line, and reaps them. */
class ReaperTest {
    /** prctl(2), to make the test JVM a child subreaper as the node is. */
    public interface Prctl {
        int prctl(int option, long a2, long a3, long a4, long a5);
    }

    @BeforeAll
    static void becomeSubreaper() {
        Prctl libc = LibraryLoader.create(Prctl.class).load("c");
        assertEquals(0, libc.prctl(36, 1, 0, 0, 0), "PR_SET_CHILD_SUBREAPER");
    }

    @Test
    void reapsTheZombiesOfAnAdoptedSessionOnly(@TempDir Path tmp) throws Exception {
        // Named "exe" and leading a session of its own, like runsc's sandbox and gofers.
        Path exe = Files.createSymbolicLink(tmp.resolve("exe"), Path.of("/bin/sleep"));
        // sh starts them in the background and exits: they are re-parented to this JVM, as runsc's are.
        new ProcessBuilder("sh", "-c", "setsid " + exe + " 0.5 & setsid " + exe + " 0.6 -- & echo").start().waitFor();
        try (Reaper reaper = new Reaper()) {
            // until both have exec'd: before, a child of sh still shows sh's command line (exe's path and "--"
            // included), and one in the middle of exec (setsid becoming exe) shows none for a moment
            List<ProcStat> orphans = List.of();
            for (long end = System.nanoTime() + 2_000_000_000L; orphans.size() < 2 && System.nanoTime() < end; ) {
                orphans = ProcStat.all().stream()
                        .filter(s -> ProcStat.cmdline(s.pid()).indexOf(exe.toString()) == 0).toList();
            }
            List<ProcStat> found = orphans;
            assertEquals(2, found.size(), () -> "orphans " + found);
            orphans.forEach(o -> assertEquals(ProcessHandle.current().pid(), o.ppid(), "re-parented to the JVM"));
            ProcStat tracked = orphans.stream().filter(s -> !ProcStat.cmdline(s.pid()).contains("--")).findFirst().get();
            ProcStat other = orphans.stream().filter(s -> s != tracked).findFirst().get();

            assertEquals(List.of(tracked.session()), reaper.adopt(exe + " 0.5"));
            assertTrue(reaper.awaitGone(List.of(tracked.session()), Duration.ofSeconds(5)), "reaped after it exited");
            assertFalse(Files.exists(Path.of("/proc/" + tracked.pid())), "no zombie left");

            Thread.sleep(800); // the other one has exited by now, but its session was never adopted
            reaper.sweep();
            assertEquals('Z', ProcStat.of(other.pid()).state(), "a zombie of another session is left alone");
            reaper.readopt(List.of(other.session()));
            assertTrue(reaper.awaitGone(List.of(other.session()), Duration.ofSeconds(5)), "reaped once re-adopted");
        }
    }

    @Test
    void ignoresProcessesThatAreNotItsChildren() {
        try (Reaper reaper = new Reaper()) {
            assertEquals(List.of(), reaper.adopt("kthreadd"));
        }
    }
}
