package io.kuasar.wasm.engine.wasmtime.internal;

import io.github.kawamuray.wasmtime.Config;
import io.github.kawamuray.wasmtime.Engine;
import io.github.kawamuray.wasmtime.ImportType;
import io.github.kawamuray.wasmtime.Module;
import io.kuasar.wasm.engine.InvalidModuleException;
import io.kuasar.wasm.engine.PreparedModules;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Modules checked and compiled once per content digest (and memory cap), kept for the next container of the same
 * image. Every run gets an Engine of its own, because Wasmtime interrupts on the engine's epoch and a kill must end
 * one module, not all; a compiled Module belongs to one Engine, so the machine code is shared through Wasmtime's own
 * compilation cache in {@code cacheDir} (keyed by the module's bytes and the engine settings, which are the same
 * for every engine made here): the first compile of a digest takes about 0.1-0.4 s, every later one about 1 ms.
 * Here only the checked bytes are kept (most recently used first, at most {@code capacity}); at most one module is
 * compiled at a time, since compiling is CPU-hungry.
 */
final class CompiledModules {
    static final String WASI_MODULE = "wasi_snapshot_preview1";

    /** A checked module: its digest and bytes as read. */
    record Checked(String digest, byte[] bytes, ModuleBinary binary) {
    }

    private final Path cacheConfig;
    private final PreparedModules<Checked> byDigest;

    /** {@code cacheDir}: where Wasmtime keeps compiled code; made when missing. */
    CompiledModules(Path cacheDir, int capacity) throws IOException {
        Files.createDirectories(cacheDir);
        this.cacheConfig = cacheDir.resolve("wasmtime-cache.toml");
        String dir = cacheDir.resolve("compiled").toAbsolutePath().toString()
                .replace("\\", "\\\\").replace("\"", "\\\"");
        Files.writeString(cacheConfig, "[cache]\nenabled = true\ndirectory = \"" + dir + "\"\n");
        this.byDigest = new PreparedModules<>(capacity, 1);
    }

    /** An engine for one run (or one check): epoch interruption on, the shared compilation cache. */
    Engine newEngine() {
        Config config = new Config().epochInterruption(true).cacheConfigLoad(cacheConfig);
        return new Engine(config);
    }

    int size() {
        return byDigest.size();
    }

    Checked prepare(Path file) throws IOException, InvalidModuleException {
        return byDigest.prepare(file, this::check);
    }

    /** A WASI command (exports _start, imports only WASI preview 1 functions) that Wasmtime compiles. */
    private Checked check(Path file, byte[] bytes, String digest) throws InvalidModuleException {
        ModuleBinary binary;
        try {
            binary = ModuleBinary.parse(bytes);
        } catch (IllegalArgumentException e) {
            throw new InvalidModuleException(file + " is not a WebAssembly module: " + e.getMessage(), e);
        }
        if (binary.exports().stream().noneMatch(x -> x.kind() == 0 && x.name().equals("_start"))) {
            throw new InvalidModuleException(file + " is not a WASI command module: it exports no _start function",
                    null);
        }
        Engine engine = newEngine();
        Module module = null;
        try {
            module = compile(file, engine, bytes);
            for (ImportType im : module.imports()) {
                if (!WASI_MODULE.equals(im.module()) || im.type() != ImportType.Type.FUNC) {
                    throw new InvalidModuleException(file + " imports " + im.module() + "." + im.name()
                            + ", which this engine does not provide (only " + WASI_MODULE + " functions)", null);
                }
            }
            return new Checked(digest, bytes, binary);
        } finally {
            if (module != null) {
                module.dispose();
            }
            engine.dispose();
        }
    }

    /** Compiles on {@code engine} (from the cache when compiled before); refusals name the file. */
    static Module compile(Path file, Engine engine, byte[] bytes) throws InvalidModuleException {
        try {
            return Module.fromBinary(engine, bytes);
        } catch (RuntimeException e) {
            throw new InvalidModuleException("Wasmtime cannot compile " + file + ": " + e.getMessage(), e);
        }
    }
}
