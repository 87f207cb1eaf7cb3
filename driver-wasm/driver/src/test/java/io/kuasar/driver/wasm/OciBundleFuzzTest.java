package io.kuasar.driver.wasm;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.kuasar.host.fuzz.FuzzFiles;
import io.kuasar.host.fuzz.FuzzSeeds;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Fuzz target {@code wasm-oci-bundle}: a wasm container's {@code config.json} as containerd's client wrote it
 * (untrusted), through {@link OciBundle#read}, the first thing the wasm driver does with a bundle. What must hold:
 * <ul>
 *   <li>it returns or throws a SandboxException (INVALID_ARGUMENT), nothing else;</li>
 *   <li>what it returns is usable as documented: args[0] present and not blank, args and env lists without nulls,
 *       every volume's destination absolute, normalized, not / and not under /proc, /sys or /dev, its source an
 *       absolute path that existed; a memory limit of at least 0.</li>
 * </ul>
 * Input: config.json. Mount sources are checked for existence on this machine: seeds use /tmp and /etc.
 */
class OciBundleFuzzTest {
    private static final Path BUNDLE = FuzzFiles.tempDir("oci-bundle-fuzz");

    @FuzzTest(maxDuration = "10s")
    void configJson(byte[] data) throws IOException {
        Files.write(BUNDLE.resolve("config.json"), data);
        OciBundle.Parsed p;
        try {
            p = OciBundle.read(BUNDLE);
        } catch (SandboxException e) {
            assertTrue(e.code() == SandboxException.Code.INVALID_ARGUMENT, e.code() + ": " + e.getMessage());
            return;
        }
        assertNotNull(p.arg0());
        assertFalse(p.arg0().isBlank());
        assertTrue(p.args().stream().allMatch(a -> a != null) && p.env().stream().allMatch(e -> e != null));
        assertNotNull(p.cwd());
        assertNotNull(p.cgroupsPath());
        assertTrue(p.memoryLimit() >= 0);
        for (OciBundle.Volume v : p.volumes()) {
            String d = v.destination();
            assertTrue(d.startsWith("/") && !d.equals("/") && Path.of(d).normalize().toString().equals(d), d);
            for (String k : new String[] {"/proc", "/sys", "/dev"}) {
                assertFalse(d.equals(k) || d.startsWith(k + "/"), "a kernel file system kept as a volume: " + d);
            }
            assertTrue(v.source().isAbsolute(), v.source().toString());
        }
    }

    @TestFactory
    Stream<DynamicTest> seeds() {
        return FuzzSeeds.replay("wasm-oci-bundle", this::configJson);
    }
}
