package io.kuasar.host.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What the keeper ({@code host/keeper}) counts, as it writes it, atomically, to {@code <dir>/stats} whenever a count
 * changes: {@code jvm_starts N} and {@code replayed_requests N}, one per line; and its pid in {@code <dir>/keeper.pid}.
 * The keeper's directory is the one {@link KeeperExitRecords} reads; none: the node runs without a keeper.
 */
final class KeeperStats {
    /** The counts; {@code restarts} is the JVM's starts after the first. */
    record Counts(long restarts, long replayedRequests) {
    }

    private final Path dir;

    private KeeperStats(Path dir) {
        this.dir = dir;
    }

    /** {@code keeperDir} null: no keeper, nothing to read. */
    static KeeperStats of(Path keeperDir) {
        return new KeeperStats(keeperDir);
    }

    /** Whether the node runs under a keeper (its directory is set). */
    boolean present() {
        return dir != null;
    }

    Path dir() {
        return dir;
    }

    /** The keeper's counts; empty without a keeper, or a keeper that wrote none yet (an older one). */
    Optional<Counts> read() {
        if (dir == null) {
            return Optional.empty();
        }
        try {
            long starts = 0;
            long replayed = 0;
            for (String line : Files.readAllLines(dir.resolve("stats"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length == 2 && f[0].equals("jvm_starts")) {
                    starts = Long.parseLong(f[1]);
                } else if (f.length == 2 && f[0].equals("replayed_requests")) {
                    replayed = Long.parseLong(f[1]);
                }
            }
            return Optional.of(new Counts(Math.max(0, starts - 1), replayed));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | NumberFormatException e) {
            System.getLogger(KeeperStats.class.getName()).log(System.Logger.Level.WARNING,
                    "cannot read the keeper''s stats in {0}: {1}", dir, e.toString());
            return Optional.empty();
        }
    }

    /** The keeper's pid from {@code keeper.pid}; empty when it is not there. */
    Optional<Long> pid() {
        if (dir == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(Long.parseLong(Files.readString(dir.resolve("keeper.pid")).trim()));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }
}
