package io.kuasar.host.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Files for fuzz targets whose code under test reads and writes real files. */
public final class FuzzFiles {
    private FuzzFiles() {
    }

    /**
     * A fresh directory, on tmpfs when there is one: the code under test fsyncs what it writes, which on a disk
     * would make every execution wait for it.
     */
    public static Path tempDir(String prefix) {
        try {
            Path shm = Path.of("/dev/shm");
            Path d = Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, prefix)
                    : Files.createTempDirectory(prefix);
            d.toFile().deleteOnExit();
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
