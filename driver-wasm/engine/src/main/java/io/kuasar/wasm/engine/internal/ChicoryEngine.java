package io.kuasar.wasm.engine.internal;

import io.kuasar.wasm.engine.InvalidModuleException;
import io.kuasar.wasm.engine.LaunchSpec;
import io.kuasar.wasm.engine.ModuleRuns;
import io.kuasar.wasm.engine.WasmEngine;
import io.kuasar.wasm.engine.WasmRun;
import io.kuasar.wasm.engine.internal.fs.Resolution;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Optional;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * The Chicory engine as an OSGi service. Settings are framework (or system) properties, read once: this component
 * has no configuration that could make DS re-create it, because re-creating it would end every running module.
 * <ul>
 * <li>{@code kuasar.wasm.compile} (true): Chicory's runtime compiler (wasm to JVM bytecode, once per module); false
 * runs the interpreter.</li>
 * <li>{@code kuasar.wasm.max.running} (256): modules running at once; one thread each.</li>
 * <li>{@code kuasar.wasm.module.cache} (32): prepared modules kept.</li>
 * <li>{@code kuasar.wasm.stack.kb} (4096): stack of a module's thread (deep wasm recursion runs on it).</li>
 * <li>{@code kuasar.wasm.heap.share} (0.5): share of the maximum heap all linear memories may take together.</li>
 * </ul>
 */
@Component(service = WasmEngine.class, immediate = true)
public final class ChicoryEngine implements WasmEngine {
    private static final Logger LOG = System.getLogger(ChicoryEngine.class.getName());

    private final ModuleCache modules;
    private final HeapBudget budget;
    private final Resolution resolution;
    private final ModuleRuns<ChicoryRun> runs;

    @Activate
    public ChicoryEngine(BundleContext context) {
        this(Boolean.parseBoolean(prop(context, "kuasar.wasm.compile", "true")),
                Integer.parseInt(prop(context, "kuasar.wasm.max.running", "256")),
                Integer.parseInt(prop(context, "kuasar.wasm.module.cache", "32")),
                Long.parseLong(prop(context, "kuasar.wasm.stack.kb", "4096")) * 1024,
                HeapBudget.ofMaxHeap(Double.parseDouble(prop(context, "kuasar.wasm.heap.share", "0.5"))));
        LOG.log(Level.INFO, "wasm engine: " + describe());
    }

    /** For tests and the benchmark, without OSGi. */
    public ChicoryEngine(boolean compile, int maxRunning, int cachedModules, long stackBytes) {
        this(compile, maxRunning, cachedModules, stackBytes, HeapBudget.ofMaxHeap(0.5));
    }

    ChicoryEngine(boolean compile, int maxRunning, int cachedModules, long stackBytes, HeapBudget budget) {
        this(compile, maxRunning, cachedModules, stackBytes, budget, Resolution.AUTO);
    }

    /** With the preopened directories' path resolution forced (tests run WASI through each). */
    public ChicoryEngine(boolean compile, int maxRunning, int cachedModules, long stackBytes, Resolution resolution) {
        this(compile, maxRunning, cachedModules, stackBytes, HeapBudget.ofMaxHeap(0.5), resolution);
    }

    private ChicoryEngine(boolean compile, int maxRunning, int cachedModules, long stackBytes, HeapBudget budget,
                          Resolution resolution) {
        this.budget = budget;
        this.resolution = resolution;
        this.modules = new ModuleCache(compile, cachedModules, 1);
        this.runs = new ModuleRuns<>(maxRunning, stackBytes, "wasm-", "kuasar.wasm.max.running");
    }

    private static String prop(BundleContext context, String key, String fallback) {
        String v = context == null ? null : context.getProperty(key);
        return v == null || v.isBlank() ? System.getProperty(key, fallback) : v.trim();
    }

    @Override
    public String prepare(Path module) throws InvalidModuleException, IOException {
        return modules.prepare(module).digest();
    }

    @Override
    public WasmRun launch(LaunchSpec spec) throws InvalidModuleException, IOException {
        PreparedModule prepared = modules.prepare(spec.module());
        return runs.launch(spec.key(), "wasm", onEnd -> new ChicoryRun(spec, prepared, budget, resolution, onEnd));
    }

    @Override
    public Optional<WasmRun> find(String key) {
        return runs.find(key);
    }

    @Override
    public Collection<WasmRun> runs() {
        return new ArrayList<>(runs.all());
    }

    @Override
    public void release(String key) {
        runs.release(key);
    }

    @Override
    public String describe() {
        return (modules.compiles() ? "compiled" : "interpreted") + ", " + runs.running() + "/" + runs.maxRunning()
                + " modules running, " + modules.size() + " prepared, linear memory " + (budget.usedBytes() >> 20)
                + "/" + (budget.limitBytes() >> 20) + " MiB of the heap";
    }

    /** Only when the engine bundle itself stops (node shutdown): its modules cannot outlive their threads' owner. */
    @Deactivate
    public void deactivate() {
        for (ChicoryRun r : runs.all()) {
            r.kill(ModuleRuns.SIGKILL);
        }
    }
}
