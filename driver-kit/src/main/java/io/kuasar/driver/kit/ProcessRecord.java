package io.kuasar.driver.kit;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskState;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * One process of a container as the Task API sees it: its init (execId empty) or an exec, with pid, status, exit and
 * the future that waiters get. The monitor guards pid, status and exit; a driver subclasses it for what its
 * technology adds (start time, the helper process standing for it, ...) and may synchronize on it too.
 *
 * <p>The exit is recorded and the waiters completed in two steps, so a driver can persist and publish the exit in
 * between: waiters must never learn of an exit that a restarted driver would not find again.
 *
 * <p>Start and Kill of one process are ordered as the stock runc shim orders them (one lock per process): a Kill
 * that arrives while a Start runs waits for it ({@link #startBegins}, {@link #startEnds}, {@link #beforeSignal}), so
 * it reaches the process being started. containerd sends such a Kill when an ExecSync times out or its caller gives
 * up during Start; answered "not started" instead, containerd deletes the exec and its process runs on unowned.
 */
public class ProcessRecord {
    public final String execId;
    public final Stdio stdio;
    private long pid;
    private TaskState.Status status = TaskState.Status.CREATED;
    private ExitStatus exit;
    private final CompletableFuture<ExitStatus> exited = new CompletableFuture<>();
    private boolean starting;
    /** The signal of a Kill that came before any Start of this exec: it will never be started. */
    private int killedBeforeStart;

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

    /**
     * A Start of this process begins; call {@link #startEnds} when it has its pid or failed. FAILED_PRECONDITION
     * when a Kill came first ({@link #beforeSignal}): a process containerd already asked to kill is not started.
     */
    public synchronized void startBegins(String what) throws SandboxException {
        if (killedBeforeStart != 0) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, what
                    + " was killed (signal " + killedBeforeStart + ") before it started; it will not be started");
        }
        starting = true;
    }

    /** The Start begun by {@link #startBegins} is over, whichever way it went; wakes a waiting Kill. */
    public synchronized void startEnds() {
        starting = false;
        notifyAll();
    }

    /**
     * What Kill does before it signals: waits up to {@code max} while a Start runs, then returns the pid to signal.
     * An exec that has not been started, and is not starting, is marked never to start and FAILED_PRECONDITION is
     * thrown (the stock shim's answer for an exec without a process); NOT_FOUND once the process has exited.
     */
    public synchronized long beforeSignal(String what, int signal, Duration max) throws SandboxException {
        long end = System.nanoTime() + max.toNanos();
        while (starting && exit == null) {
            long left = end - System.nanoTime();
            if (left <= 0) {
                throw new SandboxException(SandboxException.Code.DEADLINE_EXCEEDED,
                        what + " is still being started after " + max.toSeconds() + " s; signal " + signal + " not sent");
            }
            try {
                wait(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SandboxException(SandboxException.Code.CANCELLED, "interrupted while " + what + " starts");
            }
        }
        if (exit != null) {
            throw SandboxException.notFound("process", what + " (already finished)");
        }
        if (pid <= 0) {
            if (!execId.isEmpty()) {
                killedBeforeStart = signal;
            }
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, what + " has no process yet");
        }
        return pid;
    }

    /** Started: past CREATED. @since 1.8 */
    public synchronized boolean started() {
        return status != TaskState.Status.CREATED;
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
