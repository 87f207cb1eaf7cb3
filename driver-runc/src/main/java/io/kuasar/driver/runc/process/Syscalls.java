package io.kuasar.driver.runc.process;

import java.io.IOException;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;

/**
 * Loads {@link LibC} once per class loader and turns failed calls into IOExceptions that carry errno's text. Kept
 * separate from the callers so the constants (Linux x86-64/arm64 values, identical on both) live in one place.
 */
public final class Syscalls {
    static final int PR_SET_CHILD_SUBREAPER = 36;
    static final int PR_GET_CHILD_SUBREAPER = 37;
    /** Same number on every architecture since 5.3 (the unified syscall table). */
    static final long SYS_PIDFD_OPEN = 434;
    static final int P_PIDFD = 3;
    static final int WEXITED = 4;
    static final int WNOHANG = 1;
    static final int WNOWAIT = 0x01000000;
    static final short POLLIN = 0x1;
    static final int EFD_CLOEXEC = 0x80000;
    static final int EFD_NONBLOCK = 0x800;
    static final int EINTR = 4;
    static final int ESRCH = 3;
    static final int ECHILD = 10;
    static final int EINVAL = 22;
    static final int EBUSY = 16;
    static final int ENOENT = 2;
    static final int MNT_DETACH = 2;

    private static volatile LibC libc;

    private Syscalls() {
    }

    static LibC libc() {
        LibC l = libc;
        if (l == null) {
            synchronized (Syscalls.class) {
                l = libc;
                if (l == null) {
                    l = LibraryLoader.create(LibC.class).failImmediately().load("c");
                    libc = l;
                }
            }
        }
        return l;
    }

    /** True once {@link #libc()} has bound libc in this class loader. */
    static boolean bound() {
        return libc != null;
    }

    static Runtime runtime() {
        return Runtime.getRuntime(libc());
    }

    static int errno() {
        return runtime().getLastError();
    }

    static IOException failure(String what) {
        int e = errno();
        return new IOException(what + ": " + libc().strerror(e) + " (errno " + e + ")");
    }

    /** Makes this JVM the reaper of orphaned descendants (container inits once runc exits). Idempotent. */
    public static void becomeChildSubreaper() throws IOException {
        if (libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
            throw failure("prctl(PR_SET_CHILD_SUBREAPER)");
        }
    }

    public static void kill(long pid, int signal) throws IOException {
        if (pid <= 0 || pid > Integer.MAX_VALUE) {
            throw new IOException("refusing to signal pid " + pid);
        }
        if (libc().kill((int) pid, signal) != 0) {
            throw failure("kill(" + pid + ", " + signal + ")");
        }
    }
}
