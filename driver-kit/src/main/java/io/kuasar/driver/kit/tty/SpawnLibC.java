package io.kuasar.driver.kit.tty;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

/**
 * libc's posix_spawn family and a three-argument syscall(2), for {@link PtyHolder}: bound apart from {@link LibC}
 * and only when a terminal is first held, so a libc without posix_spawn_file_actions_addclosefrom_np (glibc before
 * 2.34) costs terminals their survival across a restart, never the driver its start.
 */
public interface SpawnLibC {
    int posix_spawn_file_actions_init(Pointer actions);

    int posix_spawn_file_actions_addopen(Pointer actions, int fd, String path, int oflag, int mode);

    int posix_spawn_file_actions_adddup2(Pointer actions, int fd, int newfd);

    int posix_spawn_file_actions_addclosefrom_np(Pointer actions, int from);

    int posix_spawn_file_actions_destroy(Pointer actions);

    int posix_spawnattr_init(Pointer attr);

    int posix_spawnattr_setflags(Pointer attr, short flags);

    int posix_spawnattr_destroy(Pointer attr);

    int posix_spawn(@Out Pointer pid, String path, @In Pointer actions, @In Pointer attr, @In Pointer argv,
                    @In Pointer envp);

    /** For pidfd_getfd(pidfd, targetfd, flags), which glibc 2.36 has no wrapper for. */
    long syscall(long number, long arg1, long arg2, long arg3);
}
