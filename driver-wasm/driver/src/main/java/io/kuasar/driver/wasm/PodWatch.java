package io.kuasar.driver.wasm;

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

    /** Handover: waits for a report under way (made holding this object's monitor), after which none runs. */
    synchronized void release() {
        released = true;
    }
}
