package io.kuasar.wasm.engine.wasmtime.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;

/**
 * A run's preopened directories, each held as an O_PATH descriptor that this class checked reaches exactly the host
 * path the driver gave (no symbolic link on the way: the kernel's own name for it, /proc/self/fd/N, is that path).
 * Wasmtime's WASI (cap-std) is handed {@code /proc/self/fd/N}, not the path: it opens the directory this class
 * checked even if a link replaced a component since. Below a preopen, cap-std resolves every guest path beneath it
 * with openat2(RESOLVE_BENEATH) and refuses links that leave it, absolute ones included (EPERM), as WasmEdge does.
 */
final class PreopenedDirs implements AutoCloseable {
    private static final boolean AARCH64 = "aarch64".equals(System.getProperty("os.arch"));
    private static final int O_DIRECTORY = AARCH64 ? 040000 : 0200000;
    private static final int O_CLOEXEC = 02000000;
    private static final int O_PATH = 010000000;

    private static final int ST_RDONLY = 1;
    private static final int STATFS_FLAGS = 80;

    /** A checked directory: where Wasmtime should open it, and whether its mount is read-only. */
    record Dir(String guest, Path forWasmtime, boolean readOnly) {
    }

    private final LibC libc;
    private final Map<String, Integer> fds = new LinkedHashMap<>();

    private PreopenedDirs(LibC libc) {
        this.libc = libc;
    }

    /** Binds libc; jnr generates a class for it each time, so an engine does it once and keeps it. */
    static LibC libc() {
        return LibraryLoader.create(LibC.class).load("c");
    }

    /** Opens every {@code guest -> host} directory; IOException naming the first that is not what it claims. */
    static PreopenedDirs open(LibC libc, Map<String, Path> preopens) throws IOException {
        PreopenedDirs dirs = new PreopenedDirs(libc);
        try {
            for (Map.Entry<String, Path> p : preopens.entrySet()) {
                dirs.fds.put(p.getKey(), dirs.openChecked(p.getKey(), p.getValue()));
            }
            return dirs;
        } catch (IOException | RuntimeException e) {
            dirs.close();
            throw e;
        }
    }

    /** Links are followed by the open and then found by the check, so every link gets the same clear refusal. */
    private int openChecked(String guest, Path host) throws IOException {
        String want = host.toAbsolutePath().normalize().toString();
        byte[] utf8 = want.getBytes(StandardCharsets.UTF_8);
        byte[] path = Arrays.copyOf(utf8, utf8.length + 1);
        int fd = libc.open(path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0) {
            int errno = Runtime.getRuntime(libc).getLastError();
            throw new IOException("cannot open preopened directory " + guest + " (" + want + "): "
                    + libc.strerror(errno));
        }
        String reached = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
        if (!reached.equals(want)) {
            libc.close(fd);
            throw new IOException("preopened directory " + guest + ": " + want + " leads through a symbolic link to "
                    + reached + "; refused");
        }
        return fd;
    }

    /**
     * The directories in order, each as the checked descriptor's /proc/self/fd/N. Read-only is the mount's flag:
     * wasi-common 7 turns an EROFS into a trap rather than an errno, so a read-only directory is given to the module
     * without write capabilities, and a write is refused as not permitted before it reaches the kernel.
     */
    List<Dir> dirs() throws IOException {
        List<Dir> out = new ArrayList<>();
        for (Map.Entry<String, Integer> e : fds.entrySet()) {
            byte[] statfs = new byte[128];
            if (libc.fstatfs(e.getValue(), statfs) != 0) {
                throw new IOException("cannot statfs preopened directory " + e.getKey() + ": "
                        + libc.strerror(Runtime.getRuntime(libc).getLastError()));
            }
            long flags = ByteBuffer.wrap(statfs).order(ByteOrder.nativeOrder()).getLong(STATFS_FLAGS);
            out.add(new Dir(e.getKey(), Path.of("/proc/self/fd/" + e.getValue()), (flags & ST_RDONLY) != 0));
        }
        return out;
    }

    /** Once Wasmtime has opened its own descriptors (WasiCtx built), these are no longer needed. */
    @Override
    public void close() {
        fds.values().forEach(libc::close);
        fds.clear();
    }
}
