package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/** {@link HostTools} without a node: finding binaries, and failing in CI where elsewhere a test is skipped. */
class HostToolsTest {
    @Test
    void findsAShellAndNotAMadeUpName() {
        Optional<Path> sh = HostTools.find("sh");
        assertTrue(sh.isPresent() && Files.isExecutable(sh.get()), () -> "sh: " + sh);
        assertEquals(Optional.empty(), HostTools.find("kuasar-no-such-tool"));
    }

    @Test
    void somethingMissingFailsInCiAndIsSkippedElsewhereNamingIt() {
        AssertionFailedError ci = assertThrows(AssertionFailedError.class,
                () -> HostTools.require(false, "runsc is not on PATH", true));
        assertTrue(ci.getMessage().contains("runsc is not on PATH") && ci.getMessage().contains("CI=true"),
                ci::getMessage);
        TestAbortedException dev = assertThrows(TestAbortedException.class,
                () -> HostTools.require(false, "runsc is not on PATH", false));
        assertTrue(dev.getMessage().contains("runsc is not on PATH"), dev::getMessage);
        HostTools.require(true, "never said", true);
    }

    @Test
    void procLineReadsAWholeNumericSysctl() {
        // Files.readString gives "4" for this file's "40" here (see procLine); the last capability is above 30.
        assertTrue(Integer.parseInt(HostTools.procLine(Path.of("/proc/sys/kernel/cap_last_cap"))) >= 30);
    }
}
