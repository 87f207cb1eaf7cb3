package io.kuasar.driver.kit.tty;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

/**
 * The libc entry points a terminal needs that Java does not offer: receiving a runtime's pty master over a Unix
 * socket (SCM_RIGHTS), making a pty of our own, copying through it without blocking for ever, sizing it, and
 * ending its holder by pidfd. Bound by jnr-ffi at run time (public only because jnr requires it); errno is saved
 * after every call and read through {@link Native#errno()}.
 */
public interface TtyLibC {
    int poll(@In @Out Pointer fds, long nfds, int timeoutMillis);

    long read(int fd, @Out Pointer buf, long count);

    long write(int fd, @In Pointer buf, long count);

    int close(int fd);

    int kill(int pid, int signal);

    String strerror(int errnum);

    int socket(int domain, int type, int protocol);

    int bind(int fd, @In Pointer addr, int addrlen);

    int listen(int fd, int backlog);

    int accept4(int fd, Pointer addr, Pointer addrlen, int flags);

    long recvmsg(int fd, @In @Out Pointer msghdr, int flags);

    int ioctl(int fd, long request, @In Pointer arg);

    /** glibc's syscall(2) with two arguments: pidfd_open and pidfd_send_signal (no glibc 2.36 wrappers). */
    long syscall(long number, long arg1, long arg2);

    int waitid(int idtype, int id, @Out Pointer info, int options);

    int open(String path, int flags);

    int posix_openpt(int flags);

    int grantpt(int fd);

    int unlockpt(int fd);

    int ptsname_r(int fd, @Out Pointer buf, long buflen);
}
