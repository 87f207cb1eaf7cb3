package io.kuasar.driver.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ProcStatTest {
    private static final long SELF = ProcessHandle.current().pid();

    @Test
    void pidsHoldThisProcessAndItsParent() {
        List<Long> pids = ProcStat.pids();
        assertTrue(pids.contains(SELF), () -> SELF + " missing from " + pids);
        assertTrue(pids.contains(ProcStat.of(SELF).ppid()), "the parent of this JVM is listed too");
    }

    @Test
    void allHasOneStatPerLivePid() {
        assertTrue(ProcStat.all().stream().anyMatch(s -> s.pid() == SELF && s.state() != 'Z'));
    }

    @Test
    void cmdlineOfThisJvmIsItsArguments() {
        List<String> argv = ProcStat.cmdline(SELF);
        assertTrue(argv.get(0).endsWith("java"), () -> "argv[0] of this JVM: " + argv);
        assertEquals(List.of(ProcessHandle.current().info().arguments().orElseThrow()), argv.subList(1, argv.size()),
                "the arguments the JDK sees");
    }

    @Test
    void cmdlineKeepsEveryArgumentWhole() throws Exception {
        // a shell waiting on its stdin (a pipe this JVM holds open), with an empty argument and one with a space;
        // not "sleep 30 ''": coreutils' sleep refuses the empty interval and ends at once
        List<String> given = List.of("sh", "-c", "read line", "sh", "", "two words");
        Process p = new ProcessBuilder(given).start();
        try {
            List<String> argv = awaitExec(p.pid(), "sh");
            assertEquals(given, argv);
        } finally {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void cmdlineOfAProcessGoneIsEmpty() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor(5, TimeUnit.SECONDS);
        assertEquals(List.of(), ProcStat.cmdline(p.pid()), "a reaped process");
        assertEquals(List.of(), ProcStat.cmdline(Long.MAX_VALUE), "a pid that cannot exist");
        assertEquals(List.of(), ProcStat.cmdline(-1), "no pid at all");
    }

    @Test
    void cmdlineOfAKernelThreadIsEmpty() {
        // kthreadd (pid 2, parent 0) is where kernel threads come from; inside a PID namespace it may not be seen
        ProcStat kthreadd = ProcStat.of(2);
        assumeTrue(kthreadd != null && kthreadd.ppid() == 0, "no kernel thread visible here (a PID namespace)");
        assertEquals(List.of(), ProcStat.cmdline(2));
    }

    /** The child's cmdline is the JVM's until it has exec'd. */
    private static List<String> awaitExec(long pid, String argv0) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<String> argv = ProcStat.cmdline(pid);
        while ((argv.isEmpty() || !argv.get(0).equals(argv0)) && System.nanoTime() < deadline) {
            Thread.sleep(5);
            argv = ProcStat.cmdline(pid);
        }
        return argv;
    }
}
