package io.kuasar.wasm.engine.internal;

import com.dylibso.chicory.compiler.MachineFactoryCompiler;
import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import com.dylibso.chicory.wasm.types.ExternalType;
import com.dylibso.chicory.wasm.types.Import;
import io.kuasar.wasm.engine.InvalidModuleException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Semaphore;

/**
 * Modules prepared once per content digest and kept for the next container of the same image (most recently used
 * first, at most {@code capacity}). Compilation is CPU- and memory-hungry, so at most {@code parallel} modules are
 * compiled at a time; everything else waits.
 */
final class ModuleCache {
    static final String WASI_MODULE = "wasi_snapshot_preview1";

    private final boolean compile;
    private final int capacity;
    private final Semaphore compilers;
    private final Map<String, PreparedModule> byDigest = new LinkedHashMap<>(16, 0.75f, true);

    ModuleCache(boolean compile, int capacity, int parallel) {
        this.compile = compile;
        this.capacity = Math.max(1, capacity);
        this.compilers = new Semaphore(Math.max(1, parallel));
    }

    boolean compiles() {
        return compile;
    }

    synchronized int size() {
        return byDigest.size();
    }

    PreparedModule prepare(Path file) throws IOException, InvalidModuleException {
        byte[] bytes = Files.readAllBytes(file);
        String digest = digest(bytes);
        synchronized (this) {
            PreparedModule p = byDigest.get(digest);
            if (p != null) {
                return p;
            }
        }
        try {
            compilers.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting to compile " + file, e);
        }
        try {
            synchronized (this) { // another caller may have compiled it while this one waited
                PreparedModule p = byDigest.get(digest);
                if (p != null) {
                    return p;
                }
            }
            PreparedModule p = build(file, bytes, digest);
            synchronized (this) {
                byDigest.put(digest, p);
                while (byDigest.size() > capacity) {
                    byDigest.remove(byDigest.keySet().iterator().next());
                }
            }
            return p;
        } finally {
            compilers.release();
        }
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

    static String digest(byte[] bytes) {
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no SHA-256 in this JVM", e);
        }
    }
}
