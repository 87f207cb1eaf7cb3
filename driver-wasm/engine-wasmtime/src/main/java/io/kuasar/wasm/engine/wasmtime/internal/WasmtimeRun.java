package io.kuasar.wasm.engine.wasmtime.internal;

import io.github.kawamuray.wasmtime.Engine;
import io.github.kawamuray.wasmtime.Extern;
import io.github.kawamuray.wasmtime.Func;
import io.github.kawamuray.wasmtime.ImportType;
import io.github.kawamuray.wasmtime.Instance;
import io.github.kawamuray.wasmtime.Linker;
import io.github.kawamuray.wasmtime.Memory;
import io.github.kawamuray.wasmtime.Module;
import io.github.kawamuray.wasmtime.Store;
import io.github.kawamuray.wasmtime.Trap;
import io.github.kawamuray.wasmtime.WasmFunctionError;
import io.github.kawamuray.wasmtime.wasi.DirCaps;
import io.github.kawamuray.wasmtime.wasi.FileCaps;
import io.github.kawamuray.wasmtime.wasi.WasiCtx;
import io.github.kawamuray.wasmtime.wasi.WasiCtxBuilder;
import io.kuasar.wasm.engine.LaunchSpec;
import io.kuasar.wasm.engine.ModuleRun;
import io.kuasar.wasm.engine.ModuleRuns;
import io.kuasar.wasm.engine.RunOutcome;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One module running on its own thread, in a Store of an Engine of its own. Whatever it does, the run ends in a
 * {@link RunOutcome}: proc_exit, a kill (the engine's epoch is bumped past the store's deadline of 1: Wasmtime
 * traps at the next function entry or loop back-edge), a trap, a stack overflow or an engine failure.
 * <p>
 * A kill cannot reach a module blocked inside a WASI call (a sleep in poll_oneoff, a read): Wasmtime checks the
 * epoch in wasm code only. Such a run is reported killed after {@link #KILL_GRACE} and its thread left to end by
 * itself when the call returns into wasm code, where the epoch ends it.
 */
final class WasmtimeRun extends ModuleRun {
    static final int SIGKILL = ModuleRuns.SIGKILL;
    static final Duration KILL_GRACE = Duration.ofSeconds(2);
    private static final Duration RELAY_DRAIN = Duration.ofSeconds(5);
    private static final Set<DirCaps> READ_ONLY_DIR = EnumSet.of(DirCaps.OPEN, DirCaps.READDIR, DirCaps.READLINK,
            DirCaps.PATH_FILESTAT_GET, DirCaps.FILESTAT_GET);
    private static final Set<FileCaps> READ_ONLY_FILE = EnumSet.of(FileCaps.READ, FileCaps.SEEK, FileCaps.TELL,
            FileCaps.FILESTAT_GET, FileCaps.POLL_READWRITE, FileCaps.ADVISE, FileCaps.FDSTAT_SET_FLAGS);

    private final CompiledModules modules;
    private final CompiledModules.Checked checked;
    private final LibC libc;
    private final Runnable onEnd;
    private final long capPages;
    private volatile Engine engine;
    private volatile LinearMemoryMapping mapping;
    private volatile boolean threadEnded;
    private volatile long peakBytes;
    private volatile OutputRelay stdout;
    private volatile OutputRelay stderr;

    WasmtimeRun(LaunchSpec spec, CompiledModules modules, CompiledModules.Checked checked, LibC libc,
                Runnable onEnd) {
        super(spec);
        this.libc = libc;
        this.modules = modules;
        this.checked = checked;
        this.onEnd = onEnd;
        this.capPages = spec.memoryLimitBytes() <= 0 ? 0
                : Math.max(1, Math.min(65536, spec.memoryLimitBytes() / ModuleBinary.PAGE));
    }

    /** Reported ended by a kill while its thread still waits in a WASI call. */
    boolean abandoned() {
        return outcome.isDone() && !threadEnded;
    }

    @Override
    public void kill(int signal) {
        if (!recordKill(signal)) {
            return;
        }
        Engine e = engine; // read after the flag: a run that has no engine yet sees the flag before it calls _start
        if (e != null) {
            e.incrementEpoch();
        }
        CompletableFuture.delayedExecutor(KILL_GRACE.toMillis(), TimeUnit.MILLISECONDS).execute(() -> {
            if (!threadEnded && !outcome.isDone()) {
                for (OutputRelay r : new OutputRelay[] {stdout, stderr}) {
                    if (r != null) {
                        r.abandon(); // containerd stops reading the container's FIFOs only once they are closed
                    }
                }
                finalCpuNanos = cpuNanos();
                outcome.complete(killed());
            }
        });
    }

    /** While the module runs: its accessible linear memory (the peak once ended, or when it cannot be read). */
    @Override
    public long memoryBytes() {
        LinearMemoryMapping m = mapping;
        if (m != null) {
            long now = m.accessibleBytes();
            if (mapping != null && now > 0) { // still mapped after the read: the figure is this run's
                peakBytes = Math.max(peakBytes, now);
                return now;
            }
        }
        return peakBytes;
    }

    @Override
    public void run() {
        RunOutcome result;
        try {
            result = execute();
        } catch (RuntimeException | Error failure) {
            result = classify(failure);
        }
        recordCpu();
        threadEnded = true;
        awaitRelays();
        if (!result.message().isEmpty() && !outcome.isDone()) {
            note(result);
        }
        onEnd.run(); // frees the slot before waiters learn of the end, so a follow-up launch finds room
        outcome.complete(result);
    }

    private RunOutcome execute() {
        if (killSignal != 0) {
            return killed();
        }
        WasiCtx wasi = null;
        try (PreopenedDirs dirs = PreopenedDirs.open(libc, spec.preopens())) {
            WasiCtxBuilder b = new WasiCtxBuilder().args(spec.args());
            spec.env().forEach(b::env);
            if (!spec.stdin().isEmpty()) {
                b.stdin(Path.of(spec.stdin()));
            }
            if (!spec.stdout().isEmpty()) {
                stdout = OutputRelay.open(libc, spec.stdout(), "wasmtime-out-" + spec.key());
                b.stdout(stdout.writeEnd());
            }
            if (!spec.stderr().isEmpty()) {
                stderr = OutputRelay.open(libc, spec.stderr(), "wasmtime-err-" + spec.key());
                b.stderr(stderr.writeEnd());
            }
            wasi = b.build(); // opens the stdio paths
            int fd = 3; // the preopens follow stdio, in order, as wasi-libc expects
            for (PreopenedDirs.Dir d : dirs.dirs()) {
                wasi.insertDir(fd++, d.forWasmtime(), d.readOnly() ? READ_ONLY_DIR : EnumSet.allOf(DirCaps.class),
                        d.readOnly() ? READ_ONLY_FILE : EnumSet.allOf(FileCaps.class), Path.of(d.guest()));
            } // Wasmtime has opened its own descriptors of the directories: the checked ones can go
        } catch (IOException | RuntimeException e) {
            if (wasi != null) {
                wasi.dispose(); // its descriptors: the relays end when the last write end closes
            }
            releaseWriteEnds();
            return new RunOutcome(1, RunOutcome.Reason.FAILED,
                    "the engine could not open the module's files or directories: " + e.getMessage(), Instant.now());
        }
        releaseWriteEnds();
        List<Runnable> disposals = new ArrayList<>();
        Engine e = modules.newEngine();
        disposals.add(e::dispose);
        try {
            Store<Void> s = new Store<>(null, e, wasi);
            disposals.add(0, s::dispose);
            s.setEpochDeadline(1);
            Linker linker = new Linker(e);
            disposals.add(0, linker::dispose);
            WasiCtx.addToLinker(linker);
            Module module = CompiledModules.compile(spec.module(), e, checked.binary().withMemoryCap(capPages));
            disposals.add(0, module::dispose);
            List<Extern> imports = new ArrayList<>();
            for (ImportType im : module.imports()) {
                imports.add(linker.get(s, im.module(), im.name()).orElseThrow(() -> new IllegalStateException(
                        "WASI function " + im.module() + "." + im.name() + " is not provided by wasmtime-java's WASI")));
            }
            Instance instance = new Instance(s, module, imports);
            disposals.add(0, instance::dispose);
            Func start = instance.getFunc(s, "_start").orElseThrow();
            disposals.add(0, start::dispose);
            Memory memory = instance.getMemory(s, "memory").orElse(null);
            if (memory != null) {
                peakBytes = (long) memory.size(s) * ModuleBinary.PAGE;
                mapping = LinearMemoryMapping.of(memory.buffer(s));
                // on this thread, once the call has returned, Wasmtime itself answers (reading the maps is slower)
                disposals.add(0, () -> peakBytes = Math.max(peakBytes, (long) memory.size(s) * ModuleBinary.PAGE));
            }
            engine = e; // published after the deadline is set: a kill from now on bumps the epoch past it
            if (killSignal != 0) {
                return killed();
            }
            start.call(s);
            return exited(0);
        } catch (WasmFunctionError.I32ExitError exit) {
            return exited(exit.exitCode());
        } catch (Exception | Error failure) {
            return classify(failure);
        } finally {
            mapping = null; // the final size is the first of the disposals
            disposals.forEach(Runnable::run);
        }
    }

    private void releaseWriteEnds() {
        for (OutputRelay r : new OutputRelay[] {stdout, stderr}) {
            if (r != null) {
                r.releaseWriteEnd();
            }
        }
    }

    /** After the module's end: everything it wrote is copied (bounded: a FIFO nobody reads would hold it). */
    private void awaitRelays() {
        try {
            for (OutputRelay r : new OutputRelay[] {stdout, stderr}) {
                if (r != null && !r.awaitEnd(RELAY_DRAIN.toMillis())) {
                    r.abandon();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** What ended the module; a requested kill wins over the INTERRUPT trap it caused. */
    private RunOutcome classify(Throwable t) {
        if (t instanceof WasmFunctionError.I32ExitError exit) {
            return exited(exit.exitCode());
        }
        if (killSignal != 0) {
            return killed();
        }
        if (t instanceof WasmFunctionError.TrapError trap) {
            Trap kind = trap.trap();
            String what = kind == Trap.STACK_OVERFLOW ? "call stack exhausted" : kind.name().toLowerCase();
            return new RunOutcome(134, RunOutcome.Reason.TRAPPED, "trap: " + what, Instant.now());
        }
        if (t instanceof io.kuasar.wasm.engine.InvalidModuleException) {
            return new RunOutcome(1, RunOutcome.Reason.FAILED, t.getMessage(), Instant.now());
        }
        return new RunOutcome(1, RunOutcome.Reason.FAILED, "the engine could not run the module: " + t, Instant.now());
    }

    /**
     * Tells the container's log why it ended when the module could not say so itself. Wasmtime has closed its own
     * stderr by now; this appends to the same file or FIFO.
     */
    private void note(RunOutcome r) {
        if (spec.stderr().isEmpty()) {
            return;
        }
        try (OutputStream err = new FileOutputStream(spec.stderr(), true)) {
            err.write(("kuasar-wasmtime: " + r.message() + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException ignored) {
            // the reader is gone: the outcome still carries the message
        }
    }
}
