package io.kuasar.wasm.engine.fs;

import io.kuasar.wasm.engine.internal.fs.ConfinedFileSystem;
import java.io.IOException;
import java.nio.file.Path;

/**
 * One container's root, held open as a descriptor from {@link #open} to {@link #close}: every path given to it is
 * resolved by the kernel inside that directory (openat2 with RESOLVE_IN_ROOT), as the container itself will see
 * it. A driver mounts the container's volumes with it and finds the files it needs (the module) through it,
 * instead of joining strings to a host path that an image's links could lead anywhere.
 */
public final class ContainerRoot implements AutoCloseable {
    private final ConfinedFileSystem fs;

    private ContainerRoot(ConfinedFileSystem fs) {
        this.fs = fs;
    }

    /** Opens {@code hostRoot} (the mounted rootfs; a path the driver made) as a container's root. */
    public static ContainerRoot open(Path hostRoot) throws IOException {
        return new ContainerRoot(ConfinedFileSystem.open(hostRoot));
    }

    /** {@code guestPath} as a path of this root: java.nio.file.Files on it stays inside the root. */
    public Path path(String guestPath) {
        return fs.getPath(guestPath);
    }

    /** Where {@code guestPath} is on the host now (a path without links); NoSuchFileException when it is not. */
    public String hostPathOf(String guestPath) throws IOException {
        return fs.hostPathOf(guestPath);
    }

    /**
     * Bind-mounts {@code source} (a host directory or file) at {@code destination} inside this root, making the
     * missing directories (and, for a file, an empty file) there; read-only when asked. Returns the mount point's
     * host path.
     */
    public String bindMount(Path source, String destination, boolean directory, boolean readOnly) throws IOException {
        return fs.bindMount(source, destination, directory, readOnly);
    }

    /** Makes the root's own mount read-only (mounts inside it keep theirs). */
    public void remountReadOnly() throws IOException {
        fs.remountReadOnly();
    }

    @Override
    public void close() {
        fs.close();
    }
}
