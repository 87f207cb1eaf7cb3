package io.kuasar.wasm.engine.internal.fs;

import static io.kuasar.wasm.engine.internal.fs.Native.EEXIST;
import static io.kuasar.wasm.engine.internal.fs.Native.MS_BIND;
import static io.kuasar.wasm.engine.internal.fs.Native.MS_RDONLY;
import static io.kuasar.wasm.engine.internal.fs.Native.MS_REC;
import static io.kuasar.wasm.engine.internal.fs.Native.MS_REMOUNT;
import static io.kuasar.wasm.engine.internal.fs.Native.O_CREAT;
import static io.kuasar.wasm.engine.internal.fs.Native.O_DIRECTORY;
import static io.kuasar.wasm.engine.internal.fs.Native.O_PATH;
import static io.kuasar.wasm.engine.internal.fs.Native.O_RDONLY;
import static io.kuasar.wasm.engine.internal.fs.Native.S_IFDIR;

import io.kuasar.wasm.engine.internal.fs.Native.Errno;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Mounts onto a container's root the way runc makes them: the mount point is looked up (and made when missing)
 * inside the root, so an image whose {@code /mnt} is a link to {@code /etc} gets its volume at its own
 * {@code /etc/...}, never on the host's; the mount goes onto {@code /proc/self/fd/N} of that directory, so nothing
 * is looked up by name between the check and the mount.
 */
final class MountPoints {
    private final InRoot root;

    MountPoints(InRoot root) {
        this.root = root;
    }

    /**
     * Bind-mounts {@code source} (a host directory or file the driver chose) at {@code destination} in the root,
     * read-only when asked; returns where the kernel put it, as a host path (for engines that take host paths).
     */
    String bind(Path source, String destination, boolean directory, boolean readOnly) throws IOException {
        String what = "mount point " + destination;
        int target = openMade(destination, directory, what);
        try {
            mount(source.toString(), target, MS_BIND | MS_REC, what + " (from " + source + ")");
        } finally {
            Native.close(target);
        }
        int mounted = open(destination, what);
        try {
            if (readOnly) {
                remountReadOnly(mounted, what);
            }
            return Native.readlink(Native.AT_FDCWD, Native.procFd(mounted));
        } catch (Errno e) {
            throw new IOException("cannot read where " + what + " is: " + Native.strerror(e.code));
        } finally {
            Native.close(mounted);
        }
    }

    /** Makes the mount the root is on read-only (only that mount: volumes keep their own flags). */
    void remountRootReadOnly() throws IOException {
        remountReadOnly(root.rootFd(), "the container's root");
    }

    private static void remountReadOnly(int fd, String what) throws IOException {
        mount(null, fd, MS_BIND | MS_REMOUNT | MS_RDONLY, what + " (read-only)");
    }

    private static void mount(String source, int target, long flags, String what) throws IOException {
        try {
            byte[] src = source == null ? null : Native.cstr(source);
            if (Native.libc().mount(src, Native.cstr(Native.procFd(target)), null, flags, null) != 0) {
                throw Native.fail();
            }
        } catch (Errno e) {
            throw new IOException("cannot mount " + what + ": " + Native.strerror(e.code));
        }
    }

    private int open(String path, String what) throws IOException {
        try {
            return root.open(path, O_PATH, 0);
        } catch (Errno e) {
            throw new IOException("cannot open " + what + " in the container's root: " + Native.strerror(e.code));
        }
    }

    /** Opens (O_PATH) the mount point, making the missing directories (0755) and, for a file, an empty file. */
    private int openMade(String path, boolean directory, String what) throws IOException {
        try {
            makeDirectories(directory ? path : parentOf(path));
            if (!directory) {
                Native.close(root.open(path, O_RDONLY | O_CREAT, 0644));
            }
            int fd = root.open(path, O_PATH | (directory ? O_DIRECTORY : 0), 0);
            if (directory != (Native.type(fd) == S_IFDIR)) {
                Native.close(fd);
                throw new IOException(what + " is " + (directory ? "not a directory" : "a directory")
                        + " in the container's image; its source " + (directory ? "is" : "is not") + " one");
            }
            return fd;
        } catch (Errno e) {
            throw new IOException("cannot make " + what + " in the container's root: " + Native.strerror(e.code));
        }
    }

    /** mkdir -p inside the root: each missing component is made relative to its resolved parent. */
    private void makeDirectories(String path) throws Errno {
        StringBuilder prefix = new StringBuilder();
        for (String part : path.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            prefix.append('/').append(part);
            String p = prefix.toString();
            try {
                Native.close(root.open(p, O_PATH | O_DIRECTORY, 0));
            } catch (Errno missing) {
                if (missing.code != Native.ENOENT) {
                    throw missing;
                }
                try (InRoot.Parent parent = root.parent(p)) {
                    if (!parent.plain()) {
                        throw new Errno(Native.EINVAL);
                    }
                    if (Native.libc().mkdirat(parent.fd(), Native.cstr(parent.name()), 0755) != 0
                            && Native.errno() != EEXIST) {
                        throw Native.fail();
                    }
                }
            }
        }
    }

    private static String parentOf(String path) {
        int slash = path.lastIndexOf('/');
        return slash <= 0 ? "/" : path.substring(0, slash);
    }
}
