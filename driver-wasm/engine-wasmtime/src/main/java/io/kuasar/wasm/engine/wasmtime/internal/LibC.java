package io.kuasar.wasm.engine.wasmtime.internal;

import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.Variadic;

/** The libc calls that open and examine a preopened directory; public only because jnr implements it. */
public interface LibC {
    /** open(2) with a NUL-terminated UTF-8 path (never a Java String, which jnr would encode by platform charset). */
    @Variadic(fixedCount = 2)
    int open(@In byte[] path, int flags, int mode);

    int close(int fd);

    /** pipe2(2): fds[0] the read end, fds[1] the write end. */
    int pipe2(@Out int[] fds, int flags);

    /** fstatfs(2), allowed on O_PATH descriptors: struct statfs is 120 bytes, f_flags at 80 (x86-64 and arm64). */
    int fstatfs(int fd, @Out byte[] buf);

    String strerror(int errnum);
}
