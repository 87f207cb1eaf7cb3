package io.kuasar.driver.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskState;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The process and container records: exit recorded once, waiters completed separately, lookups and State. */
class ContainerRecordTest {
    static final class P extends ProcessRecord {
        P(String execId) {
            super(execId, null);
        }
    }

    static final class C extends ContainerRecord<P> {
        C() {
            super("c1", Path.of("/b"), List.of(), new P(null));
        }
    }

    @Test
    void exitIsRecordedOnceAndWaitersLearnItOnlyWhenCompleted() {
        P p = new P("");
        assertEquals(Stdio.NONE, p.stdio);
        p.created(42);
        p.running();
        CompletableFuture<ExitStatus> w = p.waitFor();
        ExitStatus first = new ExitStatus(42, 3, Instant.EPOCH);
        assertTrue(p.recordExit(first));
        assertFalse(p.recordExit(new ExitStatus(42, 9, Instant.EPOCH)));
        assertEquals(TaskState.Status.STOPPED, p.status());
        assertFalse(w.isDone(), "not before the driver persisted and published it");
        p.completeWaiters();
        assertSame(first, w.join());
        p.running();
        assertEquals(TaskState.Status.STOPPED, p.status(), "an exit wins over a late start");
    }

    @Test
    void cancellingOneWaiterLeavesTheOthers() {
        P p = new P("");
        p.waitFor().cancel(true);
        CompletableFuture<ExitStatus> other = p.waitFor();
        p.recordExit(new ExitStatus(1, 0, Instant.EPOCH));
        p.completeWaiters();
        assertEquals(0, other.join().code());
    }

    @Test
    void restoredExitCompletesWaiters() {
        P p = new P("e1");
        p.restore(7, TaskState.Status.RUNNING, new ExitStatus(7, 137, Instant.EPOCH));
        assertEquals(TaskState.Status.STOPPED, p.status());
        assertEquals(137, p.waitFor().join().code());
    }

    @Test
    void execsNeedARunningInitAndANewId() throws Exception {
        C c = new C();
        SandboxException notRunning = org.junit.jupiter.api.Assertions.assertThrows(SandboxException.class,
                c::requireRunning);
        assertEquals(SandboxException.Code.FAILED_PRECONDITION, notRunning.code());
        assertEquals("container c1 is not running", notRunning.getMessage());
        c.init.created(42);
        c.init.running();
        c.requireRunning();
        c.requireNewExec("e1");
        c.execs.put("e1", new P("e1"));
        SandboxException taken = org.junit.jupiter.api.Assertions.assertThrows(SandboxException.class,
                () -> c.requireNewExec("e1"));
        assertEquals(SandboxException.Code.ALREADY_EXISTS, taken.code());
        assertEquals("exec e1 already exists in container c1", taken.getMessage());
    }

    @Test
    void lookupsAndState() throws Exception {
        C c = new C();
        P e1 = new P("e1");
        c.execs.put("e1", e1);
        assertSame(c.init, c.proc(""));
        assertSame(c.init, c.proc(null));
        assertSame(e1, c.proc("e1"));
        assertEquals(SandboxException.Code.NOT_FOUND, assertThrows(SandboxException.class, () -> c.exec("nope")).code());
        assertEquals(Path.of("/b/rootfs"), c.rootfsDir());

        c.init.created(10);
        c.init.running();
        c.paused = true;
        TaskState s = c.state("");
        assertEquals(TaskState.Status.PAUSED, s.status());
        assertEquals("/b", s.bundle());
        assertEquals(10, s.pid());
        e1.recordExit(new ExitStatus(11, 2, Instant.EPOCH));
        TaskState x = c.state("e1");
        assertEquals(TaskState.Status.STOPPED, x.status(), "a stopped exec of a paused container stays STOPPED");
        assertEquals(2, x.exitStatus());
        assertEquals(Instant.EPOCH, x.exitedAt());
    }

    @Test
    void anExecIsRemovedWithItsFilesOnlyOnceItHasEnded(@org.junit.jupiter.api.io.TempDir Path work) throws Exception {
        C c = new C();
        P e1 = new P("e1");
        c.execs.put("e1", e1);
        java.nio.file.Files.writeString(work.resolve("exec-e1.json"), "{}");
        java.nio.file.Files.writeString(work.resolve("exec-e1.pid"), "42");
        SandboxException running = assertThrows(SandboxException.class, () -> c.removeExec("e1", work, p -> true));
        assertEquals(SandboxException.Code.FAILED_PRECONDITION, running.code());
        assertTrue(c.execs.containsKey("e1"), "a running exec stays");
        e1.recordExit(new ExitStatus(42, 5, Instant.EPOCH));
        assertEquals(5, c.removeExec("e1", work, p -> true).code());
        assertFalse(c.execs.containsKey("e1"));
        assertFalse(java.nio.file.Files.exists(work.resolve("exec-e1.json")));
        assertFalse(java.nio.file.Files.exists(work.resolve("exec-e1.pid")));
        c.execs.put("e2", new P("e2"));
        assertEquals(0, c.removeExec("e2", work, p -> false).code(), "never started: removed as exit 0");
    }
}
