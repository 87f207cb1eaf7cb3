package io.kuasar.driver.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.OrphanExits;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Collecting an exit seen by someone else: wait for the process, then its file, else the keeper's record. */
class ExitFilesTest {
    @TempDir
    Path dir;

    /** A keeper that recorded nothing but {@code recorded}. */
    private static OrphanExits keeper(Optional<ExitStatus> recorded) {
        return keeper(recorded, new AtomicInteger());
    }

    /** As above, counting in {@code asked} the questions about an exit. */
    private static OrphanExits keeper(Optional<ExitStatus> recorded, AtomicInteger asked) {
        return new OrphanExits() {
            @Override
            public boolean recording() {
                return true;
            }

            @Override
            public Optional<ExitStatus> recorded(long pid, long startTime) {
                asked.incrementAndGet();
                return recorded;
            }

            @Override
            public CompletionStage<ExitStatus> exitOf(long pid, long startTime, Duration wait, String what) {
                asked.incrementAndGet();
                return CompletableFuture.completedFuture(new ExitStatus(pid, ExitStatus.UNKNOWN_CODE, Instant.now()));
            }

            @Override
            public void consumed(long pid, long startTime) {
            }
        };
    }

    @Test
    void aProcessStillRunningIsWaitedForThenItsFileAnswers() throws Exception {
        Path file = dir.resolve("exit");
        Process p = new ProcessBuilder("/bin/sh", "-c", "sleep 0.5; echo '5 1700000000000000000' > " + file).start();
        CompletableFuture<ExitStatus> e = ExitFiles.collect(file, keeper(Optional.empty()), p.pid(),
                ProcStat.startTime(p.pid()), Duration.ofMillis(100), "test").toCompletableFuture();
        Thread.sleep(200);
        assertFalse(e.isDone(), "answered while the process still ran");
        assertEquals(5, e.get(10, TimeUnit.SECONDS).code());
    }

    @Test
    void withoutAFileTheKeepersRecordAnswersAndIsKeptInTheFile() throws Exception {
        Path file = dir.resolve("exit");
        ExitStatus kept = new ExitStatus(4242, 9, Instant.ofEpochSecond(1700000000L));
        assertEquals(9, ExitFiles.collect(file, keeper(Optional.of(kept)), 4242, 0, Duration.ofMillis(100), "test")
                .toCompletableFuture().get(10, TimeUnit.SECONDS).code());
        assertEquals(kept, ExitFiles.read(file, 4242).orElseThrow());
    }

    @Test
    void aCancelledCollectNeitherPollsOnNorAsksTheKeeper() throws Exception {
        AtomicInteger asked = new AtomicInteger();
        Process p = new ProcessBuilder("sleep", "0.2").start();
        OrphanExits keeper = keeper(Optional.empty(), asked);
        ExitFiles.collect(dir.resolve("exit"), keeper, p.pid(), ProcStat.startTime(p.pid()), Duration.ofMillis(100),
                "test").toCompletableFuture().cancel(false);
        p.onExit().get(10, TimeUnit.SECONDS);
        Thread.sleep(300); // past the process's end and the whole wait: a poll left running would have asked
        assertEquals(0, asked.get());
    }

    @Test
    void withNeitherTheCodeIsUnknown() throws Exception {
        assertEquals(ExitStatus.UNKNOWN_CODE, ExitFiles.collect(dir.resolve("exit"), keeper(Optional.empty()), 4242, 0,
                Duration.ofMillis(100), "test").toCompletableFuture().get(10, TimeUnit.SECONDS).code());
    }
}
