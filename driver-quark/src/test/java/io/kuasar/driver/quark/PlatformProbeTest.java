package io.kuasar.driver.quark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The probe's choice is kept per runsc binary, so a driver upgrade does not boot probe sandboxes again. */
class PlatformProbeTest {
    @TempDir
    Path dir;

    @Test
    void aChoiceIsKeptForTheSameBinaryAndProbedAgainForAChangedOne() throws Exception {
        Path runsc = dir.resolve("runsc");
        Files.writeString(runsc, "#!/bin/sh\nexit 1\n"); // no platform works: a probe answers ptrace
        Files.setPosixFilePermissions(runsc, PosixFilePermissions.fromString("rwx------"));
        Path scratch = Files.createDirectory(dir.resolve("scratch"));

        assertEquals("ptrace", PlatformProbe.remembered(runsc.toString(), scratch), "probed");
        Path kept = scratch.resolve("platform");
        Files.writeString(kept, Files.readString(kept).replace("ptrace", "systrap"));
        assertEquals("systrap", PlatformProbe.remembered(runsc.toString(), scratch), "kept, not probed again");

        Files.setLastModifiedTime(runsc, FileTime.from(Instant.now().plusSeconds(60))); // another runsc
        assertEquals("ptrace", PlatformProbe.remembered(runsc.toString(), scratch), "probed again");
    }
}
