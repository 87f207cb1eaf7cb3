package io.kuasar.host.internal;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.OrphanExits;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * The keeper's exit records ({@code host/keeper}, exit_records.c): for each orphan it reaps, the keeper writes
 * {@code <dir>/exits/<pid>-<starttime>} holding {@code <pid> <code> <exited_at_unix_nanos>}, atomically. The
 * keeper's directory is the framework property {@code kuasar.keeper.dir}, else {@code $KUASAR_KEEPER_DIR}, which
 * the keeper sets for the JVM it runs; neither set: the node runs without a keeper and nothing is recorded. This is
 * the one place that knows the keeper's record format.
 */
@Component(service = OrphanExits.class)
public class KeeperExitRecords implements OrphanExits {
    static final String KEEPER_DIR_PROPERTY = "kuasar.keeper.dir";
    static final String KEEPER_DIR_ENV = "KUASAR_KEEPER_DIR";
    private static final Logger LOG = System.getLogger(KeeperExitRecords.class.getName());
    private static final long RETRY_MS = 25;

    private final Path exitsDir;
    private final ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kuasar-keeper-exit-records");
        t.setDaemon(true);
        return t;
    });

    @Activate
    public KeeperExitRecords(BundleContext context) {
        this(keeperDir(context.getProperty(KEEPER_DIR_PROPERTY), System.getenv(KEEPER_DIR_ENV)));
    }

    /** {@code keeperDir} null: no keeper. */
    public KeeperExitRecords(Path keeperDir) {
        this.exitsDir = keeperDir == null ? null : keeperDir.resolve("exits");
    }

    static Path keeperDir(String property, String env) {
        String v = property == null || property.isBlank() ? env : property;
        return v == null || v.isBlank() ? null : Path.of(v.trim());
    }

    @Deactivate
    public void close() {
        retries.shutdownNow();
    }

    @Override
    public boolean recording() {
        return exitsDir != null;
    }

    @Override
    public Optional<ExitStatus> recorded(long pid, long startTime) {
        Path f = exitsDir == null ? null : find(pid, startTime);
        if (f == null) {
            return Optional.empty();
        }
        try {
            String[] v = Files.readString(f).trim().split("\\s+");
            return Optional.of(new ExitStatus(pid, Integer.parseInt(v[1]), Instant.ofEpochSecond(0, Long.parseLong(v[2]))));
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "unreadable keeper exit record " + f, e);
            return Optional.empty(); // half a line cannot be: the keeper renames whole records into place
        }
    }

    @Override
    public CompletionStage<ExitStatus> exitOf(long pid, long startTime, Duration wait, String what) {
        CompletableFuture<ExitStatus> done = new CompletableFuture<>();
        if (exitsDir == null) {
            LOG.log(Level.WARNING, "{0} (pid {1}) exited while not a child of this JVM and no keeper"
                    + " records exits: exit code unknown, reporting 255", what, Long.toString(pid));
            done.complete(unknown(pid));
            return done;
        }
        long deadline = System.nanoTime() + wait.toNanos();
        Runnable attempt = new Runnable() {
            @Override
            public void run() {
                Optional<ExitStatus> e = recorded(pid, startTime);
                if (e.isPresent()) {
                    done.complete(e.get());
                    return;
                }
                if (System.nanoTime() < deadline) {
                    try {
                        retries.schedule(this, RETRY_MS, TimeUnit.MILLISECONDS);
                        return;
                    } catch (RejectedExecutionException closing) {
                        // the host goes away: answer now
                    }
                }
                LOG.log(Level.WARNING, "{0} (pid {1}) exited while not a child of this JVM and the"
                        + " keeper has no record of it in {2}: exit code unknown, reporting 255",
                        what, Long.toString(pid), exitsDir);
                done.complete(unknown(pid));
            }
        };
        try {
            retries.execute(attempt);
        } catch (RejectedExecutionException closing) {
            attempt.run(); // closing: one last look, on the caller's thread
        }
        return done;
    }

    private static ExitStatus unknown(long pid) {
        return new ExitStatus(pid, ExitStatus.UNKNOWN_CODE, Instant.now());
    }

    @Override
    public void consumed(long pid, long startTime) {
        Path f = exitsDir == null ? null : find(pid, startTime);
        if (f != null) {
            try {
                Files.deleteIfExists(f);
            } catch (IOException e) {
                LOG.log(Level.DEBUG, "cannot remove " + f, e);
            }
        }
    }

    /** The record of {@code pid-startTime}; with no start time, the newest record for the pid. */
    private Path find(long pid, long startTime) {
        if (startTime > 0) {
            Path f = exitsDir.resolve(pid + "-" + startTime);
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
}
