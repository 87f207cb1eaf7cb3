package io.kuasar.driver.kit;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.OrphanExits;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * An exit status kept in a file beside a process's work files ({@code <code> <exited_at_unix_nanos>}). It is how the
 * driver instance that saw a child process end tells the instance that replaced it meanwhile (an upgrade in the same
 * JVM: the child is still the JVM's, so the keeper never sees it), and how an exit read once from the keeper's
 * records stays with the process after the record is consumed.
 *
 * <p>A driver calls {@link #write} from a process's exit callback, which may run after its bundle was updated: load
 * this class before (any earlier call does), so the callback needs nothing from a class loader that is gone.
 */
public final class ExitFiles {
    private static final long RETRY_MS = 25;

    private ExitFiles() {
    }

    /** Writes {@code file} atomically; a work dir that is gone (the process was deleted) is nobody's concern. */
    public static void write(Path file, int code, Instant at) {
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            long nanos = at.getEpochSecond() * 1_000_000_000L + at.getNano();
            Files.writeString(tmp, code + " " + nanos + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            // the work dir is gone: nobody asks any more
        }
    }

    /** The exit kept in {@code file}, if it was written (whole: it is renamed into place). */
    public static Optional<ExitStatus> read(Path file, long pid) {
        try {
            String[] v = Files.readString(file, StandardCharsets.UTF_8).trim().split("\\s+");
            return Optional.of(new ExitStatus(pid, Integer.parseInt(v[0]), Instant.ofEpochSecond(0, Long.parseLong(v[1]))));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * The exit of a process that runs, or ran, out of this driver instance's sight (started by the instance it
     * replaced, or by a JVM that died): once it has ended (watched while it is still the process that had
     * {@code startTime}), from {@code file} (written by the instance whose child it was), else from the keeper's record
     * (then kept in {@code file} and the record consumed). Both are written just after the process is reaped, so each
     * is looked for again for up to {@code wait}; then {@link ExitStatus#UNKNOWN_CODE}. Never blocks the caller.
     * Cancelling the returned stage ({@code toCompletableFuture().cancel}) stops the looking: a driver instance that
     * hands the process over leaves no poll behind, nor a keeper's warning about an exit it no longer asks for.
     */
    public static CompletionStage<ExitStatus> collect(Path file, OrphanExits orphans, long pid, long startTime,
                                                      Duration wait, String what) {
        Optional<ProcessHandle> running = startTime > 0 && ProcStat.same(pid, startTime) ? ProcessHandle.of(pid)
                : Optional.empty();
        CompletionStage<?> gone = running.isPresent() ? running.get().onExit() // polls for a non-child: few of these
                : CompletableFuture.completedFuture(null);
        CompletableFuture<ExitStatus> done = new CompletableFuture<>();
        gone.thenRun(() -> poll(file, orphans, pid, startTime, System.nanoTime() + wait.toNanos(), what, done));
        return done;
    }

    private static void poll(Path file, OrphanExits orphans, long pid, long startTime, long deadline, String what,
                             CompletableFuture<ExitStatus> done) {
        if (done.isDone()) {
            return; // cancelled: nobody asks any more
        }
        Optional<ExitStatus> own = read(file, pid);
        if (own.isPresent()) {
            done.complete(own.get());
            return;
        }
        Optional<ExitStatus> kept = orphans.recorded(pid, startTime);
        if (kept.isPresent()) {
            write(file, kept.get().code(), kept.get().exitedAt());
            orphans.consumed(pid, startTime);
            done.complete(kept.get());
            return;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            // the keeper's own wait (none: answers at once) logs why the code stays unknown
            orphans.exitOf(pid, startTime, Duration.ZERO, what).thenAccept(done::complete);
            return;
        }
        CompletableFuture.delayedExecutor(Math.min(RETRY_MS, TimeUnit.NANOSECONDS.toMillis(left) + 1),
                TimeUnit.MILLISECONDS).execute(() -> poll(file, orphans, pid, startTime, deadline, what, done));
    }
}
