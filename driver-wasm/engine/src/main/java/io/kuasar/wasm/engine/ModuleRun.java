package io.kuasar.wasm.engine;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * For engines: what every run of a module is, whatever runs it: the launch it came from, the thread it runs on, the
 * first signal a kill asked for, and its outcome, completed once.
 *
 * @since 1.1
 */
public abstract class ModuleRun implements ModuleRuns.Run {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    protected final LaunchSpec spec;
    protected final CompletableFuture<RunOutcome> outcome = new CompletableFuture<>();
    private final Instant startedAt = Instant.now();
    protected volatile Thread thread;
    /** The signal of the first kill, 0 while none came. */
    protected volatile int killSignal;
    /** The thread's CPU time, set once the run has ended ({@link #recordCpu}); -1 before. */
    protected volatile long finalCpuNanos = -1;

    protected ModuleRun(LaunchSpec spec) {
        this.spec = spec;
    }

    @Override
    public final void bind(Thread t) {
        this.thread = t;
    }

    @Override
    public final String key() {
        return spec.key();
    }

    @Override
    public final Instant startedAt() {
        return startedAt;
    }

    @Override
    public final CompletionStage<RunOutcome> outcome() {
        return outcome.copy();
    }

    @Override
    public final boolean ended() {
        return outcome.isDone();
    }

    /** Records the first kill's signal; false when there is nothing to do (signal 0, or the run has ended). */
    protected final boolean recordKill(int signal) {
        if (signal <= 0 || outcome.isDone()) {
            return false;
        }
        if (killSignal == 0) {
            killSignal = signal;
        }
        return true;
    }

    /** The outcome of a run a kill ended: 128 + the first kill's signal (SIGKILL when none was recorded). */
    protected final RunOutcome killed() {
        int sig = killSignal == 0 ? ModuleRuns.SIGKILL : killSignal;
        return new RunOutcome(128 + sig, RunOutcome.Reason.KILLED, "", Instant.now());
    }

    /** The outcome of a module that exited with {@code code} (proc_exit, or returning from _start: 0). */
    protected static RunOutcome exited(int code) {
        return new RunOutcome(code, RunOutcome.Reason.EXITED, "", Instant.now());
    }

    /** CPU time of the run's thread so far, or in total once recorded at its end. */
    @Override
    public long cpuNanos() {
        long f = finalCpuNanos;
        if (f >= 0) {
            return f;
        }
        Thread t = thread;
        long v = t == null ? -1 : THREADS.getThreadCpuTime(t.getId());
        return Math.max(0, v);
    }

    /** On the run's own thread, as it ends: its CPU time, kept for {@link #cpuNanos} once the thread is gone. */
    protected final void recordCpu() {
        finalCpuNanos = Math.max(0, THREADS.getThreadCpuTime(Thread.currentThread().getId()));
    }
}
