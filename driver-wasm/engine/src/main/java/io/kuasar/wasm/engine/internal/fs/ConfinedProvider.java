package io.kuasar.wasm.engine.internal.fs;

import static io.kuasar.wasm.engine.internal.fs.Native.AT_FDCWD;
import static io.kuasar.wasm.engine.internal.fs.Native.AT_REMOVEDIR;
import static io.kuasar.wasm.engine.internal.fs.Native.EBUSY;
import static io.kuasar.wasm.engine.internal.fs.Native.EEXIST;
import static io.kuasar.wasm.engine.internal.fs.Native.EINVAL;
import static io.kuasar.wasm.engine.internal.fs.Native.EISDIR;
import static io.kuasar.wasm.engine.internal.fs.Native.ENOENT;
import static io.kuasar.wasm.engine.internal.fs.Native.ENOTEMPTY;
import static io.kuasar.wasm.engine.internal.fs.Native.EPERM;
import static io.kuasar.wasm.engine.internal.fs.Native.EXDEV;
import static io.kuasar.wasm.engine.internal.fs.Native.O_NOFOLLOW;
import static io.kuasar.wasm.engine.internal.fs.Native.O_PATH;
import static io.kuasar.wasm.engine.internal.fs.Native.RENAME_NOREPLACE;

import io.kuasar.wasm.engine.internal.fs.InRoot.Parent;
import io.kuasar.wasm.engine.internal.fs.Native.Errno;
import java.io.IOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.LinkOption;
import java.nio.file.NotLinkException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.spi.FileSystemProvider;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/**
 * The operations of {@link ConfinedFileSystem}s. Whatever reads or stats resolves the whole path in the root
 * ({@link InRoot#open}, O_PATH, O_NOFOLLOW when asked not to follow) and works on the descriptor; whatever creates,
 * removes or renames an entry resolves the PARENT in the root and acts on the last name relative to it (mkdirat,
 * symlinkat, linkat without AT_SYMLINK_FOLLOW, unlinkat, renameat2, utimensat with AT_SYMLINK_NOFOLLOW), so a
 * symlink as last component is the entry itself, never followed by the host. One shared instance; it is never
 * installed as a JDK provider (paths are obtained from the file systems the engine opens).
 */
public final class ConfinedProvider extends FileSystemProvider {
    static final String SCHEME = "kuasar-confined";
    static final ConfinedProvider INSTANCE = new ConfinedProvider();

    private ConfinedProvider() {
    }

    /** One step on the resolver of a path's file system, errno becoming the JDK's exception for that path. */
    interface Step<T> {
        T run(InRoot r) throws Errno, IOException;
    }

    static <T> T on(ConfinedPath p, Path other, Step<T> step) throws IOException {
        try (ConfinedFileSystem.Lease lease = p.getFileSystem().lease()) {
            return step.run(lease.resolver());
        } catch (Errno e) {
            throw Errors.of(e, p, other);
        }
    }

    static void check(int rc) throws Errno {
        if (rc != 0) {
            throw Native.fail();
        }
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    @Override
    public FileSystem newFileSystem(URI uri, Map<String, ?> env) {
        throw new UnsupportedOperationException("confined file systems are opened by the wasm engine only");
    }

    @Override
    public FileSystem getFileSystem(URI uri) {
        throw new UnsupportedOperationException("confined file systems are not looked up by URI");
    }

    @Override
    public Path getPath(URI uri) {
        throw new UnsupportedOperationException("confined file systems are not looked up by URI");
    }

    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options,
                                              FileAttribute<?>... attrs) throws IOException {
        return Opening.channel(ConfinedPath.of(path), options, attrs);
    }

    @Override
    public FileChannel newFileChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        return Opening.channel(ConfinedPath.of(path), options, attrs);
    }

    @Override
    public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter)
            throws IOException {
        return Opening.directory(ConfinedPath.of(dir), filter);
    }

    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
        ConfinedPath p = ConfinedPath.of(dir);
        int mode = Attributes.mode(Opening.DIR_MODE, attrs);
        on(p, null, r -> {
            try (Parent at = r.parent(p.rel())) {
                if (!at.plain()) {
                    throw new Errno(EEXIST); // the root, "." or "..": they exist
                }
                check(Native.libc().mkdirat(at.fd(), Native.cstr(at.name()), mode));
                return null;
            }
        });
    }

    /** The target is stored as given (its text); it is resolved in the root whenever it is followed. */
    @Override
    public void createSymbolicLink(Path link, Path target, FileAttribute<?>... attrs) throws IOException {
        if (attrs.length > 0) {
            throw new UnsupportedOperationException("symlinks take no initial attributes");
        }
        ConfinedPath p = ConfinedPath.of(link);
        String text = target.toString();
        on(p, null, r -> {
            byte[] t = Native.cstr(text);
            try (Parent at = r.parent(p.rel())) {
                if (!at.plain()) {
                    throw new Errno(EEXIST);
                }
                check(Native.libc().symlinkat(t, at.fd(), Native.cstr(at.name())));
                return null;
            }
        });
    }

    /** linkat with flags 0: a symlink named as existing is linked itself, never followed. */
    @Override
    public void createLink(Path link, Path existing) throws IOException {
        ConfinedPath l = ConfinedPath.of(link);
        ConfinedPath e = ConfinedPath.of(existing);
        on(l, null, rl -> on(e, null, re -> {
            try (Parent from = re.parent(e.rel()); Parent to = rl.parent(l.rel())) {
                if (!to.plain()) {
                    throw Errors.of(EEXIST, l, null);
                }
                if (!from.plain()) {
                    throw Errors.of(EPERM, e, null); // a directory: no hard links to directories
                }
                if (Native.libc().linkat(from.fd(), Native.cstr(from.name()), to.fd(), Native.cstr(to.name()), 0)
                        != 0) {
                    int x = Native.errno();
                    throw Errors.of(x, x == ENOENT ? e : l, null);
                }
                return null;
            }
        }));
    }

    /** unlinkat, and unlinkat(AT_REMOVEDIR) when the entry is a directory (Linux answers EISDIR first). */
    @Override
    public void delete(Path path) throws IOException {
        ConfinedPath p = ConfinedPath.of(path);
        on(p, null, r -> {
            try (Parent at = r.parent(p.rel())) {
                if (!at.plain()) { // as rmdir(2): the root is busy, "." invalid, ".." not empty
                    throw new Errno(at.name().isEmpty() ? EBUSY : at.name().equals(".") ? EINVAL : ENOTEMPTY);
                }
                byte[] name = Native.cstr(at.name());
                if (Native.libc().unlinkat(at.fd(), name, 0) == 0) {
                    return null;
                }
                int e = Native.errno();
                if (e != EISDIR) {
                    throw new Errno(e);
                }
                if (Native.libc().unlinkat(at.fd(), name, AT_REMOVEDIR) != 0) {
                    e = Native.errno();
                    throw new Errno(e == EEXIST ? ENOTEMPTY : e);
                }
                return null;
            }
        });
    }

    /**
     * The link's target, as a path of this file system next to the link: an absolute target is a path from the
     * confined root, a relative one is joined to the link's directory. So the path that Chicory's resolveSymlinks
     * (WasiPreview1) goes on with means, in the root, what the kernel makes of the link (with the JDK's provider a
     * relative target would be taken against the node's working directory); its file name is the stored text's
     * last name, as path_readlink reports it. The stored text itself: {@link #linkText}.
     */
    @Override
    public Path readSymbolicLink(Path link) throws IOException {
        ConfinedPath p = ConfinedPath.of(link);
        String text = linkText(p);
        Path dir = p.toAbsolutePath().getParent();
        return (dir == null ? p.getFileSystem().root() : dir).resolve(p.getFileSystem().getPath(text));
    }

    /** The target exactly as stored in the link. */
    String linkText(ConfinedPath p) throws IOException {
        return on(p, null, r -> {
            int fd = r.open(p.rel(), O_PATH | O_NOFOLLOW, 0);
            try {
                if (!Native.stat(fd).isSymbolicLink()) {
                    throw new NotLinkException(p.toString());
                }
                return Native.readlink(fd, "");
            } finally {
                Native.close(fd);
            }
        });
    }

    @Override
    public void copy(Path source, Path target, CopyOption... options) throws IOException {
        Copying.copy(this, ConfinedPath.of(source), ConfinedPath.of(target), options);
    }

    /** renameat2 between the two parents; RENAME_NOREPLACE unless REPLACE_EXISTING. No copying across mounts. */
    @Override
    public void move(Path source, Path target, CopyOption... options) throws IOException {
        ConfinedPath s = ConfinedPath.of(source);
        ConfinedPath t = ConfinedPath.of(target);
        boolean replace = Arrays.asList(options).contains(StandardCopyOption.REPLACE_EXISTING);
        boolean atomic = Arrays.asList(options).contains(StandardCopyOption.ATOMIC_MOVE);
        on(s, t, rs -> on(t, s, rt -> {
            try (Parent from = rs.parent(s.rel()); Parent to = rt.parent(t.rel())) {
                if (!from.plain() || !to.plain()) {
                    throw Errors.of(from.name().isEmpty() || to.name().isEmpty() ? EBUSY : EINVAL, s, t);
                }
                byte[] a = Native.cstr(from.name());
                byte[] b = Native.cstr(to.name());
                int rc = Native.libc().renameat2(from.fd(), a, to.fd(), b, replace ? 0 : RENAME_NOREPLACE);
                if (rc != 0 && Native.errno() == EINVAL && !replace) {
                    // a file system without RENAME_NOREPLACE: look at the name (in the same parent), then rename
                    int fd = Native.libc().openat(to.fd(), b, O_PATH | O_NOFOLLOW | Native.O_CLOEXEC, 0);
                    if (fd >= 0) {
                        Native.close(fd);
                        throw Errors.of(EEXIST, s, t);
                    }
                    rc = Native.libc().renameat2(from.fd(), a, to.fd(), b, 0);
                }
                if (rc != 0) {
                    int e = Native.errno();
                    if (e == EXDEV && atomic) {
                        throw new AtomicMoveNotSupportedException(s.toString(), t.toString(), "across mounts");
                    }
                    throw Errors.of(e, s, e == EEXIST || e == ENOTEMPTY ? t : null);
                }
                return null;
            }
        }));
    }

    @Override
    public boolean isSameFile(Path a, Path b) throws IOException {
        if (a.equals(b)) {
            return true;
        }
        if (!(a instanceof ConfinedPath) || !(b instanceof ConfinedPath)) {
            return false;
        }
        return stat(ConfinedPath.of(a), true).fileKey().equals(stat(ConfinedPath.of(b), true).fileKey());
    }

    @Override
    public boolean isHidden(Path path) {
        Path name = path.getFileName();
        return name != null && name.toString().startsWith(".");
    }

    @Override
    public FileStore getFileStore(Path path) {
        throw new UnsupportedOperationException("no file stores in a confined file system");
    }

    /** Existence (no modes) is a successful in-root lookup; modes are checked by access(2) on that very file. */
    @Override
    public void checkAccess(Path path, AccessMode... modes) throws IOException {
        ConfinedPath p = ConfinedPath.of(path);
        int bits = 0;
        for (AccessMode m : modes) {
            bits |= m == AccessMode.READ ? 4 : m == AccessMode.WRITE ? 2 : 1;
        }
        int want = bits;
        on(p, null, r -> {
            int fd = r.open(p.rel(), O_PATH, 0);
            try {
                if (want != 0) {
                    check(Native.libc().faccessat(AT_FDCWD, Native.cstr(Native.procFd(fd)), want, 0));
                }
                return null;
            } finally {
                Native.close(fd);
            }
        });
    }

    @Override
    @SuppressWarnings("unchecked")
    public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
        if (type == BasicFileAttributeView.class || type == PosixFileAttributeView.class) {
            return (V) new Attributes(ConfinedPath.of(path), Attributes.follow(options));
        }
        return null;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options)
            throws IOException {
        if (type != BasicFileAttributes.class && type != PosixFileAttributes.class) {
            throw new UnsupportedOperationException(type.getName());
        }
        return (A) stat(ConfinedPath.of(path), Attributes.follow(options));
    }

    /** "view:names" as the JDK reads it; Chicory asks for "unix:*". */
    @Override
    public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options)
            throws IOException {
        int colon = attributes.indexOf(':');
        String view = colon < 0 ? "basic" : attributes.substring(0, colon);
        String names = colon < 0 ? attributes : attributes.substring(colon + 1);
        if (!Set.of("basic", "posix", "unix").contains(view)) {
            throw new UnsupportedOperationException("view " + view + " is not available");
        }
        return stat(ConfinedPath.of(path), Attributes.follow(options)).toMap(view, names);
    }

    @Override
    @SuppressWarnings("unchecked")
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options) throws IOException {
        String name = attribute.substring(attribute.indexOf(':') + 1);
        Attributes view = new Attributes(ConfinedPath.of(path), Attributes.follow(options));
        switch (name) {
            case "lastModifiedTime" -> view.setTimes((FileTime) value, null, null);
            case "lastAccessTime" -> view.setTimes(null, (FileTime) value, null);
            case "creationTime" -> view.setTimes(null, null, (FileTime) value);
            case "permissions" -> view.setPermissions((Set<PosixFilePermission>) value);
            default -> throw new UnsupportedOperationException("'" + attribute + "' cannot be set");
        }
    }

    Stat stat(ConfinedPath p, boolean follow) throws IOException {
        return on(p, null, r -> {
            int fd = r.open(p.rel(), O_PATH | (follow ? 0 : O_NOFOLLOW), 0);
            try {
                return Native.stat(fd);
            } finally {
                Native.close(fd);
            }
        });
    }
}
