package io.kuasar.wasm.engine.internal;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The share of the node's Java heap that linear memories of all running modules may take together. Linear memory
 * lives on the heap: without a bound, one module growing (or many small ones) would throw OutOfMemoryError at
 * random threads of the node, the endpoint's included. A grow that would pass the budget ends that module as
 * OOM-killed instead, and the node keeps serving.
 */
final class HeapBudget {
    private final long limitBytes;
    private final AtomicLong used = new AtomicLong();

    HeapBudget(long limitBytes) {
        this.limitBytes = limitBytes;
    }

    /** {@code share} of the JVM's maximum heap. */
    static HeapBudget ofMaxHeap(double share) {
        return new HeapBudget((long) (Runtime.getRuntime().maxMemory() * share));
    }

    long limitBytes() {
        return limitBytes;
    }

    long usedBytes() {
        return used.get();
    }

    /** Takes {@code bytes} more, or throws when that would pass the budget. */
    void take(long bytes) {
        long after = used.addAndGet(bytes);
        if (after > limitBytes) {
            used.addAndGet(-bytes);
            throw new LinearMemoryLimitException("the node's heap budget for wasm linear memory ("
                    + (limitBytes >> 20) + " MiB, kuasar.wasm.heap.share of -Xmx) is used up by running modules");
        }
    }

    void give(long bytes) {
        used.addAndGet(-bytes);
    }
}
