package io.kuasar.driver.wasm;

import com.fasterxml.jackson.databind.JsonNode;
import io.kuasar.driver.kit.StdioRedirects;
import io.kuasar.spi.SandboxException;
import io.kuasar.wasm.engine.InvalidModuleException;
import io.kuasar.wasm.engine.LaunchSpec;
import io.kuasar.wasm.engine.RunOutcome;
import io.kuasar.wasm.engine.WasmEngine;
import io.kuasar.wasm.engine.WasmRun;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;

/**
 * Sandboxers {@code wasm} and {@code wasmtime}: modules run inside the node on an engine bundle's engine (Chicory;
 * Wasmtime through JNI; see io.kuasar.wasm.engine), which keeps them, not this driver: an upgraded driver finds each
 * running container's run by its key {@code sandbox/container}. A run the engine does not know ran in a JVM that is
 * gone (kill -9, crash, node restart): it is reported as killed with that reason, never left running.
 */
final class InNodeBackend implements WasmBackend {
    /** The exit status of a module whose JVM died under it: as if killed with SIGKILL, which is what happened. */
    static final int LOST_CODE = 137;

    private final String sandboxer;
    private final WasmEngine engine;

    InNodeBackend(String sandboxer, WasmEngine engine) {
        this.sandboxer = sandboxer;
        this.engine = engine;
    }

    @Override
    public String sandboxer() {
        return sandboxer;
    }

    static String key(WasmPod pod, WasmContainer c) {
        return pod.id + "/" + c.id;
    }

    @Override
    public void prepare(WasmPod pod, WasmContainer c) throws SandboxException {
        try {
            engine.prepare(Path.of(c.plan.module()));
        } catch (InvalidModuleException e) {
            throw SandboxException.invalid(e.getMessage());
        } catch (IOException e) {
            throw SandboxException.internal("cannot read the wasm module " + c.plan.module(), e);
        }
    }

    /** The modules are threads of the node, each capped by its engine when it started: there is no pod to cap. */
    @Override
    public void capPod(WasmPod pod, JsonNode resources) throws SandboxException {
        throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "update of sandbox " + pod.id
                + ": its modules run on threads of the node, each with the memory cap its engine fixed at start;"
                + " there is no pod-wide place for linux.resources");
    }

    /** The module is a thread of the node: there is no process whose stdio a terminal could be. */
    @Override
    public String noTerminal() {
        return "its module runs on a thread of the node, not in a process of its own that a terminal could be given"
                + " to (WASI preview 1 has no terminal calls either); use the wasmedge sandboxer for a tty";
    }

    @Override
    public Started start(WasmPod pod, WasmContainer c) throws SandboxException {
        LaunchPlan p = c.plan;
        Map<String, Path> preopens = new LinkedHashMap<>();
        p.preopens().forEach((guest, host) -> preopens.put(guest, Path.of(host)));
        String refusedBy = "the " + sandboxer + " sandboxer";
        String in = StdioRedirects.path(c.init.stdio.stdin(), "stdin", refusedBy);
        String out = StdioRedirects.path(c.init.stdio.stdout(), "stdout", refusedBy);
        String err = StdioRedirects.path(c.init.stdio.stderr(), "stderr", refusedBy);
        LaunchSpec spec = new LaunchSpec(key(pod, c), Path.of(p.module()), p.args(), p.envMap(), preopens,
                in, out, err, p.memoryLimit());
        WasmRun run;
        try {
            engine.release(spec.key()); // a record of an earlier attempt with this key (start is not repeated otherwise)
            run = engine.launch(spec);
        } catch (InvalidModuleException e) {
            throw SandboxException.invalid(e.getMessage());
        } catch (RejectedExecutionException e) {
            throw new SandboxException(SandboxException.Code.RESOURCE_EXHAUSTED, e.getMessage());
        } catch (IOException | RuntimeException e) {
            throw SandboxException.internal("cannot start the wasm module of " + c.id, e);
        }
        return new Started(ProcessHandle.current().pid(),
                WasmBackend.watch(run.outcome().toCompletableFuture(), InNodeBackend::ending));
    }

    /**
     * The engine's outcome in the driver's terms. No switch on the engine's enum: that would make javac add a
     * synthetic class loaded at first use, which fails once this bundle was updated (an old instance's callback).
     */
    static Ending ending(RunOutcome o) {
        RunOutcome.Reason r = o.reason();
        if (r == RunOutcome.Reason.EXITED) {
            return new Ending(o.exitCode(), o.exitedAt(), o.exitCode() == 0 ? "Completed" : "Error", false);
        }
        if (r == RunOutcome.Reason.OOM_KILLED) {
            return new Ending(o.exitCode(), o.exitedAt(), "OOMKilled", true);
        }
        if (r == RunOutcome.Reason.KILLED) {
            return new Ending(o.exitCode(), o.exitedAt(), "Killed", false);
        }
        return new Ending(o.exitCode(), o.exitedAt(), o.message(), false);
    }

    /** Refused: the engine caps a module's linear memory when it instantiates it (its memory type's maximum). */
    @Override
    public void limitMemory(WasmPod pod, WasmContainer c, long bytes) throws SandboxException {
        throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "the memory limit of container " + c.id
                + " cannot change while it runs with the " + sandboxer + " sandboxer: its engine fixed the module's "
                + "memory cap when it started it (kuasar-wasmedge, a process per container, can change it)");
    }

    /**
     * Refused: the module runs on a thread of the node, and neither engine can stop one at an arbitrary point and
     * let it go on later (Chicory checks only for an interrupt, which ends the module; Wasmtime's epoch deadline
     * traps, and a trap cannot be resumed), while the JVM cannot freeze one thread of its own.
     */
    @Override
    public void pause(WasmPod pod, WasmContainer c, boolean paused) throws SandboxException {
        throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, (paused ? "pause" : "resume")
                + " of container " + c.id + " is not possible with the " + sandboxer + " sandboxer: its engine runs "
                + "the module on a thread of the node, which can be ended but not suspended (kuasar-wasmedge, a "
                + "process per container, can be paused)");
    }

    @Override
    public void kill(WasmPod pod, WasmContainer c, int signal) throws SandboxException {
        run(pod, c).kill(signal);
    }

    private WasmRun run(WasmPod pod, WasmContainer c) throws SandboxException {
        return engine.find(key(pod, c)).orElseThrow(() -> SandboxException.notFound("running module of container",
                c.id + " in sandbox " + pod.id));
    }

    @Override
    public Usage usage(WasmPod pod, WasmContainer c) throws SandboxException {
        WasmRun r = run(pod, c);
        return new Usage(r.cpuNanos(), r.memoryBytes(), r.memoryBytes());
    }

    @Override
    public CompletionStage<Ending> reattach(WasmPod pod, WasmContainer c) {
        Optional<WasmRun> run = engine.find(key(pod, c));
        if (run.isPresent()) {
            return WasmBackend.watch(run.get().outcome().toCompletableFuture(), InNodeBackend::ending);
        }
        return CompletableFuture.completedFuture(new Ending(LOST_CODE, Instant.now(),
                "the node JVM that ran this wasm module stopped (crash, kill -9 or restart): the module ended with it",
                false));
    }

    @Override
    public void release(WasmPod pod, WasmContainer c) {
        engine.release(key(pod, c));
    }

    @Override
    public void close() {
        // nothing of its own: the runs belong to the engine
    }
}
