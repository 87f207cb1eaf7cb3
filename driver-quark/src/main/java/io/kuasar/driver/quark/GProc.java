package io.kuasar.driver.quark;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskState;
import java.util.concurrent.CompletableFuture;

/**
 * One process of a container in a gVisor sandbox: its init (execId empty) or an exec. Its host-side stand-in is a
 * runsc helper (runsc wait for an init, runsc exec for an exec) whose end tells the exit code. The monitor guards
 * pid, status and exit.
 */
final class GProc {
    final String execId;
    final Stdio stdio;
    private long pid;
    private TaskState.Status status = TaskState.Status.CREATED;
    private ExitStatus exit;
    private final CompletableFuture<ExitStatus> exited = new CompletableFuture<>();
    /** The runsc helper standing for the process (runsc wait or runsc exec), null when none runs. */
    volatile Process helper;
    /** Pid inside the sandbox, for runsc kill --pid (exec processes only); 0 when unknown. */
    volatile long sandboxPid;

    GProc(String execId, Stdio stdio) {
        this.execId = execId == null ? "" : execId;
        this.stdio = stdio == null ? Stdio.NONE : stdio;
    }

    synchronized void created(long pid) {
        this.pid = pid;
    }

    synchronized void running() {
        if (exit == null) {
            status = TaskState.Status.RUNNING;
        }
    }

    synchronized long pid() {
        return pid;
    }

    synchronized TaskState.Status status() {
        return status;
    }

    synchronized ExitStatus exit() {
        return exit;
    }

    synchronized boolean started() {
        return status != TaskState.Status.CREATED;
    }

    /** Records the exit once; false when one was already recorded. */
    synchronized boolean recordExit(ExitStatus e) {
        if (exit != null) {
            return false;
        }
        exit = e;
        status = TaskState.Status.STOPPED;
        return true;
    }

    void completeWaiters() {
        ExitStatus e = exit();
        if (e != null) {
            exited.complete(e);
        }
    }

    /** A copy, so one caller cancelling it cannot disturb other waiters. */
    CompletableFuture<ExitStatus> waitFor() {
        return exited.copy();
    }

    /** Restores a persisted init process. */
    synchronized void restore(long pid, TaskState.Status status, ExitStatus exit) {
        this.pid = pid;
        this.status = status;
        this.exit = exit;
        if (exit != null) {
            this.status = TaskState.Status.STOPPED;
            exited.complete(exit);
        }
    }
}
