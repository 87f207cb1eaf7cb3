package io.kuasar.driver.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.Stdio;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The ordering of Start and Kill of one process (what containerd's ExecSync timeout relies on). */
class ProcessRecordTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static ProcessRecord exec() {
        return new ProcessRecord("e1", Stdio.NONE) {
        };
    }

    @Test
    void aKillDuringAStartWaitsForItAndGetsTheNewPid() throws Exception {
        ProcessRecord p = exec();
        p.startBegins("exec e1");
        CompletableFuture<Long> kill = CompletableFuture.supplyAsync(() -> {
            try {
                return p.beforeSignal("exec e1", 9, WAIT);
            } catch (SandboxException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(100);
        assertFalse(kill.isDone(), "the kill must wait for the start in flight");
        p.created(4321);
        p.running();
        p.startEnds();
        assertEquals(4321L, kill.get(5, TimeUnit.SECONDS));
    }

    @Test
    void aKillBeforeAnyStartIsRefusedAndTheExecThenNeverStarts() throws Exception {
        ProcessRecord p = exec();
        SandboxException kill = assertThrows(SandboxException.class, () -> p.beforeSignal("exec e1", 9, WAIT));
        assertEquals(SandboxException.Code.FAILED_PRECONDITION, kill.code());
        SandboxException start = assertThrows(SandboxException.class, () -> p.startBegins("exec e1"));
        assertEquals(SandboxException.Code.FAILED_PRECONDITION, start.code());
        assertTrue(start.getMessage().contains("killed (signal 9) before it started"), start.getMessage());
    }

    @Test
    void aStartThatFailedLeavesTheKillWithNothingToSignal() throws Exception {
        ProcessRecord p = exec();
        p.startBegins("exec e1");
        p.startEnds();
        SandboxException kill = assertThrows(SandboxException.class, () -> p.beforeSignal("exec e1", 15, WAIT));
        assertEquals(SandboxException.Code.FAILED_PRECONDITION, kill.code());
    }

    @Test
    void aKillAfterTheExitIsNotFound() throws Exception {
        ProcessRecord p = exec();
        p.startBegins("exec e1");
        p.created(77);
        p.running();
        p.startEnds();
        p.recordExit(new ExitStatus(77, 0, Instant.now()));
        SandboxException kill = assertThrows(SandboxException.class, () -> p.beforeSignal("exec e1", 9, WAIT));
        assertEquals(SandboxException.Code.NOT_FOUND, kill.code());
    }

    @Test
    void aStartThatNeverEndsFailsTheKillAfterItsWait() throws Exception {
        ProcessRecord p = exec();
        p.startBegins("exec e1");
        SandboxException kill = assertThrows(SandboxException.class,
                () -> p.beforeSignal("exec e1", 9, Duration.ofMillis(50)));
        assertEquals(SandboxException.Code.DEADLINE_EXCEEDED, kill.code());
    }

    @Test
    void anInitIsNeverMarkedByAKillBeforeItsStart() throws Exception {
        ProcessRecord init = new ProcessRecord("", Stdio.NONE) {
        };
        assertThrows(SandboxException.class, () -> init.beforeSignal("container c", 9, WAIT));
        init.startBegins("container c"); // still startable: only execs are refused after such a kill
        init.startEnds();
    }
}
