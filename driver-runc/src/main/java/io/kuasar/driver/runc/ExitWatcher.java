package io.kuasar.driver.runc;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntConsumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * Collects the exit status of container and exec processes, one thread for all of them.
 *
 * <p>Why not Java's own reaper: it only waits for processes Java spawned, and container inits are not (runc forks
 * them, exits, and the kernel reparents them to this JVM, a child subreaper). Why not waitpid(-1): that would steal
 * the statuses of processes other code in this JVM spawned. So every watched pid gets a pidfd; the thread poll()s
 * the pidfds plus an eventfd (to be woken when the set changes or on close) and, when one becomes readable, peeks
 * the status with waitid(P_PIDFD, WNOWAIT), hands it to the listener, and only then reaps the zombie. Until the
 * zombie is reaped its pid cannot be reused, so a kill(2) issued by a caller that checked "not yet exited" under
 * the listener's lock can never hit a stranger.
 */
final class ExitWatcher implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ExitWatcher.class.getName());

    private record Watch(long pid, int pidfd, IntConsumer listener) {
    }

    private final LibC libc = Syscalls.libc();
    private final Map<Integer, Watch> watches = new ConcurrentHashMap<>();
    private final int wakeFd;
    private final Thread thread;
    private volatile boolean closed;

    ExitWatcher() throws IOException {
        wakeFd = libc.eventfd(0, Syscalls.EFD_CLOEXEC | Syscalls.EFD_NONBLOCK);
        if (wakeFd < 0) {
            throw Syscalls.failure("eventfd");
        }
        thread = new Thread(this::loop, "kuasar-runc-exit-watcher");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * What the listener gets when the exit status cannot be collected here: the process was already reaped
     * elsewhere, or it is not our child (a container of a previous host JVM, reparented to the keeper). The caller
     * then asks the keeper's records ({@link KeeperExits}).
     */
    static final int NOT_COLLECTED = -1;

    /**
     * Calls {@code listener} once with the exit code of {@code pid}, or {@link #NOT_COLLECTED}. A pidfd becomes
     * readable when its process exits whether or not it is our child, so non-children are watched the same way.
     * The listener runs on the watcher thread: keep it short.
     */
    void watch(long pid, IntConsumer listener) throws IOException {
        if (closed) {
            throw new IOException("exit watcher is closed");
        }
        long fd = libc.syscall(Syscalls.SYS_PIDFD_OPEN, pid, 0);
        if (fd < 0) {
            if (Syscalls.errno() == Syscalls.ESRCH) {
                // Gone and reaped already: nobody can tell its status any more.
                LOG.fine(() -> "pid " + pid + " vanished before it could be watched");
                listener.accept(NOT_COLLECTED);
                return;
            }
            throw Syscalls.failure("pidfd_open(" + pid + ")");
        }
        watches.put((int) fd, new Watch(pid, (int) fd, listener));
        wake();
    }

    int watchedCount() {
        return watches.size();
    }

    private void wake() {
        Pointer one = Memory.allocateDirect(Syscalls.runtime(), 8);
        one.putLong(0, 1);
        libc.write(wakeFd, one, 8);
    }

    private void loop() {
        Pointer info = Memory.allocateDirect(Syscalls.runtime(), WaitStatus.SIGINFO_SIZE);
        Pointer counter = Memory.allocateDirect(Syscalls.runtime(), 8);
        while (!closed) {
            List<Watch> current = new ArrayList<>(watches.values());
            Pointer fds = Memory.allocateDirect(Syscalls.runtime(), 8L * (current.size() + 1));
            fds.putInt(0, wakeFd);
            fds.putShort(4, Syscalls.POLLIN);
            for (int i = 0; i < current.size(); i++) {
                fds.putInt(8L * (i + 1), current.get(i).pidfd());
                fds.putShort(8L * (i + 1) + 4, Syscalls.POLLIN);
            }
            int n = libc.poll(fds, current.size() + 1, -1);
            if (n < 0) {
                if (Syscalls.errno() != Syscalls.EINTR) {
                    LOG.log(Level.SEVERE, "poll failed", Syscalls.failure("poll"));
                    sleepQuietly();
                }
                continue;
            }
            if (fds.getShort(6) != 0) {
                libc.read(wakeFd, counter, 8);
            }
            for (int i = 0; i < current.size(); i++) {
                if (fds.getShort(8L * (i + 1) + 6) != 0) {
                    collect(current.get(i), info);
                }
            }
        }
        for (Watch w : watches.values()) {
            libc.close(w.pidfd());
        }
        watches.clear();
        libc.close(wakeFd);
    }

    /** Peeks the status, tells the listener, then reaps; a process that is not our child reports NOT_COLLECTED. */
    private void collect(Watch w, Pointer info) {
        info.setMemory(0, WaitStatus.SIGINFO_SIZE, (byte) 0);
        int rc = libc.waitid(Syscalls.P_PIDFD, w.pidfd(),
                info, Syscalls.WEXITED | Syscalls.WNOHANG | Syscalls.WNOWAIT);
        int code;
        boolean ours = true;
        if (rc < 0) {
            int errno = Syscalls.errno();
            if (errno == Syscalls.EINTR) {
                return;
            }
            // ECHILD: it exited but is someone else's child (e.g. the keeper's, after this JVM restarted).
            ours = false;
            code = NOT_COLLECTED;
        } else if (info.getInt(WaitStatus.SI_PID_OFFSET) == 0) {
            return; // readable but not yet a zombie (cannot normally happen); poll again
        } else {
            code = WaitStatus.exitCode(info.getInt(WaitStatus.SI_CODE_OFFSET), info.getInt(WaitStatus.SI_STATUS_OFFSET));
        }
        try {
            w.listener().accept(code);
        } catch (RuntimeException | Error e) {
            LOG.log(Level.WARNING, "exit listener of pid " + w.pid() + " failed", e);
        }
        if (ours) {
            libc.waitid(Syscalls.P_PIDFD, w.pidfd(), info, Syscalls.WEXITED | Syscalls.WNOHANG);
        }
        watches.remove(w.pidfd());
        libc.close(w.pidfd());
    }

    private static void sleepQuietly() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops watching without reaping: processes stay zombies for a later watcher (driver restart) to collect. */
    @Override
    public void close() {
        closed = true;
        wake();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
