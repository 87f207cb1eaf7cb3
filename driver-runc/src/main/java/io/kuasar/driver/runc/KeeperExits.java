package io.kuasar.driver.runc;

import io.kuasar.spi.ExitStatus;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Exit statuses collected by the node's keeper ({@code host/keeper}) for processes that are not this JVM's
 * children: container processes of a previous host JVM, reparented to the keeper (a child subreaper above the JVM)
 * when that JVM died. The keeper reaps them and writes {@code <dir>/exits/<pid>-<starttime>} holding
 * {@code <pid> <code> <exited_at_unix_nanos>}, atomically, just after the reap. Without a keeper, or without a
 * record, such an exit cannot be known: 255, as containerd's shim reports lost exits.
 */
final class KeeperExits implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(KeeperExits.class.getName());
    /** How long to wait for the keeper's record after the process was seen gone (it writes it after reaping). */
    static final long RECORD_WAIT_MS = 3000;
    private static final long RETRY_MS = 25;

    /** What the caller learns: the code and the time of the exit. */
    interface Listener {
        void exited(int code, Instant exitedAt, Path record);
    }

    private final Path exitsDir;
    private final ScheduledExecutorService retries;
    private final long waitMillis;

    /** {@code keeperDir} null: no keeper, every lookup answers 255 at once. */
    KeeperExits(Path keeperDir) {
        this(keeperDir, RECORD_WAIT_MS);
    }

    KeeperExits(Path keeperDir, long waitMillis) {
        this.waitMillis = waitMillis;
        this.exitsDir = keeperDir == null ? null : keeperDir.resolve("exits");
        this.retries = keeperDir == null ? null : Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "kuasar-runc-keeper-exits");
            t.setDaemon(true);
            return t;
        });
    }

    boolean enabled() {
        return exitsDir != null;
    }

    /** The record file's name for a process: {@code <pid>-<starttime>}. */
    static String name(long pid, long startTime) {
        return pid + "-" + startTime;
    }

    /**
     * Tells {@code listener}, once, the exit of {@code pid} (a process that is gone, or a zombie of the keeper) from
     * the keeper's record, waiting up to {@link #RECORD_WAIT_MS} for it to appear; 255 without one. Never blocks
     * the caller.
     */
    void resolve(long pid, long startTime, String what, Listener listener) {
        if (exitsDir == null) {
            LOG.log(Level.WARNING, "{0} (pid {1}) exited while not a child of this JVM and no keeper records exits: "
                    + "exit code unknown, reporting 255", new Object[] {what, Long.toString(pid)});
            listener.exited(ExitStatus.UNKNOWN_CODE, Instant.now(), null);
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMillis);
        Runnable attempt = new Runnable() {
            @Override
            public void run() {
                Path f = find(pid, startTime);
                if (f != null) {
                    try {
                        String[] v = Files.readString(f).trim().split("\\s+");
                        int code = Integer.parseInt(v[1]);
                        long nanos = Long.parseLong(v[2]);
                        listener.exited(code, Instant.ofEpochSecond(0, nanos), f);
                        return;
                    } catch (IOException | RuntimeException e) {
                        LOG.log(Level.WARNING, "unreadable keeper exit record " + f, e);
                    }
                } else if (System.nanoTime() < deadline) {
                    retries.schedule(this, RETRY_MS, TimeUnit.MILLISECONDS);
                    return;
                }
                LOG.log(Level.WARNING, "{0} (pid {1}) exited while not a child of this JVM and the keeper has no "
                        + "record of it in {2}: exit code unknown, reporting 255",
                        new Object[] {what, Long.toString(pid), exitsDir});
                listener.exited(ExitStatus.UNKNOWN_CODE, Instant.now(), null);
            }
        };
        try {
            retries.execute(attempt);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            attempt.run(); // closing: one last look, on the caller's thread
        }
    }

    private Path find(long pid, long startTime) {
        if (startTime > 0) {
            Path f = exitsDir.resolve(name(pid, startTime));
            return Files.isRegularFile(f) ? f : null;
        }
        Path found = null;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(exitsDir, pid + "-*")) {
            for (Path f : ds) {
                if (found == null || Files.getLastModifiedTime(f).compareTo(Files.getLastModifiedTime(found)) > 0) {
                    found = f;
                }
            }
        } catch (IOException e) {
            return null;
        }
        return found;
    }

    /** Removes a record once its exit is persisted in the driver's own state. */
    static void consumed(Path record) {
        if (record == null) {
            return;
        }
        try {
            Files.deleteIfExists(record);
        } catch (IOException e) {
            LOG.log(Level.FINE, "cannot remove " + record, e);
        }
    }

    @Override
    public void close() {
        if (retries != null) {
            retries.shutdown();
        }
    }
}
