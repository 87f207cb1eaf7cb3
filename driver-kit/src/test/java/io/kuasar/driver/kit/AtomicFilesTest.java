package io.kuasar.driver.kit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void replacesAndLeavesNoTempFile() throws Exception {
        Path f = dir.resolve("state.json");
        AtomicFiles.writeAtomically(f, "old".getBytes(StandardCharsets.UTF_8));
        AtomicFiles.writeAtomically(f, "new".getBytes(StandardCharsets.UTF_8));
        assertArrayEquals("new".getBytes(StandardCharsets.UTF_8), Files.readAllBytes(f));
        try (Stream<Path> all = Files.list(dir)) {
            assertEquals(1, all.count(), "only the target remains");
        }
    }

    @Test
    void largeContentIsWrittenWhole() throws Exception {
        byte[] big = new byte[3 * 1024 * 1024];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) i;
        }
        Path f = dir.resolve("big");
        AtomicFiles.writeAtomically(f, big);
        assertArrayEquals(big, Files.readAllBytes(f));
    }
}
