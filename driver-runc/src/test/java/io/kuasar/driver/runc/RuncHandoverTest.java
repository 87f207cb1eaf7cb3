package io.kuasar.driver.runc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.driver.kit.Commands;
import io.kuasar.spi.ExecSpec;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TaskState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.function.Executable;

/**
 * A sandbox handed from one driver instance to its successor in the same JVM (an upgrade), against real runc: the
 * leaving instance releases it, the successor adopts it from the same state dir, and from then on the successor
 * alone watches, reaps and reports its processes, including one that ended while neither held the sandbox.
 */
@EnabledIf(value = "io.kuasar.driver.runc.RuncTestBed#possible", disabledReason = RuncTestBed.NEEDS)
class RuncHandoverTest {
    private final List<TaskEvent> eventsOfA = new CopyOnWriteArrayList<>();
    private final List<TaskEvent> eventsOfB = new CopyOnWriteArrayList<>();
    private RuncTestBed bed;
    private RuncDriver a;
    private RuncDriver b;

    @BeforeEach
    void setUp() throws Exception {
        bed = new RuncTestBed();
    }

    /** Whatever a failed test left: a driver that recovers the state dir removes it. */
    @AfterEach
    void tearDown() throws Exception {
        for (RuncDriver d : new RuncDriver[] {b, a}) {
            if (d != null) {
                d.close();
            }
        }
        RuncDriver rest = newDriver(new CopyOnWriteArrayList<>());
        try {
            rest.recover();
            rest.shutdown("pod1");
        } catch (SandboxException e) {
            // shut down by the test already
        } finally {
            rest.close();
            bed.close();
        }
    }

    @Test
    void theAdopterAloneServesTheSandboxAndReportsItsExitsAfterTheRelease() throws Exception {
        a = newDriver(eventsOfA);
        a.create(bed.pod("pod1", "uid-h"));
        a.start("pod1");
        TaskService tasksOfA = a.tasks("pod1");
        long pid1 = startSleeping(tasksOfA, "c1"); // ends after the handover
        long pid2 = startSleeping(tasksOfA, "c2"); // ends between release and adopt
        long pid3 = startSleeping(tasksOfA, "c3"); // runs on through A's deactivation
        CompletionStage<ExitStatus> waitOnA = tasksOfA.waitFor("c1", "");

        a.release("pod1");
        int eventsBeforeRelease = eventsOfA.size();
        assertNotFound(() -> a.status("pod1", false));
        assertNotFound(() -> a.tasks("pod1"));
        assertNotFound(() -> tasksOfA.state("c1", "")); // a task service kept past the release
        assertNotFound(() -> a.release("pod1"));

        Commands.run(List.of("kill", "-9", Long.toString(pid2)), 10);
        awaitZombie(pid2); // exited, and nobody reaped it: its status waits for the adopter

        b = newDriver(eventsOfB);
        assertNotFound(() -> b.adopt("no-such-pod"));
        assertEquals(SandboxStatus.State.READY, b.adopt("pod1").state());
        TaskService tasksOfB = b.tasks("pod1");
        assertEquals(137, tasksOfB.waitFor("c2", "").toCompletableFuture().get(10, TimeUnit.SECONDS).code(),
                "the exit while nobody held the sandbox, collected by the adopter");
        assertExited(eventsOfB, "c2", 137);
        assertEquals(TaskState.Status.RUNNING, tasksOfB.state("c1", "").status());

        tasksOfB.kill("c1", "", 9, false);
        assertEquals(137, tasksOfB.waitFor("c1", "").toCompletableFuture().get(10, TimeUnit.SECONDS).code());
        assertExited(eventsOfB, "c1", 137);
        assertFalse(waitOnA.toCompletableFuture().isDone(), "a Wait asked of the leaving instance never completes");

        a.close(); // deactivated once it holds no sandbox: the pod runs on, served by B
        a = null;
        assertTrue(ProcessHandle.of(pid3).map(ProcessHandle::isAlive).orElse(false), "c3 still runs");
        assertEquals(TaskState.Status.RUNNING, tasksOfB.state("c3", "").status());
        tasksOfB.exec(new ExecSpec("c3", "e1", Stdio.NONE, bed.processJson("exit 7")));
        tasksOfB.start("c3", "e1");
        assertEquals(7, tasksOfB.waitFor("c3", "e1").toCompletableFuture().get(10, TimeUnit.SECONDS).code());
        b.stop("pod1", Duration.ofSeconds(2));
        assertEquals(143, tasksOfB.waitFor("c3", "").toCompletableFuture().get(1, TimeUnit.SECONDS).code());
        b.shutdown("pod1");

        assertEquals(eventsBeforeRelease, eventsOfA.size(), "no event from the leaving instance after the release: "
                + eventsOfA.subList(eventsBeforeRelease, eventsOfA.size()));
        for (long pid : new long[] {pid1, pid2, pid3}) {
            assertFalse(Files.exists(Path.of("/proc/" + pid)), "pid " + pid + " reaped");
        }
        assertEquals(List.of(), RuncTestBed.listTree(bed.paths.runDir("runc").resolve("runc")), "no runc state");
        assertEquals(List.of(), RuncTestBed.listTree(bed.paths.stateDir("runc")), "no state file");
    }

    private RuncDriver newDriver(List<TaskEvent> events) {
        return new RuncDriver(events::add, bed.paths, RuncTestBed.NO_KEEPER, RuncTestBed.settings());
    }

    private long startSleeping(TaskService tasks, String id) throws Exception {
        long pid = tasks.create(bed.task(id, "", "", "exec sleep 1000"));
        assertEquals(pid, tasks.start(id, ""));
        return pid;
    }

    private static void assertNotFound(Executable call) {
        assertEquals(SandboxException.Code.NOT_FOUND, assertThrows(SandboxException.class, call).code());
    }

    private static void assertExited(List<TaskEvent> events, String container, int code) {
        assertTrue(events.stream().anyMatch(e -> e instanceof TaskEvent.Exited x && x.containerId().equals(container)
                && x.exit().code() == code), "Exited " + code + " of " + container + " in " + events);
    }

    /** Waits until {@code pid} is a zombie (state Z in /proc/PID/stat); fails when it is gone (reaped) or runs on. */
    private static void awaitZombie(long pid) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String state = "";
        while (System.nanoTime() < deadline) {
            try {
                String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
                state = stat.substring(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
            } catch (NoSuchFileException e) {
                throw new AssertionError("pid " + pid + " was reaped while no instance held its sandbox");
            }
            if (state.equals("Z")) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("pid " + pid + " did not exit: state " + state);
    }
}
