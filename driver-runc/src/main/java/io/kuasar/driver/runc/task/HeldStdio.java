package io.kuasar.driver.runc.task;

import io.kuasar.driver.kit.FifoHold;
import io.kuasar.spi.Stdio;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The output FIFOs of containers whose Create a crash cut off, held open until the Create the keeper replays has
 * made the container again. The half-made process held containerd's only writers: removed without a hold,
 * containerd would stop reading, and the replayed Create would block for ever opening the FIFOs.
 */
final class HeldStdio {
    /** How long the replayed Create may take to come: the keeper resends it as soon as the new JVM serves. */
    static final Duration HOLD = Duration.ofMinutes(2);

    private final Map<String, FifoHold> held = new ConcurrentHashMap<>();

    /** Holds the container's output FIFOs until {@link #release} or {@link #HOLD} passes. */
    void hold(String containerId, Stdio stdio) {
        FifoHold hold = FifoHold.of(stdio);
        if (hold.size() == 0) {
            return;
        }
        FifoHold before = held.put(containerId, hold);
        if (before != null) {
            before.close();
        }
        CompletableFuture.delayedExecutor(HOLD.toSeconds(), TimeUnit.SECONDS).execute(() -> {
            if (held.remove(containerId, hold)) {
                hold.close();
            }
        });
    }

    void release(String containerId) {
        FifoHold hold = held.remove(containerId);
        if (hold != null) {
            hold.close();
        }
    }
}
