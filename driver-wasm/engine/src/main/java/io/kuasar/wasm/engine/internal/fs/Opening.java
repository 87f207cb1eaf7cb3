package io.kuasar.wasm.engine.internal.fs;

import static io.kuasar.wasm.engine.internal.fs.Native.EEXIST;
import static io.kuasar.wasm.engine.internal.fs.Native.EISDIR;
import static io.kuasar.wasm.engine.internal.fs.Native.ELOOP;
import static io.kuasar.wasm.engine.internal.fs.Native.ENOENT;
import static io.kuasar.wasm.engine.internal.fs.Native.EPERM;
import static io.kuasar.wasm.engine.internal.fs.Native.O_APPEND;
import static io.kuasar.wasm.engine.internal.fs.Native.O_CREAT;
import static io.kuasar.wasm.engine.internal.fs.Native.O_DIRECTORY;
import static io.kuasar.wasm.engine.internal.fs.Native.O_EXCL;
import static io.kuasar.wasm.engine.internal.fs.Native.O_NOFOLLOW;
import static io.kuasar.wasm.engine.internal.fs.Native.O_PATH;
import static io.kuasar.wasm.engine.internal.fs.Native.O_RDWR;
import static io.kuasar.wasm.engine.internal.fs.Native.O_TRUNC;
import static io.kuasar.wasm.engine.internal.fs.Native.O_WRONLY;

import io.kuasar.wasm.engine.internal.fs.Native.Errno;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.util.HashSet;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * Opening files and directories. Java 17 cannot wrap a raw descriptor in a FileChannel, so the file is resolved in
 * the root to a descriptor of ours, checked, and then reopened by the JDK through /proc/self/fd/N: that magic link
 * names exactly the file already resolved (the same inode on the same mount, read-only mounts included), never
 * anything looked up by name again. Our descriptor is closed as soon as the JDK holds its own.
 */
final class Opening {
    /** Character devices a container may open (null, zero, full, random, urandom): no host hardware. */
    private static final Set<Long> HARMLESS_DEVICES = Set.of(0x103L, 0x105L, 0x107L, 0x108L, 0x109L);
    static final int FILE_MODE = 0644;
    static final int DIR_MODE = 0755;

    private Opening() {
    }

    static FileChannel channel(ConfinedPath path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        boolean write = options.contains(StandardOpenOption.WRITE);
        boolean append = options.contains(StandardOpenOption.APPEND);
        boolean read = options.contains(StandardOpenOption.READ) || (!write && !append);
        if (options.contains(StandardOpenOption.DELETE_ON_CLOSE)) {
            throw new UnsupportedOperationException("DELETE_ON_CLOSE is not offered");
        }
        if (append && options.contains(StandardOpenOption.READ)) {
            throw new IllegalArgumentException("READ + APPEND not allowed");
        }
        if (append && options.contains(StandardOpenOption.TRUNCATE_EXISTING)) {
            throw new IllegalArgumentException("APPEND + TRUNCATE_EXISTING not allowed");
        }
        boolean writing = write || append;
        boolean createNew = writing && options.contains(StandardOpenOption.CREATE_NEW);
        boolean create = writing && (createNew || options.contains(StandardOpenOption.CREATE));
        boolean nofollow = options.contains(LinkOption.NOFOLLOW_LINKS);
        Set<OpenOption> reopen = new HashSet<>(options);
        reopen.removeAll(Set.of(StandardOpenOption.CREATE, StandardOpenOption.CREATE_NEW, LinkOption.NOFOLLOW_LINKS));
        int perm = Attributes.mode(FILE_MODE, attrs);
        try (ConfinedFileSystem.Lease lease = path.getFileSystem().lease()) {
            InRoot r = lease.resolver();
            int fd;
            boolean created = false;
            try {
                // O_PATH first: an existing file is looked at before anything opens it (a device's open has
                // effects). O_EXCL never follows a last symlink: it exists.
                fd = r.open(path.rel(), O_PATH | (nofollow || createNew ? O_NOFOLLOW : 0), 0);
            } catch (Errno e) {
                if (e.code != ENOENT || !create) {
                    throw e;
                }
                int flags = (read ? O_RDWR : O_WRONLY) | O_CREAT | (createNew ? O_EXCL : 0)
                        | (nofollow ? O_NOFOLLOW : 0) | (append ? O_APPEND : 0)
                        | (options.contains(StandardOpenOption.TRUNCATE_EXISTING) ? O_TRUNC : 0);
                fd = r.open(path.rel(), flags, perm);
                created = true;
                reopen.remove(StandardOpenOption.TRUNCATE_EXISTING);
            }
            try {
                Stat st = Native.stat(fd);
                if (createNew && !created) {
                    throw new Errno(EEXIST);
                }
                if (st.isSymbolicLink()) {
                    throw new Errno(ELOOP); // NOFOLLOW_LINKS on a symlink, as open(2) with O_NOFOLLOW
                }
                if (st.isDirectory() && writing) {
                    throw new Errno(EISDIR);
                }
                refuseDevices(st);
                return FileChannel.open(Path.of(Native.procFd(fd)), reopen);
            } finally {
                Native.close(fd);
            }
        } catch (Errno e) {
            throw Errors.of(e, path);
        }
    }

    /**
     * A block or character device in an image (layers may carry device nodes) would give a module the host's
     * hardware: runc's device cgroup refuses them, and so does this, but for the harmless ones.
     */
    static void refuseDevices(Stat st) throws Errno {
        if (st.type() == Native.S_IFBLK || (st.type() == Native.S_IFCHR && !HARMLESS_DEVICES.contains(st.rdev()))) {
            throw new Errno(EPERM);
        }
    }

    static DirectoryStream<Path> directory(ConfinedPath dir, DirectoryStream.Filter<? super Path> filter)
            throws IOException {
        DirectoryStream<Path> listing;
        try (ConfinedFileSystem.Lease lease = dir.getFileSystem().lease()) {
            int fd = lease.resolver().open(dir.rel(), O_PATH | O_DIRECTORY, 0);
            try {
                listing = Files.newDirectoryStream(Path.of(Native.procFd(fd)));
            } finally {
                Native.close(fd);
            }
        } catch (Errno e) {
            throw Errors.of(e, dir);
        }
        return new Listing(dir, listing, filter);
    }

    /** The JDK's listing of the directory, its entries renamed into the confined file system. */
    private static final class Listing implements DirectoryStream<Path> {
        private final ConfinedPath dir;
        private final DirectoryStream<Path> listing;
        private final DirectoryStream.Filter<? super Path> filter;

        Listing(ConfinedPath dir, DirectoryStream<Path> listing, DirectoryStream.Filter<? super Path> filter) {
            this.dir = dir;
            this.listing = listing;
            this.filter = filter;
        }

        @Override
        public Iterator<Path> iterator() {
            Iterator<Path> it = listing.iterator();
            return new Iterator<>() {
                private Path next;

                @Override
                public boolean hasNext() {
                    while (next == null && it.hasNext()) {
                        Path p = dir.resolve(it.next().getFileName().toString());
                        try {
                            if (filter == null || filter.accept(p)) {
                                next = p;
                            }
                        } catch (IOException e) {
                            throw new DirectoryIteratorException(e);
                        }
                    }
                    return next != null;
                }

                @Override
                public Path next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    Path p = next;
                    next = null;
                    return p;
                }
            };
        }

        @Override
        public void close() throws IOException {
            listing.close();
        }
    }
}
