package io.kuasar.wasm.engine.internal.fs;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;

/**
 * libc for the confined file system: loaded once per class loader, constants of Linux x86-64 and arm64 (the two
 * architectures the node runs on; O_DIRECTORY and O_NOFOLLOW differ between them), errno, and the few helpers
 * every caller needs (C strings, statx, readlinkat, close).
 */
final class Native {
    static final boolean AARCH64 = "aarch64".equals(System.getProperty("os.arch"));

    static final int O_RDONLY = 0;
    static final int O_WRONLY = 1;
    static final int O_RDWR = 2;
    static final int O_CREAT = 0100;
    static final int O_EXCL = 0200;
    static final int O_TRUNC = 01000;
    static final int O_APPEND = 02000;
    static final int O_DIRECTORY = AARCH64 ? 040000 : 0200000;
    static final int O_NOFOLLOW = AARCH64 ? 0100000 : 0400000;
    static final int O_CLOEXEC = 02000000;
    static final int O_PATH = 010000000;

    static final int AT_FDCWD = -100;
    static final int AT_SYMLINK_NOFOLLOW = 0x100;
    static final int AT_REMOVEDIR = 0x200;
    static final int AT_EMPTY_PATH = 0x1000;
    static final int RENAME_NOREPLACE = 1;

    /** Same number on x86-64 and arm64 (the unified syscall table, Linux 5.6). */
    static final long SYS_OPENAT2 = 437;
    static final long RESOLVE_NO_MAGICLINKS = 0x02;
    static final long RESOLVE_IN_ROOT = 0x10;

    static final long MS_RDONLY = 1;
    static final long MS_REMOUNT = 32;
    static final long MS_BIND = 4096;
    static final long MS_REC = 16384;

    static final int STATX_BASIC_STATS = 0x7ff;
    static final int STATX_BTIME = 0x800;
    static final long UTIME_OMIT = (1L << 30) - 2;

    static final int S_IFMT = 0170000;
    static final int S_IFLNK = 0120000;
    static final int S_IFDIR = 0040000;
    static final int S_IFREG = 0100000;
    static final int S_IFCHR = 0020000;
    static final int S_IFBLK = 0060000;

    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final int EINTR = 4;
    static final int EAGAIN = 11;
    static final int EACCES = 13;
    static final int EBUSY = 16;
    static final int EEXIST = 17;
    static final int EXDEV = 18;
    static final int ENOTDIR = 20;
    static final int EISDIR = 21;
    static final int EINVAL = 22;
    static final int ENAMETOOLONG = 36;
    static final int ENOSYS = 38;
    static final int ENOTEMPTY = 39;
    static final int ELOOP = 40;

    /** Longest symlink target we read: PATH_MAX. */
    static final int PATH_MAX = 4096;

    private static final byte[] EMPTY = {0};
    private static volatile FsLibC libc;

    private Native() {
    }

    static FsLibC libc() {
        FsLibC l = libc;
        if (l == null) {
            synchronized (Native.class) {
                l = libc;
                if (l == null) {
                    String arch = System.getProperty("os.arch");
                    if (!AARCH64 && !"amd64".equals(arch) && !"x86_64".equals(arch)) {
                        throw new UnsupportedOperationException("the confined WASI file system knows the flags of "
                                + "x86-64 and arm64 only, not " + arch);
                    }
                    l = LibraryLoader.create(FsLibC.class).failImmediately().load("c");
                    libc = l;
                }
            }
        }
        return l;
    }

    static int errno() {
        return Runtime.getRuntime(libc()).getLastError();
    }

    /** The failure of the call just made, with its errno. */
    static Errno fail() {
        return new Errno(errno());
    }

    static String strerror(int errno) {
        return libc().strerror(errno);
    }

    /**
     * A path as the kernel reads it. A NUL inside would silently cut the name short: refused, as the JDK does
     * (callers check earlier; this is the last line).
     */
    static byte[] cstr(String s) throws Errno {
        if (s.isEmpty()) {
            return EMPTY;
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        for (byte x : b) {
            if (x == 0) {
                throw new Errno(EINVAL);
            }
        }
        return Arrays.copyOf(b, b.length + 1);
    }

    static void close(int fd) {
        if (fd >= 0) {
            libc().close(fd);
        }
    }

    /** statx of the descriptor itself (never following it): works on O_PATH descriptors of symlinks too. */
    static Stat stat(int fd) throws Errno {
        byte[] buf = new byte[256];
        if (libc().statx(fd, EMPTY, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, buf) != 0) {
            throw fail();
        }
        return new Stat(ByteBuffer.wrap(buf).order(ByteOrder.nativeOrder()));
    }

    /** File type bits (S_IFMT) of the descriptor itself. */
    static int type(int fd) throws Errno {
        return stat(fd).mode() & S_IFMT;
    }

    /** The target of the symlink a descriptor (O_PATH|O_NOFOLLOW) or (dirfd, name) refers to, as stored. */
    static String readlink(int dirfd, String name) throws Errno {
        byte[] buf = new byte[PATH_MAX + 1];
        long n = libc().readlinkat(dirfd, cstr(name), buf, buf.length);
        if (n < 0) {
            throw fail();
        }
        if (n > PATH_MAX) {
            throw new Errno(ENAMETOOLONG);
        }
        return new String(buf, 0, (int) n, StandardCharsets.UTF_8);
    }

    /** The magic link through which the JDK reopens exactly the file a descriptor refers to. */
    static String procFd(int fd) {
        return "/proc/self/fd/" + fd;
    }

    /** A failed system call: errno, no stack trace (they are frequent and expected, e.g. ENOENT). */
    static final class Errno extends Exception {
        private static final long serialVersionUID = 1L;
        final int code;

        Errno(int code) {
            super("errno " + code, null, false, false);
            this.code = code;
        }
    }
}
