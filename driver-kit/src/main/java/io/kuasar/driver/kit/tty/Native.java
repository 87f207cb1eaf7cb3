package io.kuasar.driver.kit.tty;

import java.io.IOException;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;

/**
 * Binds {@link TtyLibC} once, in this bundle (which outlives driver upgrades, so no driver's class loader is held by
 * jnr's generated classes), and turns failed calls into IOExceptions that carry errno's text. Constants are Linux
 * x86-64/arm64 values, identical on both.
 */
final class Native {
    static final int EINTR = 4;
    static final int EAGAIN = 11;
    /** Same number on every architecture since 5.3 (the unified syscall table). */
    static final long SYS_PIDFD_OPEN = 434;
    static final int P_PIDFD = 3;
    static final int WEXITED = 4;
    /** siginfo_t's size, what waitid writes. */
    static final int SIGINFO_SIZE = 128;

    private static volatile TtyLibC libc;

    private Native() {
    }

    static TtyLibC libc() {
        TtyLibC l = libc;
        if (l == null) {
            synchronized (Native.class) {
                l = libc;
                if (l == null) {
                    l = LibraryLoader.create(TtyLibC.class).failImmediately().load("c");
                    libc = l;
                }
            }
        }
        return l;
    }

    static int errno() {
        return Runtime.getRuntime(libc()).getLastError();
    }

    static IOException failure(String what) {
        int e = errno();
        return new IOException(what + ": " + libc().strerror(e) + " (errno " + e + ")");
    }
}
