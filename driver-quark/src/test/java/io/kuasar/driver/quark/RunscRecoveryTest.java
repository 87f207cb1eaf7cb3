package io.kuasar.driver.quark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TaskState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real gVisor pod driven through the SPI without containerd: a driver instance that goes away leaves the
 * sandbox running, and the next one re-attaches from the persisted state, still sees the container running and
 * collects its exit code. Needs root, runsc and busybox (skipped otherwise).
 */
class RunscRecoveryTest {
    @TempDir
    Path tmp;

    @Test
    void aNewDriverInstanceReattachesAndCollectsTheExit() throws Exception {
        RealGvisor gvisor = RealGvisor.require(tmp);
        List<TaskEvent> events = new CopyOnWriteArrayList<>();
        Path out = tmp.resolve("out.log");

        RunscDriver first = gvisor.driver(events::add);
        first.create(RealGvisor.pod("rpod"));
        long sandboxPid = first.start("rpod").pid();
        TaskService tasks = first.tasks("rpod");
        tasks.create(gvisor.container("c1", out));
        tasks.start("c1", "");
        first.deactivate();
        assertTrue(ProcessHandle.of(sandboxPid).map(ProcessHandle::isAlive).orElse(false), "sandbox outlives the driver");

        RunscDriver second = gvisor.driver(events::add);
        try {
            List<SandboxStatus> recovered = List.copyOf(second.recover());
            assertEquals(1, recovered.size());
            assertEquals(SandboxStatus.State.READY, recovered.get(0).state());
            TaskService again = second.tasks("rpod");
            assertEquals(TaskState.Status.RUNNING, again.state("c1", "").status());
            again.kill("c1", "", 9, false);
            ExitStatus exit = again.waitFor("c1", "").toCompletableFuture().get(20, TimeUnit.SECONDS);
            assertEquals(137, exit.code(), "SIGKILL seen by the new instance");
            assertTrue(Files.readString(out).contains("up"), "container output went to its stdout file");
            again.delete("c1", "");
            second.stop("rpod", Duration.ofSeconds(1));
            second.shutdown("rpod");
            assertFalse(Files.exists(tmp.resolve("run/quark/runsc/pods/rpod")), "pod files removed");
            assertTrue(events.stream().anyMatch(e -> e instanceof TaskEvent.Exited x && x.exit().code() == 137));
        } finally {
            second.deactivate();
        }
    }
}
