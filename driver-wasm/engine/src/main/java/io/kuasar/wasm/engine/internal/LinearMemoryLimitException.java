package io.kuasar.wasm.engine.internal;

import com.dylibso.chicory.wasm.ChicoryException;

/** A module grew its linear memory past the container's memory limit: the run ends as OOM-killed. */
final class LinearMemoryLimitException extends ChicoryException {
    private static final long serialVersionUID = 1L;

    LinearMemoryLimitException(String message) {
        super(message);
    }
}
