package io.kuasar.driver.wasm;

import com.fasterxml.jackson.databind.JsonNode;
import io.kuasar.spi.SandboxException;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/** What differs between the engines: how a container's module is checked, run, stopped, measured and found again. */
interface WasmBackend {
    /** The sandboxer this backend serves (containerd's proxy plugin name). */
    String sandboxer();

    /**
     * Why this engine cannot give a container a terminal (a CRI {@code tty: true} container), or null when it can.
     * Asked at Task Create, before anything is made.
     */
    String noTerminal();

    /** Controller Update's pod-wide {@code linux.resources}, applied to the pod as a whole or refused saying why. */
    void capPod(WasmPod pod, JsonNode resources) throws SandboxException;

    /** At Task Create, with the plan made: refuse a module this engine cannot run (INVALID_ARGUMENT). */
    void prepare(WasmPod pod, WasmContainer c) throws SandboxException;

    /**
     * Starts the container's module; the stage completes once, when it has ended. Cancelling it (a handover) stops
     * this driver instance's watch, and leaves whatever records the end for the successor.
     */
    Started start(WasmPod pod, WasmContainer c) throws SandboxException;

    /** Delivers {@code signal} to a started, running container. */
    void kill(WasmPod pod, WasmContainer c, int signal) throws SandboxException;

    Usage usage(WasmPod pod, WasmContainer c) throws SandboxException;

    /** Sets a started, running container's memory limit (bytes; 0 for none). */
    void limitMemory(WasmPod pod, WasmContainer c, long bytes) throws SandboxException;

    /** Stops ({@code paused}) or continues every process of a started, running container. */
    void pause(WasmPod pod, WasmContainer c, boolean paused) throws SandboxException;

    /**
     * After a driver restart or upgrade: how the container recorded as running ends (at once when it ended while no
     * driver watched, or with the JVM that ran it). Cancelling the stage stops the watch, as for {@link #start}.
     */
    CompletionStage<Ending> reattach(WasmPod pod, WasmContainer c);

    /**
     * {@code source.thenApply(f)}, which when cancelled cancels {@code source} too: a watch this driver instance
     * gives up leaves nothing of it queued on what outlives the instance (an engine's run, a process's end).
     */
    static <T> CompletableFuture<Ending> watch(CompletableFuture<T> source, Function<T, Ending> f) {
        CompletableFuture<Ending> ending = source.thenApply(f);
        ending.whenComplete((e, failure) -> {
            if (ending.isCancelled()) {
                source.cancel(false);
            }
        });
        return ending;
    }

    /** Frees what start made (engine record, cgroup); the container has ended. */
    void release(WasmPod pod, WasmContainer c);

    /** Stops this backend's own threads; containers keep running. */
    void close();

    record Started(long pid, CompletionStage<Ending> ending) {
    }

    /** How a module ended: its exit status, why (CRI-style reason or a sentence), and whether it hit its memory limit. */
    record Ending(int code, Instant at, String reason, boolean oomKilled) {
    }

    /** CPU time (ns) and memory (bytes now and at peak) of a container. */
    record Usage(long cpuNanos, long memoryBytes, long peakBytes) {
    }
}
