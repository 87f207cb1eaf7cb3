package io.kuasar.wasm.engine;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.function.Function;

/**
 * For engines: the modules an engine runs, by key, at most {@code maxRunning} at a time, each on a thread of its own
 * with the given stack size. A run frees its slot when it ends (the {@code Runnable} given to its factory); it stays
 * listed until released.
 *
 * @param <R> the engine's run
 * @since 1.1
 */
public final class ModuleRuns<R extends ModuleRuns.Run> {
    /** A run as the table drives it: started on its thread, killed when released while it runs. */
    public interface Run extends WasmRun, Runnable {
        /** The thread the run executes on, given before it starts. */
        void bind(Thread thread);

        boolean ended();
    }

    /** The signal a release kills a running module with. */
    public static final int SIGKILL = 9;

    private final Map<String, R> runs = new ConcurrentHashMap<>();
    private final Semaphore slots;
    private final int maxRunning;
    private final long stackBytes;
    private final String threadPrefix;
    private final String limitName;

    /**
     * @param threadPrefix names each run's thread, before its key
     * @param limitName    the setting that raises {@code maxRunning}, named in refusals
     */
    public ModuleRuns(int maxRunning, long stackBytes, String threadPrefix, String limitName) {
        this.maxRunning = Math.max(1, maxRunning);
        this.slots = new Semaphore(this.maxRunning);
        this.stackBytes = stackBytes;
        this.threadPrefix = threadPrefix;
        this.limitName = limitName;
    }

    public int maxRunning() {
        return maxRunning;
    }

    /**
     * Makes the run of {@code key} ({@code make} gets what frees its slot when it ends) and starts it. Refused when
     * every slot is taken, or the key was launched already.
     */
    public R launch(String key, String engine, Function<Runnable, R> make) {
        if (!slots.tryAcquire()) {
            throw new RejectedExecutionException("the " + engine + " engine already runs " + maxRunning
                    + " modules (" + limitName + ")");
        }
        R run;
        try {
            run = make.apply(slots::release);
            if (runs.putIfAbsent(key, run) != null) {
                throw new IllegalStateException("a module with key " + key + " was launched already");
            }
        } catch (RuntimeException e) {
            slots.release();
            throw e;
        }
        Thread t = new Thread(null, run, threadPrefix + key, stackBytes);
        t.setDaemon(true);
        run.bind(t);
        t.start();
        return run;
    }

    public Optional<WasmRun> find(String key) {
        return Optional.ofNullable(runs.get(key));
    }

    public Collection<R> all() {
        return new ArrayList<>(runs.values());
    }

    /** Forgets the run of {@code key}, killing it first if it still runs. */
    public void release(String key) {
        R r = runs.remove(key);
        if (r != null && !r.ended()) {
            r.kill(SIGKILL);
        }
    }

    /** How many listed runs have not ended. */
    public long running() {
        return runs.values().stream().filter(r -> !r.ended()).count();
    }
}
