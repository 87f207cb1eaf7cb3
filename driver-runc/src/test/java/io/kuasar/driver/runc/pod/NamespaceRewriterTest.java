package io.kuasar.driver.runc.pod;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kuasar.spi.SandboxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NamespaceRewriterTest {
    private static final long SERVED = 4242;
    private final ObjectMapper json = new ObjectMapper();

    private static String spec(String namespaces) {
        return """
                {"ociVersion":"1.1.0","process":{"args":["sleep","1"]},
                 "linux":{"resources":{"memory":{"limit":9223372036854775807,"swap":18446744073709551615}},
                          "cpuShares":0.5,
                          "namespaces":[%s]}}""".formatted(namespaces);
    }

    private static Map<String, String> targets() {
        return Map.of("network", "/var/run/netns/cni-1", "ipc", "/run/k/ns/p/ipc", "uts", "/run/k/ns/p/uts",
                "pid", "/proc/777/ns/pid");
    }

    @Test
    void rewritesEveryPodNamespaceAndKeepsTheRest(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("config.json");
        Files.writeString(config, spec("""
                {"type":"pid","path":"/proc/4242/ns/pid"},{"type":"network","path":"/proc/4242/ns/net"},
                {"type":"ipc","path":"/proc/4242/ns/ipc"},{"type":"uts","path":"/proc/4242/ns/uts"},
                {"type":"mount"},{"type":"cgroup","path":"/proc/1/ns/cgroup"}"""));
        assertTrue(new NamespaceRewriter().rewrite(config, SERVED, targets()));

        JsonNode ns = json.readTree(config.toFile()).path("linux").path("namespaces");
        Map<String, String> paths = new HashMap<>();
        ns.forEach(n -> paths.put(n.path("type").asText(), n.path("path").asText("")));
        assertEquals("/proc/777/ns/pid", paths.get("pid"));
        assertEquals("/var/run/netns/cni-1", paths.get("network"));
        assertEquals("/run/k/ns/p/ipc", paths.get("ipc"));
        assertEquals("/run/k/ns/p/uts", paths.get("uts"));
        assertEquals("", paths.get("mount"), "a new namespace stays new");
        assertEquals("/proc/1/ns/cgroup", paths.get("cgroup"), "paths of other pids are the client's choice");
        String text = Files.readString(config);
        assertTrue(text.contains("18446744073709551615"), "uint64 values survive: " + text);
        assertTrue(text.contains("9223372036854775807"));
        assertTrue(text.contains("0.5"));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temp file left beside config.json");
        }
    }

    @Test
    void unchangedSpecIsNotRewritten(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("config.json");
        String original = spec("{\"type\":\"ipc\"},{\"type\":\"network\",\"path\":\"/var/run/netns/x\"}");
        Files.writeString(config, original);
        assertFalse(new NamespaceRewriter().rewrite(config, SERVED, targets()));
        assertEquals(original, Files.readString(config));
    }

    @Test
    void hostNetworkPodAskingForThePodNetnsIsAnError(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("config.json");
        Files.writeString(config, spec("{\"type\":\"network\",\"path\":\"/proc/4242/ns/net\"}"));
        Map<String, String> noNet = new HashMap<>(targets());
        noNet.remove("network");
        SandboxException e = assertThrows(SandboxException.class,
                () -> new NamespaceRewriter().rewrite(config, SERVED, noNet));
        assertEquals(SandboxException.Code.FAILED_PRECONDITION, e.code());
        assertTrue(e.getMessage().contains("network"), e.getMessage());
    }

    @Test
    void namespaceThePodDoesNotOwnIsAnError(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("config.json");
        Files.writeString(config, spec("{\"type\":\"user\",\"path\":\"/proc/4242/ns/user\"}"));
        assertThrows(SandboxException.class, () -> new NamespaceRewriter().rewrite(config, SERVED, targets()));
        Files.writeString(config, spec("{\"type\":\"pid\",\"path\":\"/proc/4242/ns/pid\"}"));
        Map<String, String> noPid = new HashMap<>(targets());
        noPid.remove("pid");
        assertThrows(SandboxException.class, () -> new NamespaceRewriter().rewrite(config, SERVED, noPid));
    }

    @Test
    void mismatchedTypeAndPathIsRejected(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("config.json");
        Files.writeString(config, spec("{\"type\":\"ipc\",\"path\":\"/proc/4242/ns/net\"}"));
        SandboxException e = assertThrows(SandboxException.class,
                () -> new NamespaceRewriter().rewrite(config, SERVED, targets()));
        assertEquals(SandboxException.Code.INVALID_ARGUMENT, e.code());
    }
}
