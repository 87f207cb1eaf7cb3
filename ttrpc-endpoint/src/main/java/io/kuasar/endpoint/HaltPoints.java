package io.kuasar.endpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Test-only crash points: the node halts (as a {@code kill -9} would end it: no shutdown hook, nothing flushed) at a
 * named point of a Task API or sandbox Controller call, so a test can prove that what the keeper replays afterwards is answered as the
 * original would have been, with nothing done twice (issue 12, part 3).
 *
 * <p>Off unless the JVM was started with {@code -Dkuasar.test.haltFile=FILE} (scripts/kuasar-up.sh sets it from
 * {@code KUASAR_TEST_HALT_FILE}, which only the e2e tests set). The file lists armed points, one per line; a point
 * is {@code Task.<Method>:before} (request decoded, nothing done) or {@code Task.<Method>:after} (the driver has
 * answered, the answer is not sent), and likewise {@code Sandbox.<Method>:before|after} for the Controller. A point fires once: it is removed from the file, durably, before the halt, so
 * the JVM the keeper starts next does not halt there again.
 */
final class HaltPoints {
    static final String PROPERTY = "kuasar.test.haltFile";
    /** What a kill -9 gives: 128 + SIGKILL, so the keeper restarts the JVM as after a crash. */
    private static final int STATUS = 137;
    private static final HaltPoints OFF = new HaltPoints(null);

    private final Path file;

    HaltPoints(Path file) {
        this.file = file;
    }

    static HaltPoints fromSystemProperties() {
        String f = System.getProperty(PROPERTY, "");
        return f.isEmpty() ? OFF : new HaltPoints(Path.of(f));
    }

    boolean enabled() {
        return file != null;
    }

    /** Halts the JVM when {@code point} is armed; returns otherwise. */
    void reached(String point) {
        if (file != null && disarm(point)) {
            System.err.println("HALT at test point " + point + " (" + PROPERTY + "=" + file + ")");
            System.err.flush();
            Runtime.getRuntime().halt(STATUS);
        }
    }

    /** True when {@code point} was armed; it is not any more (written atomically and synced before this returns). */
    synchronized boolean disarm(String point) {
        List<String> armed;
        try {
            armed = new ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (!armed.remove(point)) {
            return false;
        }
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.write(tmp, armed, StandardCharsets.UTF_8);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
                dir.force(true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot disarm test point " + point + " in " + file, e);
        }
        return true;
    }
}
