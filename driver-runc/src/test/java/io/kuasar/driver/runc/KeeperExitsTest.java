package io.kuasar.driver.runc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.kuasar.spi.ExitStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading the keeper's exit records: present, written late, missing, or no keeper at all. */
class KeeperExitsTest {
    @TempDir
    Path dir;

    private record Answer(int code, Instant at, Path record) {
    }

    private Answer resolve(KeeperExits k, long pid, long startTime) throws Exception {
        CompletableFuture<Answer> f = new CompletableFuture<>();
        k.resolve(pid, startTime, "container c", (code, at, record) -> f.complete(new Answer(code, at, record)));
        return f.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aRecordGivesTheTrueCodeAndTime() throws Exception {
        Files.createDirectories(dir.resolve("exits"));
        Files.writeString(dir.resolve("exits/4242-777"), "4242 9 1700000000123456789\n");
        try (KeeperExits k = new KeeperExits(dir, 200)) {
            Answer a = resolve(k, 4242, 777);
            assertEquals(9, a.code());
            assertEquals(Instant.ofEpochSecond(1700000000L, 123456789), a.at());
            KeeperExits.consumed(a.record());
            assertFalse(Files.exists(dir.resolve("exits/4242-777")), "consumed");
        }
    }

    @Test
    void aRecordWrittenJustAfterTheExitIsWaitedFor() throws Exception {
        Files.createDirectories(dir.resolve("exits"));
        try (KeeperExits k = new KeeperExits(dir, 3000)) {
            CompletableFuture<Answer> f = new CompletableFuture<>();
            k.resolve(17, 5, "exec e of c", (code, at, record) -> f.complete(new Answer(code, at, record)));
            Thread.sleep(150);
            Path tmp = dir.resolve("exits/.tmp");
            Files.writeString(tmp, "17 137 1700000000000000000\n");
            Files.move(tmp, dir.resolve("exits/17-5"));
            assertEquals(137, f.get(5, TimeUnit.SECONDS).code());
        }
    }

    @Test
    void withoutARecordTheCodeIsUnknown() throws Exception {
        Files.createDirectories(dir.resolve("exits"));
        Files.writeString(dir.resolve("exits/99-1"), "99 3 1\n"); // another process that had pid 99
        try (KeeperExits k = new KeeperExits(dir, 100)) {
            Answer a = resolve(k, 99, 2);
            assertEquals(ExitStatus.UNKNOWN_CODE, a.code());
            assertNull(a.record());
        }
    }

    @Test
    void withoutAKeeperTheCodeIsUnknownAtOnce() throws Exception {
        try (KeeperExits k = new KeeperExits(null)) {
            assertEquals(ExitStatus.UNKNOWN_CODE, resolve(k, 1, 1).code());
        }
    }
}
