package io.kuasar.driver.runc.pod;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kuasar.host.fuzz.FuzzFiles;
import io.kuasar.host.fuzz.FuzzInput;
import io.kuasar.host.fuzz.FuzzSeeds;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Fuzz target {@code runc-namespace-rewriter}: a container's {@code config.json} as containerd's client wrote it
 * (untrusted: any JSON, or none), through {@link NamespaceRewriter#rewrite(Path, long, Map)} at task create. What
 * must hold:
 * <ul>
 *   <li>it returns, or throws a SandboxException (INVALID_ARGUMENT, FAILED_PRECONDITION), never anything else;</li>
 *   <li>after a rewrite, no namespace path names the served pid ({@code /proc/<pid>/ns/...}, which would be this
 *       node's own namespaces), a namespace the pod takes from the node is gone, and the file is a JSON object;</li>
 *   <li>unchanged means byte for byte unchanged; a second rewrite changes nothing (a replayed create is safe).</li>
 * </ul>
 * Input: byte 0 picks the targets (which of network, ipc, uts, pid the pod has, as a path or from the node, and
 * which pod files it binds), byte 1 the served pid (4242 or 1), the rest is config.json.
 */
class NamespaceRewriterFuzzTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path DIR = FuzzFiles.tempDir("ns-rewriter-fuzz");
    private static final String[] TYPES = {"network", "ipc", "uts", "pid"};

    @FuzzTest(maxDuration = "10s")
    void configJson(byte[] data) throws IOException, SandboxException {
        FuzzInput in = new FuzzInput(data);
        int pick = in.u8();
        long pid = in.bool() ? 4242 : 1;
        byte[] json = in.rest();
        Map<String, String> targets = new LinkedHashMap<>();
        for (int i = 0; i < TYPES.length; i++) {
            int t = (pick >> (2 * i)) & 3;
            if (t == 1) {
                targets.put(TYPES[i], "/run/kuasar/ns/pod1/" + TYPES[i]);
            } else if (t == 2) {
                targets.put(TYPES[i], NamespaceRewriter.NODE);
            } else if (t == 3 && i == 0) {
                targets.put("/etc/hosts", "/run/kuasar/pods/pod1/hosts");
                targets.put("/dev/shm", "/run/kuasar/pods/pod1/shm");
            }
        }
        Path config = DIR.resolve("config.json");
        Files.write(config, json);
        NamespaceRewriter rewriter = new NamespaceRewriter();
        boolean changed;
        try {
            changed = rewriter.rewrite(config, pid, targets);
        } catch (SandboxException e) {
            assertTrue(e.code() == SandboxException.Code.INVALID_ARGUMENT
                    || e.code() == SandboxException.Code.FAILED_PRECONDITION, e.code() + ": " + e.getMessage());
            return;
        }
        byte[] after = Files.readAllBytes(config);
        if (!changed) {
            assertArrayEquals(json, after, "the file changed although rewrite said it did not");
        }
        JsonNode spec = JSON.readTree(after);
        assertTrue(spec.isObject(), "config.json is no longer a JSON object");
        Pattern served = Pattern.compile("/proc/" + pid + "/ns/[a-z_]+");
        for (JsonNode ns : spec.path("linux").path("namespaces")) {
            String path = ns.path("path").asText("");
            assertFalse(served.matcher(path).matches(), "a namespace still points at the served pid: " + ns);
        }
        assertFalse(rewriter.rewrite(config, pid, targets), "a second rewrite changed the file again");
        assertArrayEquals(after, Files.readAllBytes(config));
    }

    @TestFactory
    Stream<DynamicTest> seeds() {
        return FuzzSeeds.replay("runc-namespace-rewriter", this::configJson);
    }
}
