package io.kuasar.host.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.ExitStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading the keeper's exit records: present, written late, missing, for a recycled pid, or no keeper at all. */
class KeeperExitRecordsTest {
    @TempDir
    Path dir;
    private KeeperExitRecords records;

    @AfterEach
    void close() {
        if (records != null) {
            records.close();
        }
    }

    private ExitStatus exitOf(Path keeperDir, long pid, long startTime, long waitMillis) throws Exception {
        records = new KeeperExitRecords(keeperDir);
        return records.exitOf(pid, startTime, Duration.ofMillis(waitMillis), "container c").toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
    }

    @Test
    void aRecordGivesTheTrueCodeAndTimeAndIsForgottenOnceConsumed() throws Exception {
        Files.createDirectories(dir.resolve("exits"));
        Files.writeString(dir.resolve("exits/4242-777"), "4242 9 1700000000123456789\n");
        ExitStatus e = exitOf(dir, 4242, 777, 200);
        assertEquals(new ExitStatus(4242, 9, Instant.ofEpochSecond(1700000000L, 123456789)), e);
        assertTrue(records.recording());
        records.consumed(4242, 777);
        assertFalse(Files.exists(dir.resolve("exits/4242-777")), "consumed");
        assertTrue(records.recorded(4242, 777).isEmpty());
    }

    @Test
    void aRecordWrittenJustAfterTheExitIsWaitedFor() throws Exception {
        Files.createDirectories(dir.resolve("exits"));
        records = new KeeperExitRecords(dir);
        CompletableFuture<ExitStatus> f = records.exitOf(17, 5, Duration.ofSeconds(3), "exec e of c")
                .toCompletableFuture();
        Thread.sleep(150);
        assertFalse(f.isDone(), "no record yet: still waiting");
        Path tmp = dir.resolve("exits/.tmp");
        Files.writeString(tmp, "17 137 1700000000000000000\n");
        Files.move(tmp, dir.resolve("exits/17-5"));
        assertEquals(137, f.get(5, TimeUnit.SECONDS).code());
    }

    @Test
    void anotherProcessThatHadThePidDoesNotAnswer() throws Exception {
        Files.createDirectories(dir.resolve("exits"));
        Files.writeString(dir.resolve("exits/99-1"), "99 3 1\n");
        assertEquals(ExitStatus.UNKNOWN_CODE, exitOf(dir, 99, 2, 100).code());
        assertEquals(3, records.recorded(99, 0).orElseThrow().code(), "no start time known: the pid's newest record");
    }

    @Test
    void withoutAKeeperTheCodeIsUnknownAtOnce() throws Exception {
        assertEquals(ExitStatus.UNKNOWN_CODE, exitOf(null, 1, 1, 60_000).code());
        assertFalse(records.recording());
    }

    @Test
    void theKeepersDirectoryComesFromThePropertyElseTheEnvironment() {
        assertEquals(Path.of("/p"), KeeperExitRecords.keeperDir("/p", "/e"));
        assertEquals(Path.of("/e"), KeeperExitRecords.keeperDir(" ", "/e"));
        assertEquals(null, KeeperExitRecords.keeperDir(null, null));
    }
}
