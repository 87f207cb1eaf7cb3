package io.kuasar.driver.runc;

import io.kuasar.driver.kit.AtomicFiles;
import io.kuasar.driver.kit.ProcStat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Which JVM the driver last started in, kept in a file of its run dir as {@code <pid> <starttime>} (a process's name
 * since boot). It tells the first driver instance of a JVM, whose recovery follows a start of the node (after a
 * crash, say), from a later one (a driver upgrade in the same JVM), on disk rather than in a system property.
 */
final class JvmMark {
    private JvmMark() {
    }

    /** True, and this JVM recorded, when no earlier instance started in this JVM; false otherwise. */
    static boolean claim(Path file) throws IOException {
        long self = ProcessHandle.current().pid();
        String mark = self + " " + ProcStat.startTime(self);
        try {
            if (Files.readString(file, StandardCharsets.UTF_8).trim().equals(mark)) {
                return false;
            }
        } catch (NoSuchFileException first) {
            // no instance started since the run dir was made (a reboot clears it)
        }
        AtomicFiles.writeAtomically(file, (mark + "\n").getBytes(StandardCharsets.UTF_8));
        return true;
    }
}
