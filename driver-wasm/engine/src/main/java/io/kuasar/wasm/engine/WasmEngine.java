package io.kuasar.wasm.engine;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import org.osgi.annotation.versioning.ProviderType;

/** Runs WASI (preview 1) command modules inside this JVM, one thread per running module. */
@ProviderType
public interface WasmEngine {
    /**
     * Parses, checks and compiles the module at {@code module} unless one with the same content was prepared
     * before; returns its content digest ({@code sha256:...}).
     */
    String prepare(Path module) throws InvalidModuleException, IOException;

    /**
     * Starts a module on a thread of its own. RejectedExecutionException when as many modules as the engine allows
     * already run; IllegalStateException when {@code spec.key()} is running already.
     */
    WasmRun launch(LaunchSpec spec) throws InvalidModuleException, IOException, RejectedExecutionException;

    /** The run with this key, running or finished and not yet released. */
    Optional<WasmRun> find(String key);

    /** Every run not yet released. */
    Collection<WasmRun> runs();

    /** Forgets a finished run (kills it first when it still runs). */
    void release(String key);

    /** One line for logs: mode (compiled/interpreted), limits, what runs. */
    String describe();
}
