package io.kuasar.wasm.engine;

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
 * For engines: modules prepared (checked, compiled) once per content digest and kept for the next container of the
 * same image, most recently used first, at most {@code capacity}. Preparing is CPU- and memory-hungry, so at most
 * {@code parallel} modules are prepared at a time; the other callers wait, and one that waited for the same digest
 * gets what the first prepared.
 *
 * @param <M> what an engine keeps of a module
 * @since 1.1
 */
public final class PreparedModules<M> {
    /** Prepares the module read from {@code file}: refuses what the engine cannot run. */
    @FunctionalInterface
    public interface Preparer<M> {
        M prepare(Path file, byte[] bytes, String digest) throws InvalidModuleException;
    }

    private final int capacity;
    private final Semaphore preparing;
    private final Map<String, M> byDigest = new LinkedHashMap<>(16, 0.75f, true);

    public PreparedModules(int capacity, int parallel) {
        this.capacity = Math.max(1, capacity);
        this.preparing = new Semaphore(Math.max(1, parallel));
    }

    public synchronized int size() {
        return byDigest.size();
    }

    /** The module of {@code file}, prepared by {@code preparer} unless its digest was prepared before. */
    public M prepare(Path file, Preparer<M> preparer) throws IOException, InvalidModuleException {
        byte[] bytes = Files.readAllBytes(file);
        String digest = digest(bytes);
        M known = known(digest);
        if (known != null) {
            return known;
        }
        try {
            preparing.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting to compile " + file, e);
        }
        try {
            known = known(digest); // another caller may have prepared it while this one waited
            if (known != null) {
                return known;
            }
            M prepared = preparer.prepare(file, bytes, digest);
            synchronized (this) {
                byDigest.put(digest, prepared);
                while (byDigest.size() > capacity) {
                    byDigest.remove(byDigest.keySet().iterator().next());
                }
            }
            return prepared;
        } finally {
            preparing.release();
        }
    }

    private synchronized M known(String digest) {
        return byDigest.get(digest);
    }

    /** "sha256:" and the hex SHA-256 of {@code bytes}. */
    public static String digest(byte[] bytes) {
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no SHA-256 in this JVM", e);
        }
    }
}
