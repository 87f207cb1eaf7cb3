package io.kuasar.wasm.engine.internal.fs;

import static io.kuasar.wasm.engine.internal.fs.ConfinedProvider.check;
import static io.kuasar.wasm.engine.internal.fs.ConfinedProvider.on;
import static io.kuasar.wasm.engine.internal.fs.Native.AT_FDCWD;
import static io.kuasar.wasm.engine.internal.fs.Native.AT_SYMLINK_NOFOLLOW;
import static io.kuasar.wasm.engine.internal.fs.Native.O_NOFOLLOW;
import static io.kuasar.wasm.engine.internal.fs.Native.O_PATH;

import io.kuasar.wasm.engine.internal.fs.InRoot.Parent;
import java.io.IOException;
import java.nio.file.LinkOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.time.Instant;
import java.util.Set;

/**
 * The basic/posix attribute view of one path (Chicory sets times through {@code BasicFileAttributeView.setTimes})
 * and the small conversions around attributes. Each call resolves the path in the root again, as the JDK's views
 * do: a view is a name, not an open file.
 */
final class Attributes implements PosixFileAttributeView {
    private final ConfinedPath path;
    private final boolean follow;

    Attributes(ConfinedPath path, boolean follow) {
        this.path = path;
        this.follow = follow;
    }

    static boolean follow(LinkOption... options) {
        for (LinkOption o : options) {
            if (o == LinkOption.NOFOLLOW_LINKS) {
                return false;
            }
        }
        return true;
    }

    /** Permission bits given as "posix:permissions" at creation, else the default (0644 files, 0755 dirs). */
    @SuppressWarnings("unchecked")
    static int mode(int dflt, FileAttribute<?>... attrs) {
        for (FileAttribute<?> a : attrs) {
            if (a.name().equals("posix:permissions") || a.name().equals("unix:permissions")) {
                return bits((Set<PosixFilePermission>) a.value());
            }
            throw new UnsupportedOperationException("'" + a.name() + "' cannot be set initially");
        }
        return dflt;
    }

    static int bits(Set<PosixFilePermission> perms) {
        int m = 0;
        PosixFilePermission[] all = PosixFilePermission.values();
        for (int i = 0; i < all.length; i++) {
            if (perms.contains(all[i])) {
                m |= 1 << (8 - i);
            }
        }
        return m;
    }

    /** struct timespec[2] for utimensat: UTIME_OMIT where no time is given. */
    static long[] timespecs(FileTime atime, FileTime mtime) {
        long[] t = new long[4];
        put(t, 0, atime);
        put(t, 2, mtime);
        return t;
    }

    private static void put(long[] t, int at, FileTime ft) {
        if (ft == null) {
            t[at + 1] = Native.UTIME_OMIT;
            return;
        }
        Instant i = ft.toInstant();
        t[at] = i.getEpochSecond();
        t[at + 1] = i.getNano();
    }

    @Override
    public String name() {
        return "posix";
    }

    @Override
    public PosixFileAttributes readAttributes() throws IOException {
        return ConfinedProvider.INSTANCE.stat(path, follow);
    }

    @Override
    public void setTimes(FileTime lastModifiedTime, FileTime lastAccessTime, FileTime createTime) throws IOException {
        if (lastModifiedTime != null || lastAccessTime != null) { // a creation time cannot be set on Linux
            setTimes(path, follow, lastAccessTime, lastModifiedTime);
        }
    }

    @Override
    public void setPermissions(Set<PosixFilePermission> perms) throws IOException {
        chmod(path, follow, bits(perms));
    }

    @Override
    public UserPrincipal getOwner() throws IOException {
        return readAttributes().owner();
    }

    @Override
    public void setOwner(UserPrincipal owner) {
        throw new UnsupportedOperationException("owners are not changed through the confined file system");
    }

    @Override
    public void setGroup(GroupPrincipal group) {
        throw new UnsupportedOperationException("groups are not changed through the confined file system");
    }

    /**
     * utimensat. Not following: (parent, name, AT_SYMLINK_NOFOLLOW), so a symlink's own times change. Following:
     * the file resolved in the root, through its /proc/self/fd magic link (utimensat takes no O_PATH descriptor).
     */
    static void setTimes(ConfinedPath p, boolean follow, FileTime atime, FileTime mtime) throws IOException {
        long[] ts = timespecs(atime, mtime);
        on(p, null, r -> {
            if (!follow) {
                try (Parent at = r.parent(p.rel())) {
                    if (at.plain()) {
                        check(Native.libc().utimensat(at.fd(), Native.cstr(at.name()), ts,
                                AT_SYMLINK_NOFOLLOW));
                        return null;
                    }
                } // the root, "." or "..": a directory, not a link; as below
            }
            int fd = r.open(p.rel(), O_PATH, 0);
            try {
                check(Native.libc().utimensat(AT_FDCWD, Native.cstr(Native.procFd(fd)), ts, 0));
                return null;
            } finally {
                Native.close(fd);
            }
        });
    }

    static void chmod(ConfinedPath p, boolean follow, int mode) throws IOException {
        on(p, null, r -> {
            int fd = r.open(p.rel(), O_PATH | (follow ? 0 : O_NOFOLLOW), 0);
            try {
                if (Native.stat(fd).isSymbolicLink()) {
                    throw new UnsupportedOperationException("Linux has no permissions on symlinks");
                }
                check(Native.libc().fchmodat(AT_FDCWD, Native.cstr(Native.procFd(fd)), mode, 0));
                return null;
            } finally {
                Native.close(fd);
            }
        });
    }
}
