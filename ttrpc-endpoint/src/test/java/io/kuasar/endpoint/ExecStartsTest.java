package io.kuasar.endpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.ExecSpec;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TaskSpec;
import io.kuasar.spi.TaskState;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ExecStartsTest {
    private static final Path SOCKET = Path.of("/run/test/task.sock");

    /** A task service whose exec Start blocks until released; it records kills and completes Wait on SIGKILL. */
    private static final class SlowStarts implements TaskService {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final List<String> calls = new CopyOnWriteArrayList<>();
        final CompletableFuture<ExitStatus> exit = new CompletableFuture<>();

        @Override
        public long start(String id, String execId) {
            calls.add("start " + execId);
            entered.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 42;
        }

        @Override
        public void kill(String id, String execId, int signal, boolean all) {
            calls.add("kill " + execId + " " + signal);
            exit.complete(new ExitStatus(42, 128 + signal, Instant.now()));
        }

        @Override
        public CompletionStage<ExitStatus> waitFor(String id, String execId) {
            return exit.copy();
        }

        @Override
        public long create(TaskSpec spec) {
            throw new UnsupportedOperationException();
        }

        @Override
        public ExitStatus delete(String id, String execId) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<ProcessInfo> pids(String id) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void exec(ExecSpec spec) {
            throw new UnsupportedOperationException();
        }

        @Override
        public TaskState state(String id, String execId) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void callsOnAnExecWaitForItsStartInFlight() throws Exception {
        ExecStarts starts = new ExecStarts();
        SlowStarts tasks = new SlowStarts();
        CompletableFuture<Long> start = CompletableFuture.supplyAsync(() -> call(starts, tasks, () -> false));
        assertTrue(tasks.entered.await(5, TimeUnit.SECONDS));
        CompletableFuture<Void> kill = CompletableFuture.runAsync(() -> starts.awaitStart(SOCKET, "c1", "e1"));
        Thread.sleep(100);
        assertFalse(kill.isDone(), "a Kill of e1 must wait for e1's Start");
        starts.awaitStart(SOCKET, "c1", "e2"); // another exec does not wait
        starts.awaitStart(Path.of("/run/other.sock"), "c1", "e1"); // nor the same ids in another sandbox
        tasks.release.countDown();
        assertEquals(42L, start.get(5, TimeUnit.SECONDS));
        kill.get(5, TimeUnit.SECONDS);
        assertEquals(List.of("start e1"), tasks.calls);
    }

    @Test
    void aStartWhoseCallerGaveUpKillsTheProcessAndAwaitsItsExit() {
        ExecStarts starts = new ExecStarts();
        SlowStarts tasks = new SlowStarts();
        tasks.release.countDown();
        SandboxException e = assertThrows(SandboxException.class,
                () -> starts.start(tasks, SOCKET, () -> true, "c1", "e1"));
        assertEquals(SandboxException.Code.DEADLINE_EXCEEDED, e.code());
        assertEquals(List.of("start e1", "kill e1 9"), tasks.calls);
        assertTrue(tasks.exit.isDone());
    }

    @Test
    void anInitStartIsNeitherTrackedNorUndone() throws Exception {
        ExecStarts starts = new ExecStarts();
        SlowStarts tasks = new SlowStarts();
        tasks.release.countDown();
        assertEquals(42L, starts.start(tasks, SOCKET, () -> true, "c1", ""));
        assertEquals(List.of("start "), tasks.calls);
    }

    private static long call(ExecStarts starts, SlowStarts tasks, java.util.function.BooleanSupplier gone) {
        try {
            return starts.start(tasks, SOCKET, gone, "c1", "e1");
        } catch (SandboxException e) {
            throw new IllegalStateException(e);
        }
    }
}
