package io.kuasar.driver.runc.process;

import io.kuasar.driver.kit.DaemonThreads;
import io.kuasar.driver.kit.NativeBuffer;
import io.kuasar.driver.kit.ProcStat;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.IntConsumer;
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
 *
 * <p>The thread binds libc itself ({@link Syscalls#libc()}, tens of ms in a fresh class loader), so a driver instance
 * that replaces another one in this JVM serves without waiting for it: pids asked to be watched before libc is bound
 * are queued and get their pidfds on the thread once it is. A queued pid is our child (a zombie until we reap it,
 * so its pid stays its own) or is checked against its recorded start time after its pidfd is opened. Native memory
 * comes from direct ByteBuffers, not jnr's transient memory, whose per-thread magazines and finalizer thread would
 * keep this bundle's class loader reachable after the driver is gone.
 */
public final class ExitWatcher implements AutoCloseable {
    private static final Logger LOG = System.getLogger(ExitWatcher.class.getName());

    private record Watch(long pid, int pidfd, IntConsumer listener) {
    }

    /** A pid to watch, asked for before the thread had bound libc. */
    private record Request(long pid, long startTime, IntConsumer listener) {
    }

    private final Map<Integer, Watch> watches = new ConcurrentHashMap<>();
    private final Queue<Request> queued = new ConcurrentLinkedQueue<>();
    /** The eventfd waking the thread; -1 until the thread made it (libc bound). */
    private volatile int wakeFd = -1;
    /** 8 bytes holding 1, what {@link #wake()} writes; never changed after construction. */
    private final NativeBuffer one = NativeBuffer.allocate(8);
    private final Thread thread;
    private volatile boolean closed;

    /**
     * @param bindNow true: libc is bound and the eventfd made on the calling thread, ready once this returns;
     *                false: both happen on the watcher thread, and {@link #watch} queues until then
     */
    public ExitWatcher(boolean bindNow) throws IOException {
        one.buffer().putLong(0, 1);
        if (bindNow) {
            wakeFd = makeWakeFd();
        }
        thread = DaemonThreads.named("kuasar-runc-exit-watcher").newThread(this::run);
        thread.start();
    }

    private static int makeWakeFd() throws IOException {
        int fd = Syscalls.libc().eventfd(0, Syscalls.EFD_CLOEXEC | Syscalls.EFD_NONBLOCK);
        if (fd < 0) {
            throw Syscalls.failure("eventfd");
        }
        return fd;
    }

    /**
     * What the listener gets when the exit status cannot be collected here: the process was already reaped
     * elsewhere, or it is not our child (a container of a previous host JVM, reparented to the keeper). The caller
     * then asks the keeper's records (the host's {@link io.kuasar.spi.OrphanExits}).
     */
    public static final int NOT_COLLECTED = -1;

    /** {@link #watch(long, long, IntConsumer)} without a start time to check. */
    void watch(long pid, IntConsumer listener) throws IOException {
        watch(pid, 0, listener);
    }

    /**
     * Calls {@code listener} once with the exit code of {@code pid}, or {@link #NOT_COLLECTED}. A pidfd becomes
     * readable when its process exits whether or not it is our child, so non-children are watched the same way.
     * The listener runs on the watcher thread: keep it short. {@code startTime} (0: unknown) is the pid's /proc
     * start time, checked when the pidfd is opened late (queued before libc was bound).
     */
    public void watch(long pid, long startTime, IntConsumer listener) throws IOException {
        if (closed) {
            throw new IOException("exit watcher is closed");
        }
        if (wakeFd < 0) {
            queued.add(new Request(pid, startTime, listener));
            if (wakeFd < 0) {
                return; // the thread drains the queue once it made the eventfd
            }
            drainQueued(); // the thread got ready meanwhile: whoever drains first opens it
            return;
        }
        open(pid, listener);
    }

    private void open(long pid, IntConsumer listener) throws IOException {
        LibC libc = Syscalls.libc();
        long fd = libc.syscall(Syscalls.SYS_PIDFD_OPEN, pid, 0);
        if (fd < 0) {
            if (Syscalls.errno() == Syscalls.ESRCH) {
                // Gone and reaped already: nobody can tell its status any more.
                LOG.log(Level.DEBUG, () -> "pid " + pid + " vanished before it could be watched");
                listener.accept(NOT_COLLECTED);
                return;
            }
            throw Syscalls.failure("pidfd_open(" + pid + ")");
        }
        watches.put((int) fd, new Watch(pid, (int) fd, listener));
        wake();
    }

    /** Opens the pidfds of the pids queued before libc was bound. */
    private void drainQueued() {
        for (Request req; (req = queued.poll()) != null; ) {
            IntConsumer checked = req.listener();
            try {
                LibC libc = Syscalls.libc();
                long fd = libc.syscall(Syscalls.SYS_PIDFD_OPEN, req.pid(), 0);
                if (fd < 0) {
                    if (Syscalls.errno() != Syscalls.ESRCH) {
                        LOG.log(Level.WARNING, "cannot watch pid " + req.pid(),
                                Syscalls.failure("pidfd_open(" + req.pid() + ")"));
                    }
                    checked.accept(NOT_COLLECTED);
                    continue;
                }
                if (req.startTime() > 0 && !ProcStat.same(req.pid(), req.startTime())) {
                    // the pid now names another process: ours ended (and was reaped) while queued
                    libc.close((int) fd);
                    checked.accept(NOT_COLLECTED);
                    continue;
                }
                watches.put((int) fd, new Watch(req.pid(), (int) fd, checked));
            } catch (RuntimeException | Error e) {
                LOG.log(Level.WARNING, "cannot watch pid " + req.pid(), e);
            }
        }
        wake();
    }

    int watchedCount() {
        return watches.size();
    }

    private void wake() {
        synchronized (one) { // not while the thread closes the eventfd (its number could be reused)
            int fd = wakeFd;
            if (fd >= 0) {
                Syscalls.libc().write(fd, one.pointer(), 8);
            }
        }
    }

    private void run() {
        if (wakeFd < 0) {
            try {
                wakeFd = makeWakeFd();
            } catch (IOException | RuntimeException | Error e) {
                LOG.log(Level.ERROR, "exit watcher cannot start: exits are not collected", e);
                return;
            }
            if (!closed) {
                drainQueued();
            }
            LOG.log(Level.DEBUG, "exit watcher ready");
        }
        loop();
    }

    private void loop() {
        LibC libc = Syscalls.libc();
        int wakeFd = this.wakeFd;
        NativeBuffer info = NativeBuffer.allocate(WaitStatus.SIGINFO_SIZE);
        NativeBuffer counter = NativeBuffer.allocate(8);
        NativeBuffer fdsBuffer = NativeBuffer.allocate(8 * 64);
        while (!closed) {
            List<Watch> current = new ArrayList<>(watches.values());
            if (fdsBuffer.size() < 8L * (current.size() + 1)) {
                fdsBuffer = NativeBuffer.allocate(8 * Math.max(2 * (current.size() + 1), 64));
            }
            Pointer fds = fdsBuffer.pointer();
            fds.putInt(0, wakeFd);
            fds.putShort(4, Syscalls.POLLIN);
            fds.putShort(6, (short) 0);
            for (int i = 0; i < current.size(); i++) {
                fds.putInt(8L * (i + 1), current.get(i).pidfd());
                fds.putShort(8L * (i + 1) + 4, Syscalls.POLLIN);
                fds.putShort(8L * (i + 1) + 6, (short) 0);
            }
            int n = libc.poll(fds, current.size() + 1, -1);
            if (n < 0) {
                if (Syscalls.errno() != Syscalls.EINTR) {
                    LOG.log(Level.ERROR, "poll failed", Syscalls.failure("poll"));
                    sleepQuietly();
                }
                continue;
            }
            if (fds.getShort(6) != 0) {
                libc.read(wakeFd, counter.pointer(), 8);
            }
            for (int i = 0; i < current.size(); i++) {
                if (fds.getShort(8L * (i + 1) + 6) != 0) {
                    collect(current.get(i), info.pointer());
                }
            }
        }
        for (Watch w : watches.values()) {
            libc.close(w.pidfd());
        }
        watches.clear();
        synchronized (one) {
            libc.close(wakeFd);
            this.wakeFd = -1;
        }
    }
    /** Peeks the status, tells the listener, then reaps; a process that is not our child reports NOT_COLLECTED. */
    private void collect(Watch w, Pointer info) {
        LibC libc = Syscalls.libc();
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
        wake(); // no eventfd yet: the thread sees closed once it made it
        queued.clear();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
