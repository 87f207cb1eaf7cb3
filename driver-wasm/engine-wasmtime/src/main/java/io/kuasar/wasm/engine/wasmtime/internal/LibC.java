package io.kuasar.wasm.engine.wasmtime.internal;

import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Variadic;

/** The two libc calls that open a preopened directory as a descriptor; public only because jnr implements it. */
public interface LibC {
    /** open(2) with a NUL-terminated UTF-8 path (never a Java String, which jnr would encode by platform charset). */
    @Variadic(fixedCount = 2)
    int open(@In byte[] path, int flags, int mode);

    int close(int fd);

    String strerror(int errnum);
}
