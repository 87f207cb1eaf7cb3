package io.kuasar.wasm.engine.internal;

import com.dylibso.chicory.runtime.ChicoryInterruptedException;
import com.dylibso.chicory.runtime.ImportValues;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.TrapException;
import com.dylibso.chicory.wasi.WasiExitException;
import com.dylibso.chicory.wasi.WasiOptions;
import com.dylibso.chicory.wasi.WasiPreview1;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import io.kuasar.wasm.engine.LaunchSpec;
import io.kuasar.wasm.engine.ModuleRun;
import io.kuasar.wasm.engine.ModuleRuns;
import io.kuasar.wasm.engine.RunOutcome;
import io.kuasar.wasm.engine.internal.fs.ConfinedPreopens;
import io.kuasar.wasm.engine.internal.fs.Resolution;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;

/**
 * One module running on its own thread. Whatever the module does, the run ends in a {@link RunOutcome}: proc_exit,
 * a kill (interrupt flag, checked by Chicory's interpreter and compiled code at calls and loop back-edges), the
 * memory cap, a trap, a stack overflow or an engine failure; nothing it throws leaves this thread.
 */
final class ChicoryRun extends ModuleRun {
    static final int SIGKILL = ModuleRuns.SIGKILL;

    private final PreparedModule prepared;
    private final Runnable onEnd;
    private volatile CappedMemory memory;
    /** The container's memory limit in 64 KiB pages, 0 for none. */
    private final int capPages;

    private final HeapBudget budget;
    private final Resolution resolution;

    ChicoryRun(LaunchSpec spec, PreparedModule prepared, HeapBudget budget, Resolution resolution, Runnable onEnd) {
        super(spec);
        this.budget = budget;
        this.resolution = resolution;
        this.prepared = prepared;
        this.onEnd = onEnd;
        this.capPages = spec.memoryLimitBytes() <= 0 ? 0 : (int) Math.max(1,
                Math.min(65536, spec.memoryLimitBytes() / com.dylibso.chicory.runtime.Memory.PAGE_SIZE));
    }

    @Override
    public void kill(int signal) {
        if (!recordKill(signal)) {
            return;
        }
        Thread t = thread;
        if (t != null) {
            t.interrupt();
        }
    }

    @Override
    public long memoryBytes() {
        CappedMemory m = memory;
        if (m == null) {
            return 0;
        }
        return outcome.isDone() ? m.peakBytes() : m.bytes();
    }

    @Override
    public void run() {
        RunOutcome result;
        OutputStream err = null;
        try (InputStream in = openIn(spec.stdin()); OutputStream out = openOut(spec.stdout());
             OutputStream e = openOut(spec.stderr())) {
            err = e;
            result = execute(in, out, e);
            if (!result.message().isEmpty()) {
                note(e, result);
            }
        } catch (IOException | RuntimeException | Error failure) {
            result = classify(failure);
            note(err, result);
        } finally {
            CappedMemory m = memory;
            if (m != null) {
                m.free();
            }
            recordCpu();
        }
        onEnd.run(); // frees the slot before waiters learn of the end, so a follow-up launch finds room
        // A kill's interrupt has done its work; cleared so the waiters' callbacks, which run on this thread, can
        // use interruptible I/O (FileChannel writes of the driver's state would fail with ClosedByInterrupt).
        Thread.interrupted();
        outcome.complete(result);
    }

    private RunOutcome execute(InputStream in, OutputStream out, OutputStream err) {
        if (killSignal != 0) {
            return killed();
        }
        WasiOptions.Builder opts = WasiOptions.builder().withStdin(in).withStdout(out).withStderr(err)
                .withArguments(spec.args());
        for (Map.Entry<String, String> v : spec.env().entrySet()) {
            opts.withEnvironment(v.getKey(), v.getValue());
        }
        // Chicory's WASI layer resolves guest paths with java.nio on the Paths it is given: on host paths it would
        // follow the image's symlinks on the host (/hostroot -> /). It gets paths of confined file systems, whose
        // every lookup the kernel makes inside the preopened directory.
        ConfinedPreopens dirs;
        try {
            dirs = ConfinedPreopens.open(spec.preopens(), resolution);
        } catch (IOException | RuntimeException e) {
            return new RunOutcome(1, RunOutcome.Reason.FAILED,
                    "the engine could not open the module's directories: " + e.getMessage(), Instant.now());
        }
        dirs.directories().forEach(opts::withDirectory);
        try (dirs; WasiPreview1 wasi = WasiPreview1.builder().withOptions(opts.build()).build()) {
            Instance.Builder b = Instance.builder(prepared.module())
                    .withImportValues(ImportValues.builder().addFunction(wasi.toHostFunctions()).build())
                    .withMemoryFactory(this::memory)
                    .withStart(false);
            if (prepared.machines() != null) {
                b.withMachineFactory(prepared.machines());
            }
            Instance instance = b.build();
            instance.export("_start").apply();
            return exited(0);
        } catch (WasiExitException e) {
            return exited(e.exitCode());
        } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
            return classify(e);
        }
    }

    private CappedMemory memory(MemoryLimits limits) {
        CappedMemory m = new CappedMemory(limits, capPages, budget);
        memory = m;
        return m;
    }

    /** What an exception that ended the module means; a requested kill wins over whatever the interrupt caused. */
    private RunOutcome classify(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root
                && !(root instanceof LinearMemoryLimitException) && !(root instanceof WasiExitException)) {
            root = root.getCause();
        }
        if (root instanceof WasiExitException) {
            return exited(((WasiExitException) root).exitCode());
        }
        if (root instanceof LinearMemoryLimitException) {
            return new RunOutcome(128 + SIGKILL, RunOutcome.Reason.OOM_KILLED, root.getMessage(), Instant.now());
        }
        if (killSignal != 0 || t instanceof ChicoryInterruptedException || root instanceof InterruptedException) {
            return killed();
        }
        if (t instanceof OutOfMemoryError) {
            return new RunOutcome(128 + SIGKILL, RunOutcome.Reason.OOM_KILLED,
                    "the node's Java heap ran out while the module ran: " + t.getMessage(), Instant.now());
        }
        if (t instanceof StackOverflowError) {
            return new RunOutcome(134, RunOutcome.Reason.TRAPPED, "trap: call stack exhausted", Instant.now());
        }
        if (t instanceof TrapException || t instanceof com.dylibso.chicory.wasm.ChicoryException) {
            return new RunOutcome(134, RunOutcome.Reason.TRAPPED, "trap: " + t.getMessage(), Instant.now());
        }
        return new RunOutcome(1, RunOutcome.Reason.FAILED, "the engine could not run the module: " + t, Instant.now());
    }

    /** Tells the container's log why it ended when the module could not say so itself. */
    private void note(OutputStream err, RunOutcome r) {
        if (err == null || r.message().isEmpty()) {
            return;
        }
        try {
            err.write(("kuasar-wasm: " + r.message() + "\n").getBytes(StandardCharsets.UTF_8));
            err.flush();
        } catch (IOException ignored) {
            // the reader is gone: the outcome still carries the message
        }
    }

    private static InputStream openIn(String path) throws IOException {
        return path.isEmpty() ? InputStream.nullInputStream() : new FileInputStream(path);
    }

    private static OutputStream openOut(String path) throws IOException {
        return path.isEmpty() ? OutputStream.nullOutputStream() : new FileOutputStream(path, true);
    }
}
