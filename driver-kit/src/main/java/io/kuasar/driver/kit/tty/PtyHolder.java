package io.kuasar.driver.kit.tty;

import io.kuasar.driver.kit.NativeBuffer;
import io.kuasar.driver.kit.ProcStat;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import jnr.ffi.LibraryLoader;

/**
 * Keeps a terminal open while no node runs. The pty master lives in this JVM, and closing it (the JVM ending)
 * would hang the terminal up; closing this JVM's end of containerd's stdout FIFO would give containerd EOF, and it
 * would stop reading the container's output for good. So a tiny holder process, {@code sleep infinity}, is
 * spawned with the master as fd 3, the stdout FIFO open for writing as fd 4 and the stdin FIFO open for reading as
 * fd 5 (so containerd's writes do not fail while no node reads), nothing else (0-2 are /dev/null, the rest closed).
 * When the JVM dies the holder is reparented to the node's keeper and keeps all three open; the container's output
 * waits in the pty's buffer. The restarted driver takes the master back with pidfd_getfd(2) (Linux 5.6), opens the
 * FIFOs again and copies on. The holder is killed once the process is gone, which is when containerd then sees
 * EOF on stdout. Recorded as "pid starttime" beside the process's work files, so a reused pid is never taken for
 * it.
 */
final class PtyHolder {
    private static final Logger LOG = System.getLogger(PtyHolder.class.getName());
    /** Where the master sits in the holder. */
    static final int HELD_FD = 3;
    private static final long SYS_PIDFD_GETFD = 438;
    private static final short POSIX_SPAWN_SETSID = 0x80;
    private static final int O_RDONLY = 0;
    private static final int O_RDWR = 2;
    private static final int O_NONBLOCK = 0x800;
    private static final List<String> SLEEP = List.of("/bin/sleep", "/usr/bin/sleep");
    private static final String ARGV0 = "kuasar-pty-holder";
    /** The holder's one environment entry: its record, by which one spawned but never recorded is found. */
    static final String RECORD_ENV = "KUASAR_PTY_HOLDER_RECORD";

    private static volatile SpawnLibC spawn;
    private static volatile boolean unavailable;

    private PtyHolder() {
    }

    /** A running holder: its pid and /proc start time. */
    record Held(long pid, long startTime) {
        String text() {
            return pid + " " + startTime + "\n";
        }

        static Held parse(String text) {
            String[] f = text.trim().split("\\s+");
            return new Held(Long.parseLong(f[0]), Long.parseLong(f[1]));
        }
    }

    /**
     * Spawns a holder of {@code master} and of the FIFOs {@code stdout} and {@code stdin} (paths, or null), and
     * records it in {@code record}; null when holders cannot be made here.
     */
    static Held hold(int master, String stdout, String stdin, Path record) {
        SpawnLibC s = spawnLibC();
        String sleep = SLEEP.stream().filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElse(null);
        if (s == null || sleep == null) {
            return null;
        }
        NativeBuffer actions = NativeBuffer.allocate(256);
        NativeBuffer attr = NativeBuffer.allocate(512);
        NativeBuffer pid = NativeBuffer.allocate(8);
        NativeBuffer argv = cStrings(ARGV0, "infinity");
        NativeBuffer envp = cStrings(RECORD_ENV + "=" + record);
        s.posix_spawn_file_actions_init(actions.pointer());
        s.posix_spawnattr_init(attr.pointer());
        try {
            for (int fd = 0; fd < 3; fd++) {
                s.posix_spawn_file_actions_addopen(actions.pointer(), fd, "/dev/null", O_RDWR, 0);
            }
            s.posix_spawn_file_actions_adddup2(actions.pointer(), master, HELD_FD);
            s.posix_spawn_file_actions_addclosefrom_np(actions.pointer(), HELD_FD + 1); // after the dup2, before opens
            // Neither open may block (posix_spawn waits for the exec): O_RDWR on a FIFO never does and makes the
            // holder a writer; the stdin FIFO is only read (a writer there would keep its EOF from us).
            if (stdout != null) {
                s.posix_spawn_file_actions_addopen(actions.pointer(), HELD_FD + 1, stdout, O_RDWR, 0);
            }
            if (stdin != null) {
                s.posix_spawn_file_actions_addopen(actions.pointer(), HELD_FD + 2, stdin, O_RDONLY | O_NONBLOCK, 0);
            }
            // its own session: no signal meant for the node's process group reaches it
            s.posix_spawnattr_setflags(attr.pointer(), POSIX_SPAWN_SETSID);
            int rc = s.posix_spawn(pid.pointer(), sleep, actions.pointer(), attr.pointer(), argv.pointer(),
                    envp.pointer());
            if (rc != 0) {
                LOG.log(Level.WARNING, "cannot spawn a pty holder: posix_spawn error " + rc);
                return null;
            }
        } finally {
            s.posix_spawn_file_actions_destroy(actions.pointer());
            s.posix_spawnattr_destroy(attr.pointer());
        }
        long holderPid = pid.buffer().getInt(0);
        Held held = new Held(holderPid, ProcStat.startTime(holderPid));
        try {
            io.kuasar.driver.kit.AtomicFiles.writeAtomically(record, held.text().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot record pty holder " + holderPid, e);
        }
        return held;
    }

    /** The holder recorded in {@code record} if it still runs, else null. */
    static Held find(Path record) {
        try {
            Held h = Held.parse(Files.readString(record));
            return ProcStat.same(h.pid(), h.startTime()) && h.startTime() != 0 ? h : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Records the holders whose record, under {@code root}, is missing: a JVM killed between spawning one and writing
     * its record left it. Nothing would end it, and it holds containerd's stdout FIFO open for writing, so containerd
     * would never see EOF there and never finish the container's exit (CONTAINER_RUNNING for ever). Recorded where the
     * process's work dir still is, so reattaching or removing the process finds it as any other; ended where not.
     */
    static void recordLeft(Path root) {
        try {
            for (long pid : ProcStat.pids()) {
                Path record = recordOf(pid);
                if (record == null || !record.startsWith(root) || Files.exists(record)) {
                    continue;
                }
                Held h = new Held(pid, ProcStat.startTime(pid));
                if (h.startTime() == 0) {
                    continue; // ended meanwhile
                }
                if (Files.isDirectory(record.getParent())) {
                    io.kuasar.driver.kit.AtomicFiles.writeAtomically(record, h.text().getBytes(StandardCharsets.UTF_8));
                    LOG.log(Level.INFO, "pty holder {0} of {1} was left unrecorded by a killed node process: recorded",
                            Long.toString(pid), record);
                } else {
                    end(h);
                    LOG.log(Level.INFO, "pty holder {0} of {1}, whose process is gone, was left by a killed node"
                            + " process: ended", Long.toString(pid), record);
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "cannot look for pty holders left unrecorded under " + root, e);
        }
    }

    /** The record a holder's environment names, or null for any other process. */
    private static Path recordOf(long pid) {
        List<String> argv = ProcStat.cmdline(pid);
        if (argv.isEmpty() || !argv.get(0).equals(ARGV0)) {
            return null;
        }
        try {
            String prefix = RECORD_ENV + "=";
            for (String e : new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "environ")),
                    StandardCharsets.UTF_8).split("\0")) {
                if (e.startsWith(prefix)) {
                    return Path.of(e.substring(prefix.length()));
                }
            }
        } catch (IOException | RuntimeException gone) {
            // ended during the scan, or not readable: not ours to settle
        }
        return null;
    }

    /** A new fd (close-on-exec) for the master {@code h} holds; -1 when it cannot be had. */
    static int reclaim(Held h) {
        SpawnLibC s = spawnLibC();
        TtyLibC libc = Native.libc();
        long pidfd = libc.syscall(Native.SYS_PIDFD_OPEN, h.pid(), 0);
        if (s == null || pidfd < 0) {
            return -1;
        }
        try {
            if (!ProcStat.same(h.pid(), h.startTime())) {
                return -1; // the pidfd is of a process that reused the pid
            }
            long fd = s.syscall(SYS_PIDFD_GETFD, pidfd, HELD_FD, 0);
            if (fd < 0) {
                LOG.log(Level.WARNING, "pidfd_getfd from pty holder " + h.pid() + " failed: errno " + Native.errno());
            }
            return (int) fd;
        } finally {
            libc.close((int) pidfd);
        }
    }

    /**
     * Ends the holder (the terminal's process is gone) and forgets it. A holder this JVM spawned is reaped here,
     * through a pidfd, so only that very process is waited for; one re-parented to the keeper (after a crash) is the
     * keeper's to reap.
     */
    static void release(Held h, Path record) {
        if (h != null) {
            end(h);
        }
        try {
            Files.deleteIfExists(record);
        } catch (IOException ignored) {
            // removed with the container's work dir
        }
    }

    private static void end(Held h) {
        TtyLibC libc = Native.libc();
        long pidfd = libc.syscall(Native.SYS_PIDFD_OPEN, h.pid(), 0);
        if (pidfd < 0) {
            return; // gone and reaped already
        }
        try {
            if (!ProcStat.same(h.pid(), h.startTime())) {
                return; // the pidfd is of a process that reused the pid
            }
            if (libc.kill((int) h.pid(), 9) != 0) {
                LOG.log(Level.DEBUG, "pty holder " + h.pid() + " already gone", Native.failure("kill"));
            }
            NativeBuffer info = NativeBuffer.allocate(Native.SIGINFO_SIZE);
            while (libc.waitid(Native.P_PIDFD, (int) pidfd, info.pointer(), Native.WEXITED) != 0
                    && Native.errno() == Native.EINTR) {
                // ECHILD ends the loop: not this JVM's child
            }
        } finally {
            libc.close((int) pidfd);
        }
    }

    private static SpawnLibC spawnLibC() {
        if (unavailable) {
            return null;
        }
        SpawnLibC s = spawn;
        if (s == null) {
            synchronized (PtyHolder.class) {
                try {
                    s = spawn != null ? spawn : LibraryLoader.create(SpawnLibC.class).failImmediately().load("c");
                    spawn = s;
                } catch (UnsatisfiedLinkError | RuntimeException e) {
                    unavailable = true;
                    LOG.log(Level.WARNING, "terminals will not survive a node restart: libc lacks posix_spawn's"
                            + " closefrom or pidfd support", e);
                    return null;
                }
            }
        }
        return s;
    }

    /** A NULL-terminated char*[] of {@code strings}, the strings in the same buffer after the pointers. */
    private static NativeBuffer cStrings(String... strings) {
        int pointers = (strings.length + 1) * 8;
        int size = pointers;
        for (String s : strings) {
            size += s.getBytes(StandardCharsets.UTF_8).length + 1;
        }
        NativeBuffer b = NativeBuffer.allocate(size);
        ByteBuffer buf = b.buffer();
        long base = b.pointer().address();
        int at = pointers;
        for (int i = 0; i < strings.length; i++) {
            byte[] s = strings[i].getBytes(StandardCharsets.UTF_8);
            buf.putLong(i * 8, base + at);
            buf.put(at, s);
            buf.put(at + s.length, (byte) 0);
            at += s.length + 1;
        }
        buf.putLong(strings.length * 8, 0);
        return b;
    }
}
