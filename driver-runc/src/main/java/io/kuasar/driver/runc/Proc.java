package io.kuasar.driver.runc;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskState;
import java.io.IOException;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;

/**
 * One process of a container: its init (execId empty) or an exec. The monitor guards pid, status and exit; the
 * exit watcher records the exit under it before reaping, and {@link #signal} checks under it, so a signal is never
 * sent to a pid that was already reaped (and possibly reused).
 */
final class Proc {
    final String execId;
    final Stdio stdio;
    private long pid;
    private long startTime;
    private TaskState.Status status = TaskState.Status.CREATED;
    private ExitStatus exit;
    private final CompletableFuture<ExitStatus> exited = new CompletableFuture<>();
    /** While set, an exit is recorded but not announced, so Created/Started always reach containerd first. */
    private boolean held;
    private boolean announcePending;

    Proc(String execId, Stdio stdio) {
        this.execId = execId == null ? "" : execId;
        this.stdio = stdio == null ? Stdio.NONE : stdio;
    }

    synchronized void created(long pid, long startTime) {
        this.pid = pid;
        this.startTime = startTime;
    }

    synchronized void running() {
        if (exit == null) {
            status = TaskState.Status.RUNNING;
        }
    }

    synchronized long pid() {
        return pid;
    }

    synchronized long startTime() {
        return startTime;
    }

    synchronized TaskState.Status status() {
        return status;
    }

    synchronized ExitStatus exit() {
        return exit;
    }

    synchronized boolean started() {
        return status != TaskState.Status.CREATED || (exit != null && pid > 0);
    }

    /** Records the exit once; false when one was already recorded. Completing the future is separate. */
    synchronized boolean recordExit(ExitStatus e) {
        if (exit != null) {
            return false;
        }
        exit = e;
        status = TaskState.Status.STOPPED;
        return true;
    }

    /** What {@link #exited} did. */
    enum Recorded { ALREADY, ANNOUNCE, HELD }

    /** Records the exit; says whether to announce it now or whether it is held back until {@link #release()}. */
    synchronized Recorded exited(ExitStatus e) {
        if (!recordExit(e)) {
            return Recorded.ALREADY;
        }
        if (held) {
            announcePending = true;
            return Recorded.HELD;
        }
        return Recorded.ANNOUNCE;
    }

    /** Holds back the announcement of an exit during create/start (until the matching event is published). */
    synchronized void hold() {
        held = true;
    }

    /** Ends {@link #hold()}; true when an exit happened meanwhile and must be announced now by the caller. */
    synchronized boolean release() {
        held = false;
        boolean pending = announcePending;
        announcePending = false;
        return pending;
    }

    /** Completes waiters with the recorded exit (after it was persisted and published). */
    void completeWaiters() {
        ExitStatus e = exit();
        if (e != null) {
            exited.complete(e);
        }
    }

    /** A copy, so a caller completing or cancelling it cannot disturb other waiters. */
    CompletableFuture<ExitStatus> waitFor() {
        return exited.copy();
    }

    /** kill(2) while the process is known to be unreaped (see the class comment). */
    synchronized void signal(String what, int signal) throws SandboxException {
        if (exit != null) {
            throw SandboxException.notFound("process", what + " (already finished)");
        }
        if (pid <= 0) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, what + " has no process yet");
        }
        try {
            Syscalls.kill(pid, signal);
        } catch (IOException e) {
            throw SandboxException.internal("cannot signal " + what, e);
        }
    }

    synchronized PersistedState.Process persisted() {
        return new PersistedState.Process(execId, stdio, pid, startTime, status.name(),
                exit == null ? 0 : exit.code(), exit == null ? null : exit.exitedAt().toString());
    }

    static Proc restore(PersistedState.Process p) {
        Proc proc = new Proc(p.execId(), p.stdio());
        proc.pid = p.pid();
        proc.startTime = p.startTime();
        proc.status = TaskState.Status.valueOf(p.status());
        if (p.exitedAt() != null) {
            proc.exit = new ExitStatus(p.pid(), p.exitCode(), Instant.parse(p.exitedAt()));
            proc.status = TaskState.Status.STOPPED;
            proc.exited.complete(proc.exit);
        }
        return proc;
    }
}
