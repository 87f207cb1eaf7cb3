package io.kuasar.wasm.engine;

/** The file is not a WebAssembly module the engine can run (bad bytes, missing _start, unknown imports). */
public class InvalidModuleException extends Exception {
    private static final long serialVersionUID = 1L;

    public InvalidModuleException(String message, Throwable cause) {
        super(message, cause);
    }
}
