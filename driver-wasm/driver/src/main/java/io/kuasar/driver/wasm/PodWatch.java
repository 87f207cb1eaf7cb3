package io.kuasar.driver.wasm;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

/**
 * Whether this driver instance still reports one pod's exits: until it is deactivated (a newer instance re-attaches
 * to every pod) or hands the pod over to its successor. An exit is reported holding this object's monitor, so a
 * handover comes either before it (the successor finds the exit and reports it) or after it whole (the record the
 * successor reads has it).
 */
final class PodWatch {
    /** True once the driver instance was deactivated. */
    private final BooleanSupplier closed;
    private volatile boolean released;
    /** The watches of the pod's containers' ends not ended yet, cancelled at a handover. */
    private final Set<CompletableFuture<?>> watches = ConcurrentHashMap.newKeySet();

    PodWatch(BooleanSupplier closed) {
        this.closed = closed;
    }

    boolean watching() {
        return !released && !closed.getAsBoolean();
    }

    /** True once the pod was handed over: this instance no longer holds it. */
    boolean released() {
        return released;
    }

    /** Keeps {@code ending}, a container's end as its backend watches it, until it completes or a handover. */
    <T> CompletableFuture<T> add(CompletionStage<T> ending) {
        CompletableFuture<T> f = ending.toCompletableFuture();
        watches.add(f);
        f.whenComplete((t, failure) -> watches.remove(f));
        return f;
    }

    /**
     * Handover: waits for a report under way (made holding this object's monitor), after which none runs, and
     * cancels the watches, so that nothing of this instance waits on the processes and modules it handed over.
     */
    synchronized void release() {
        released = true;
        watches.forEach(w -> w.cancel(false));
    }
}
