package io.kuasar.wasm.engine.internal.fs;

import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.Variadic;

/**
 * The *at(2) family of libc, bound by jnr-ffi. Every path crosses as a NUL-terminated UTF-8 byte array that
 * {@link Native#cstr} built, never as a Java String: jnr would encode a String with the platform charset, and a
 * name that a different charset turned into other bytes would name another file. Every call is relative to a
 * directory descriptor; none takes a path that the kernel would resolve from the host's root or working directory
 * except the /proc/self/fd/N magic links of descriptors this package already resolved. errno is saved by jnr after
 * each call and read through {@link Native#errno()}. Public only because jnr implements it from another package.
 */
public interface FsLibC {
    /** openat(2); variadic in C (mode is read only with O_CREAT), declared so for the callers' ABI. */
    @Variadic(fixedCount = 3)
    int openat(int dirfd, @In byte[] path, int flags, int mode);

    /** syscall(2), for openat2 (glibc 2.36 has no wrapper): how is struct open_how {u64 flags, mode, resolve}. */
    @Variadic(fixedCount = 1)
    long syscall(long number, long dirfd, @In byte[] path, @In long[] how, long size);

    long readlinkat(int dirfd, @In byte[] path, @Out byte[] buf, long size);

    int mkdirat(int dirfd, @In byte[] path, int mode);

    int symlinkat(@In byte[] target, int newdirfd, @In byte[] linkpath);

    int linkat(int olddirfd, @In byte[] oldpath, int newdirfd, @In byte[] newpath, int flags);

    int unlinkat(int dirfd, @In byte[] path, int flags);

    int renameat2(int olddirfd, @In byte[] oldpath, int newdirfd, @In byte[] newpath, int flags);

    /** times: struct timespec[2] as {atime sec, atime nsec, mtime sec, mtime nsec}. */
    int utimensat(int dirfd, @In byte[] path, @In long[] times, int flags);

    /** statx(2): its struct (256 bytes) has the same layout on every architecture, unlike struct stat. */
    int statx(int dirfd, @In byte[] path, int flags, int mask, @Out byte[] buf);

    int faccessat(int dirfd, @In byte[] path, int mode, int flags);

    int fchmodat(int dirfd, @In byte[] path, int mode, int flags);

    int close(int fd);

    /** mount(2), for bind mounts onto /proc/self/fd/N of a directory resolved in the root; fstype and data NULL. */
    int mount(@In byte[] source, @In byte[] target, @In byte[] fstype, long flags, @In byte[] data);

    String strerror(int errnum);
}
