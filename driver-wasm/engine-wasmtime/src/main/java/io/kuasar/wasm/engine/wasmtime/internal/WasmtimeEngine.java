package io.kuasar.wasm.engine.wasmtime.internal;

import io.kuasar.wasm.engine.InvalidModuleException;
import io.kuasar.wasm.engine.LaunchSpec;
import io.kuasar.wasm.engine.ModuleRuns;
import io.kuasar.wasm.engine.WasmEngine;
import io.kuasar.wasm.engine.WasmRun;
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
 * Wasmtime (through wasmtime-java's JNI) as an OSGi service of the engine API, told apart from the Chicory engine by
 * the service property {@code kuasar.wasm.engine=wasmtime}. As the Chicory engine, it has no configuration DS could
 * re-create it for (that would end every running module); settings are framework (or system) properties:
 * <ul>
 * <li>{@code kuasar.wasmtime.max.running} (256): modules running at once; one thread each.</li>
 * <li>{@code kuasar.wasmtime.module.cache} (32): checked modules kept in memory (their machine code is in
 * Wasmtime's compilation cache, in this bundle's data area).</li>
 * <li>{@code kuasar.wasmtime.stack.kb} (8192): stack of a module's thread; Wasmtime runs the module on it.</li>
 * </ul>
 */
@Component(service = WasmEngine.class, immediate = true, property = WasmtimeEngine.ENGINE_PROPERTY + "=wasmtime")
public final class WasmtimeEngine implements WasmEngine {
    /** The service property that names the engine; the driver selects this one by it. */
    public static final String ENGINE_PROPERTY = "kuasar.wasm.engine";
    private static final Logger LOG = System.getLogger(WasmtimeEngine.class.getName());

    private final CompiledModules modules;
    private final ModuleRuns<WasmtimeRun> runs;
    private final LibC libc = PreopenedDirs.libc();

    @Activate
    public WasmtimeEngine(BundleContext context) throws IOException {
        this(context.getDataFile("wasmtime-cache").toPath(),
                Integer.parseInt(prop(context, "kuasar.wasmtime.max.running", "256")),
                Integer.parseInt(prop(context, "kuasar.wasmtime.module.cache", "32")),
                Long.parseLong(prop(context, "kuasar.wasmtime.stack.kb", "8192")) * 1024);
        LOG.log(Level.INFO, "wasmtime engine: " + describe());
    }

    /** For tests and the benchmark, without OSGi: {@code cacheDir} holds Wasmtime's compiled code. */
    public WasmtimeEngine(Path cacheDir, int maxRunning, int cachedModules, long stackBytes) throws IOException {
        this.modules = new CompiledModules(cacheDir, cachedModules);
        this.runs = new ModuleRuns<>(maxRunning, stackBytes, "wasmtime-", "kuasar.wasmtime.max.running");
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
        CompiledModules.Checked checked = modules.prepare(spec.module());
        return runs.launch(spec.key(), "wasmtime", onEnd -> new WasmtimeRun(spec, modules, checked, libc, onEnd));
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
        long abandoned = runs.all().stream().filter(WasmtimeRun::abandoned).count();
        return "Wasmtime (wasmtime-java JNI), " + runs.running() + "/" + runs.maxRunning() + " modules running"
                + (abandoned == 0 ? "" : ", " + abandoned + " killed but still in a WASI call") + ", "
                + modules.size() + " prepared";
    }

    /** Only when this bundle itself stops (node shutdown): its modules cannot outlive their threads' owner. */
    @Deactivate
    public void deactivate() {
        for (WasmtimeRun r : runs.all()) {
            r.kill(ModuleRuns.SIGKILL);
        }
    }
}
