package io.kuasar.wasm.engine;

import java.time.Instant;
import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ProviderType;

/** One running (or finished, not yet released) module. */
@ProviderType
public interface WasmRun {
    String key();

    Instant startedAt();

    /** Completes once when the module has ended, however it ended. */
    CompletionStage<RunOutcome> outcome();

    /**
     * Ends the module as the signal would end a process without handlers (WASI has none): the run's thread is
     * interrupted and the code checks the flag at every call and loop, so even an endless loop ends promptly with
     * 128 + signal. Ignored once ended; signal 0 only asks whether it runs.
     */
    void kill(int signal);

    /** CPU time the module's thread used so far (or in total, once ended), nanoseconds. */
    long cpuNanos();

    /** Bytes of linear memory the module has now (its peak once ended). */
    long memoryBytes();
}
