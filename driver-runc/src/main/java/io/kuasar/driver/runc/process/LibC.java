package io.kuasar.driver.runc.process;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

/**
 * The few libc entry points the driver needs that Java does not offer: reaping precisely (pidfd, waitid, poll),
 * signalling by pid, becoming a child subreaper, and mount(2); terminals have theirs in the kit's {@code tty}
 * package. Bound by jnr-ffi at run time; errno is saved by jnr after every call and read through
 * {@link Syscalls#errno()}.
 */
public interface LibC {
    int prctl(int option, long arg2, long arg3, long arg4, long arg5);

    /** glibc's syscall(2): used for pidfd_open, which glibc 2.36 declares but older ones do not. */
    long syscall(long number, long arg1, long arg2);

    int waitid(int idtype, int id, @Out Pointer info, int options);

    int poll(@In @Out Pointer fds, long nfds, int timeoutMillis);

    int eventfd(int initval, int flags);

    long read(int fd, @Out Pointer buf, long count);

    long write(int fd, @In Pointer buf, long count);

    int close(int fd);

    int kill(int pid, int signal);

    int mount(String source, String target, String fstype, long flags, String data);

    int umount2(String target, int flags);

    String strerror(int errnum);
}
