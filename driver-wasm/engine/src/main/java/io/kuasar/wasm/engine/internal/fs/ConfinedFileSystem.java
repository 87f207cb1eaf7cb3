package io.kuasar.wasm.engine.internal.fs;

import io.kuasar.wasm.engine.internal.fs.Native.Errno;
import java.io.IOException;
import java.nio.file.ClosedFileSystemException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.WatchService;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.List;
import java.util.Set;

/**
 * A file system whose every path lives inside one host directory, held open as an O_PATH|O_DIRECTORY descriptor
 * for the file system's whole life and never looked up by name again: a rename or a symlink put in place of the
 * host directory later changes nothing. Paths are in the container's view ("/" is that directory). What
 * Chicory's WASI layer does through java.nio.file on these paths is done by {@link ConfinedProvider} with
 * descriptor-relative system calls resolved by {@link InRoot}.
 *
 * <p>Closing it closes the descriptor, once no operation still uses it: a descriptor number closed under a running
 * call could be reused by another file of the node, and that call would then resolve against the wrong directory.
 */
public final class ConfinedFileSystem extends FileSystem {
    private final InRoot resolver;
    private final String name;
    private int users;
    private boolean closed;
    private boolean released;

    private ConfinedFileSystem(int rootFd, Resolution mode, String name) {
        this.resolver = new InRoot(rootFd, mode);
        this.name = name;
    }

    /** Opens {@code hostDir} (a path the driver chose, trusted) as a confined root, resolved as the node decides. */
    public static ConfinedFileSystem open(Path hostDir) throws IOException {
        return open(hostDir, Resolution.AUTO);
    }

    /** As {@link #open(Path)}, resolving by {@code mode}. */
    public static ConfinedFileSystem open(Path hostDir, Resolution mode) throws IOException {
        String p = hostDir.toAbsolutePath().toString();
        int fd;
        try {
            fd = Native.libc().openat(Native.AT_FDCWD, Native.cstr(p),
                    Native.O_PATH | Native.O_DIRECTORY | Native.O_CLOEXEC, 0);
            if (fd < 0) {
                throw Native.fail();
            }
        } catch (Errno e) {
            throw new IOException("cannot open " + p + " as a WASI root: " + Native.strerror(e.code));
        }
        return new ConfinedFileSystem(fd, mode, p);
    }

    /** The root (the container's "/") of this file system. */
    public Path root() {
        return new ConfinedPath(this, "/");
    }

    /**
     * Bind-mounts host {@code source} at {@code destination} inside this root (see {@link MountPoints}); returns the
     * mount point as a host path.
     */
    public String bindMount(Path source, String destination, boolean directory, boolean readOnly) throws IOException {
        try (Lease l = lease()) {
            return new MountPoints(l.resolver()).bind(source, destination, directory, readOnly);
        }
    }

    /** Makes the mount this root is on read-only. */
    public void remountReadOnly() throws IOException {
        try (Lease l = lease()) {
            new MountPoints(l.resolver()).remountRootReadOnly();
        }
    }

    /**
     * Where {@code guestPath} is on the host right now, resolved inside this root and read back from the kernel
     * (a path without links); NoSuchFileException when it does not exist.
     */
    public String hostPathOf(String guestPath) throws IOException {
        try (Lease l = lease()) {
            int fd = l.resolver().open(guestPath, Native.O_PATH, 0);
            try {
                return Native.readlink(Native.AT_FDCWD, Native.procFd(fd));
            } finally {
                Native.close(fd);
            }
        } catch (Errno e) {
            throw Errors.of(e, getPath(guestPath));
        }
    }

    /** Holds the root descriptor open until closed; try-with-resources around every system call on it. */
    Lease lease() {
        synchronized (this) {
            if (closed) {
                throw new ClosedFileSystemException();
            }
            users++;
        }
        return new Lease();
    }

    final class Lease implements AutoCloseable {
        InRoot resolver() {
            return resolver;
        }

        @Override
        public void close() {
            boolean last;
            synchronized (ConfinedFileSystem.this) {
                users--;
                last = closed && users == 0 && !released;
                if (last) {
                    released = true;
                }
            }
            if (last) {
                Native.close(resolver.rootFd());
            }
        }
    }

    @Override
    public ConfinedProvider provider() {
        return ConfinedProvider.INSTANCE;
    }

    @Override
    public void close() {
        boolean now;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            now = users == 0;
            released = now;
        }
        if (now) {
            Native.close(resolver.rootFd());
        }
    }

    @Override
    public synchronized boolean isOpen() {
        return !closed;
    }

    @Override
    public boolean isReadOnly() {
        return false; // read-only roots are read-only bind mounts: the kernel answers EROFS
    }

    @Override
    public String getSeparator() {
        return "/";
    }

    @Override
    public Iterable<Path> getRootDirectories() {
        return List.of(root());
    }

    @Override
    public Iterable<FileStore> getFileStores() {
        return List.of();
    }

    @Override
    public Set<String> supportedFileAttributeViews() {
        return Set.of("basic", "posix", "unix");
    }

    @Override
    public Path getPath(String first, String... more) {
        if (more.length == 0) {
            return new ConfinedPath(this, first);
        }
        StringBuilder b = new StringBuilder(first);
        for (String m : more) {
            if (!m.isEmpty()) {
                if (b.length() > 0) {
                    b.append('/');
                }
                b.append(m);
            }
        }
        return new ConfinedPath(this, b.toString());
    }

    /** Glob and regex over the path's text, as the default file system matches them (lexical only). */
    @Override
    public PathMatcher getPathMatcher(String syntaxAndPattern) {
        PathMatcher m = FileSystems.getDefault().getPathMatcher(syntaxAndPattern);
        return p -> m.matches(Path.of(p.toString()));
    }

    @Override
    public UserPrincipalLookupService getUserPrincipalLookupService() {
        throw new UnsupportedOperationException("no principal lookup: owners are numeric");
    }

    @Override
    public WatchService newWatchService() {
        throw new UnsupportedOperationException("no watch service");
    }

    @Override
    public String toString() {
        return "confined:" + name;
    }
}
