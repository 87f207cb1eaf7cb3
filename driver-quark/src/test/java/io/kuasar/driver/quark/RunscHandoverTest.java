package io.kuasar.driver.quark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.ExecSpec;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TaskState;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.function.Executable;

/**
 * The handover of one real gVisor pod between two driver instances on one state directory, as at an upgrade: the
 * leaving instance releases it, the successor adopts it. The successor serves its containers and an exec and learns
 * their exits, also one that happened while neither watched; the leaving instance reports no exit of it (its runsc waits end
 * when it lets go), answers NOT_FOUND, and its deactivation leaves the pod alone. Needs root, runsc and busybox
 * (skipped otherwise).
 */
class RunscHandoverTest {
    @TempDir
    Path tmp;

    @Test
    void theSuccessorServesTheReleasedPodAndLearnsEveryExit() throws Exception {
        RealGvisor gvisor = RealGvisor.require(tmp);
        List<TaskEvent> seenByLeaving = new CopyOnWriteArrayList<>();
        List<TaskEvent> seenBySuccessor = new CopyOnWriteArrayList<>();
        RunscDriver leaving = gvisor.driver(seenByLeaving::add);
        RunscDriver successor = gvisor.driver(seenBySuccessor::add);
        try {
            leaving.create(RealGvisor.pod("hpod"));
            long sandboxPid = leaving.start("hpod").pid();
            TaskService before = leaving.tasks("hpod");
            for (String c : List.of("runs-on", "ends-meanwhile")) {
                before.create(gvisor.container(c, tmp.resolve("out.log")));
                before.start(c, "");
            }
            before.exec(new ExecSpec("runs-on", "sleeper", Stdio.NONE, RealGvisor.process("exec /bin/busybox sleep 300")));
            before.start("runs-on", "sleeper");

            leaving.release("hpod");
            notFound(() -> leaving.status("hpod", false));
            notFound(() -> leaving.tasks("hpod"));
            // ends between release and adopt: nobody watches it
            gvisor.runscOf("hpod", "kill", "ends-meanwhile", "9");
            awaitStopped(gvisor, "ends-meanwhile");

            SandboxStatus adopted = successor.adopt("hpod");
            assertEquals(SandboxStatus.State.READY, adopted.state());
            assertEquals(sandboxPid, adopted.pid());
            TaskService after = successor.tasks("hpod");
            assertEquals(137, after.waitFor("ends-meanwhile", "").toCompletableFuture().get(20, TimeUnit.SECONDS)
                    .code(), "the exit while nobody watched, learnt by the successor");
            leaving.deactivate();
            assertTrue(ProcessHandle.of(sandboxPid).map(ProcessHandle::isAlive).orElse(false),
                    "the sandbox outlives the leaving instance");
            assertEquals(TaskState.Status.RUNNING, after.state("runs-on", "").status());
            assertEquals(TaskState.Status.RUNNING, after.state("runs-on", "sleeper").status());

            // the exec's runsc exec helper is the leaving instance's child: its exit is handed over in a file
            after.kill("runs-on", "sleeper", 9, false);
            assertEquals(137, after.waitFor("runs-on", "sleeper").toCompletableFuture().get(20, TimeUnit.SECONDS)
                    .code(), "the exec's exit, which the leaving instance saw");
            after.kill("runs-on", "", 9, false);
            assertEquals(137, after.waitFor("runs-on", "").toCompletableFuture().get(20, TimeUnit.SECONDS).code());
            assertEquals(List.of("ends-meanwhile/:137", "runs-on/:137", "runs-on/sleeper:137"),
                    exits(seenBySuccessor));
            assertEquals(List.of(), exits(seenByLeaving), "no exit, true or false, from the instance that let go");
            for (String c : List.of("runs-on", "ends-meanwhile")) {
                after.delete(c, "");
            }
            successor.stop("hpod", Duration.ofSeconds(1));
            successor.shutdown("hpod");
        } finally {
            leaving.deactivate();
            successor.deactivate();
        }
    }

    private static void notFound(Executable call) {
        assertEquals(SandboxException.Code.NOT_FOUND, assertThrows(SandboxException.class, call).code());
    }

    /** Exited events as "container/exec:code", sorted. */
    private static List<String> exits(List<TaskEvent> events) {
        return events.stream().filter(e -> e instanceof TaskEvent.Exited).map(e -> (TaskEvent.Exited) e)
                .map(x -> x.containerId() + "/" + x.execId() + ":" + x.exit().code()).sorted().toList();
    }

    /** Until runsc reports the container stopped (a SIGKILL is delivered asynchronously); fails after 20 s. */
    private static void awaitStopped(RealGvisor gvisor, String id) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!gvisor.runscOf("hpod", "state", id).replace(" ", "").contains("\"status\":\"stopped\"")) {
            assertTrue(System.nanoTime() < deadline, id + " still not stopped 20 s after SIGKILL");
            Thread.sleep(50);
        }
    }
}
