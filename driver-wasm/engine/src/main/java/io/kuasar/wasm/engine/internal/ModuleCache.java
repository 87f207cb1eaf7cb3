package io.kuasar.wasm.engine.internal;

import com.dylibso.chicory.compiler.MachineFactoryCompiler;
import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import com.dylibso.chicory.wasm.types.ExternalType;
import com.dylibso.chicory.wasm.types.Import;
import io.kuasar.wasm.engine.InvalidModuleException;
import io.kuasar.wasm.engine.PreparedModules;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Chicory's modules, parsed, checked and (when {@code compile}) compiled once per content digest
 * ({@link PreparedModules}).
 */
final class ModuleCache {
    static final String WASI_MODULE = "wasi_snapshot_preview1";

    private final boolean compile;
    private final PreparedModules<PreparedModule> byDigest;

    ModuleCache(boolean compile, int capacity, int parallel) {
        this.compile = compile;
        this.byDigest = new PreparedModules<>(capacity, parallel);
    }

    boolean compiles() {
        return compile;
    }

    int size() {
        return byDigest.size();
    }

    PreparedModule prepare(Path file) throws IOException, InvalidModuleException {
        return byDigest.prepare(file, this::build);
    }

    private PreparedModule build(Path file, byte[] bytes, String digest) throws InvalidModuleException {
        long t0 = System.nanoTime();
        WasmModule module;
        try {
            module = Parser.parse(bytes);
        } catch (RuntimeException e) {
            throw new InvalidModuleException(file + " is not a valid WebAssembly module: " + e.getMessage(), e);
        }
        check(file, module);
        try {
            return new PreparedModule(digest, module, compile ? MachineFactoryCompiler.compile(module) : null,
                    System.nanoTime() - t0);
        } catch (RuntimeException | LinkageError e) {
            throw new InvalidModuleException("cannot compile " + file + ": " + e, e);
        }
    }

    /** A WASI command: exports _start and imports nothing but WASI preview 1 functions. */
    static void check(Path file, WasmModule module) throws InvalidModuleException {
        boolean start = false;
        var exports = module.exportSection();
        for (int i = 0; i < exports.exportCount(); i++) {
            var e = exports.getExport(i);
            start |= "_start".equals(e.name()) && e.exportType() == ExternalType.FUNCTION;
        }
        if (!start) {
            throw new InvalidModuleException(file + " is not a WASI command module: it exports no _start function", null);
        }
        var imports = module.importSection();
        for (int i = 0; i < imports.importCount(); i++) {
            Import im = imports.getImport(i);
            if (!WASI_MODULE.equals(im.module()) || im.importType() != ExternalType.FUNCTION) {
                throw new InvalidModuleException(file + " imports " + im.module() + "." + im.name()
                        + ", which this engine does not provide (only " + WASI_MODULE + " functions)", null);
            }
        }
    }
}
