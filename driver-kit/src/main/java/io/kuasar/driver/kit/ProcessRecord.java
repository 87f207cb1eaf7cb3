package io.kuasar.driver.kit;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskState;
import java.util.concurrent.CompletableFuture;

/**
 * One process of a container as the Task API sees it: its init (execId empty) or an exec, with pid, status, exit and
 * the future that waiters get. The monitor guards pid, status and exit; a driver subclasses it for what its
 * technology adds (start time, the helper process standing for it, ...) and may synchronize on it too.
 *
 * <p>The exit is recorded and the waiters completed in two steps, so a driver can persist and publish the exit in
 * between: waiters must never learn of an exit that a restarted driver would not find again.
 */
public class ProcessRecord {
    public final String execId;
    public final Stdio stdio;
    private long pid;
    private TaskState.Status status = TaskState.Status.CREATED;
    private ExitStatus exit;
    private final CompletableFuture<ExitStatus> exited = new CompletableFuture<>();

    protected ProcessRecord(String execId, Stdio stdio) {
        this.execId = execId == null ? "" : execId;
        this.stdio = stdio == null ? Stdio.NONE : stdio;
    }

    /** The process exists (created, not yet started): its host pid. */
    public synchronized void created(long pid) {
        this.pid = pid;
    }

    /** Started; an exit recorded meanwhile wins (a short-lived process may exit before start returns). */
    public synchronized void running() {
        if (exit == null) {
            status = TaskState.Status.RUNNING;
        }
    }

    public synchronized long pid() {
        return pid;
    }

    public synchronized TaskState.Status status() {
        return status;
    }

    public synchronized ExitStatus exit() {
        return exit;
    }

    /** Records the exit once; false when one was already recorded. Completing the waiters is separate. */
    public synchronized boolean recordExit(ExitStatus e) {
        if (exit != null) {
            return false;
        }
        exit = e;
        status = TaskState.Status.STOPPED;
        return true;
    }

    /** Completes waiters with the recorded exit (after it was persisted and published). */
    public void completeWaiters() {
        ExitStatus e = exit();
        if (e != null) {
            exited.complete(e);
        }
    }

    /** A copy, so a caller completing or cancelling it cannot disturb other waiters. */
    public CompletableFuture<ExitStatus> waitFor() {
        return exited.copy();
    }

    /** Restores persisted state after a driver restart; a recorded exit completes the waiters at once. */
    public synchronized void restore(long pid, TaskState.Status status, ExitStatus exit) {
        this.pid = pid;
        this.status = status;
        this.exit = exit;
        if (exit != null) {
            this.status = TaskState.Status.STOPPED;
            exited.complete(exit);
        }
    }
}
