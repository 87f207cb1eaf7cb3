package io.kuasar.driver.quark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Fuzz target {@code quark-gvisor-spec}: an app container's {@code config.json} as containerd's client wrote it
 * (untrusted), through {@link GvisorSpec#prepareContainer} before runsc sees it. What must hold:
 * <ul>
 *   <li>it returns or throws a SandboxException, INVALID_ARGUMENT (not JSON, not an object, a namespace entry
 *       that is not an object), never anything else, and a refused file is left as it was;</li>
 *   <li>after it: the CRI annotations name this pod's sandbox and a "container"; no namespace keeps a path except
 *       the network, which is the pod's netns; without a netns there is no network entry; preparing twice gives
 *       the same file (a replayed create is safe).</li>
 * </ul>
 * Input: byte 0 picks the netns (a path, or none for a host-network pod), the rest is config.json.
 */
class GvisorSpecFuzzTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path DIR = FuzzFiles.tempDir("gvisor-spec-fuzz");
    private static final String NETNS = "/var/run/netns/cni-1234";

    @FuzzTest(maxDuration = "10s")
    void configJson(byte[] data) throws IOException, SandboxException {
        FuzzInput in = new FuzzInput(data);
        String netns = in.bool() ? NETNS : (in.bool() ? "" : null);
        byte[] json = in.rest();
        Path config = DIR.resolve("config.json");
        Files.write(config, json);
        try {
            GvisorSpec.prepareContainer(config, "pod-1", netns, java.util.Map.of());
        } catch (SandboxException e) {
            assertEquals(SandboxException.Code.INVALID_ARGUMENT, e.code(), e.getMessage());
            assertArrayEquals(json, Files.readAllBytes(config), "a refused config.json was changed");
            return;
        }
        byte[] after = Files.readAllBytes(config);
        JsonNode spec = JSON.readTree(after);
        assertTrue(spec.isObject());
        assertEquals("container", spec.path("annotations").path(GvisorSpec.CONTAINER_TYPE).asText());
        assertEquals("pod-1", spec.path("annotations").path(GvisorSpec.SANDBOX_ID).asText());
        for (JsonNode ns : spec.path("linux").path("namespaces")) {
            if ("network".equals(ns.path("type").asText())) {
                assertTrue(netns != null && !netns.isEmpty(), "a network namespace for a host-network pod: " + ns);
                assertEquals(netns, ns.path("path").asText());
            } else {
                assertFalse(ns.has("path"), "a namespace path outside the sandbox's kernel: " + ns);
            }
        }
        GvisorSpec.prepareContainer(config, "pod-1", netns, java.util.Map.of());
        assertArrayEquals(after, Files.readAllBytes(config), "preparing twice changed the file");
    }

    @TestFactory
    Stream<DynamicTest> seeds() {
        return FuzzSeeds.replay("quark-gvisor-spec", this::configJson);
    }
}
