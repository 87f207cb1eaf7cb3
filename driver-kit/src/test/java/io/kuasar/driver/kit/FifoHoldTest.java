package io.kuasar.driver.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kuasar.spi.Stdio;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Holding output FIFOs: only FIFOs are held, and while held a writer's open does not wait for a reader. */
class FifoHoldTest {
    @TempDir
    Path dir;

    @Test
    void aHeldFifoLetsAWriterOpenItAndPlainFilesAreLeftAlone() throws Exception {
        Path fifo = dir.resolve("stdout");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        Path plain = Files.writeString(dir.resolve("stderr"), "");
        try (FifoHold hold = FifoHold.of(new Stdio("", fifo.toString(), plain.toString(), false))) {
            assertEquals(1, hold.size(), "the FIFO, not the plain file");
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try (FileChannel w = FileChannel.open(fifo, StandardOpenOption.WRITE)) {
                    w.write(java.nio.ByteBuffer.wrap(new byte[] {'x'}));
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            writer.get(5, TimeUnit.SECONDS); // without the hold, open(O_WRONLY) would wait for a reader for ever
        }
        assertEquals(0, FifoHold.of(new Stdio("", "", "", false)).size());
    }
}
