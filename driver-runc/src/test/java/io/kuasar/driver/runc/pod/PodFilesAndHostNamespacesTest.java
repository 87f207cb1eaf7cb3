package io.kuasar.driver.runc.pod;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kuasar.spi.SandboxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What stands in for the pause container at task create: namespaces shared with the node dropped from the spec,
 * the pod's files bound in unless the client mounted its own, capabilities the node lacks refused with the reason,
 * and sysctls that would leak to the node refused before anything runs.
 */
class PodFilesAndHostNamespacesTest {
    private static final long SERVED = 4242;
    private final ObjectMapper json = new ObjectMapper();

    private ObjectNode spec(String mounts) throws Exception {
        return (ObjectNode) json.readTree("""
                {"process":{"capabilities":{"bounding":["CAP_CHOWN"],"effective":["CAP_CHOWN"]}},
                 "mounts":[%s],
                 "linux":{"namespaces":[{"type":"pid","path":"/proc/4242/ns/pid"},
                   {"type":"network","path":"/proc/4242/ns/net"},{"type":"ipc","path":"/proc/4242/ns/ipc"},
                   {"type":"uts","path":"/proc/4242/ns/uts"},{"type":"mount"}]}}""".formatted(mounts));
    }

    private static final String DEFAULT_SHM = """
            {"destination":"/dev/shm","type":"tmpfs","source":"shm","options":["nosuid"]}""";

    @Test
    void namespacesSharedWithTheNodeAreDroppedSoRuncKeepsItsOwn() throws Exception {
        ObjectNode spec = spec(DEFAULT_SHM);
        assertTrue(new NamespaceRewriter().rewrite(spec, SERVED, Map.of("network", NamespaceRewriter.NODE,
                "uts", NamespaceRewriter.NODE, "ipc", "/run/k/ns/p/ipc", "pid", NamespaceRewriter.NODE)));
        Map<String, String> left = new HashMap<>();
        spec.path("linux").path("namespaces").forEach(n -> left.put(n.path("type").asText(), n.path("path").asText("")));
        assertEquals(Map.of("ipc", "/run/k/ns/p/ipc", "mount", ""), left);
    }

    @Test
    void podFilesAreBoundInAndTheDefaultShmIsReplacedInPlace() throws Exception {
        ObjectNode spec = spec(DEFAULT_SHM + ",{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\"}");
        Map<String, String> targets = new HashMap<>(Map.of("network", "/n", "ipc", "/i", "uts", "/u", "pid", "/p"));
        targets.putAll(Map.of("/dev/shm", "/pod/shm", "/etc/hosts", "/pod/hosts"));
        assertTrue(new NamespaceRewriter().rewrite(spec, SERVED, targets));
        JsonNode mounts = spec.path("mounts");
        assertEquals(3, mounts.size());
        assertEquals("/pod/shm", mounts.get(0).path("source").asText(), "same place as the default it replaces");
        assertEquals("bind", mounts.get(0).path("type").asText());
        assertEquals("/etc/hosts", mounts.get(2).path("destination").asText());
        assertEquals("[\"rbind\",\"rprivate\",\"rw\"]", mounts.get(2).path("options").toString());

        String once = spec.toString();
        new NamespaceRewriter().rewrite(spec, SERVED, targets);
        assertEquals(once, spec.toString(), "a replayed create changes nothing more");
    }

    @Test
    void aMountTheClientPutAtThePathWins() throws Exception {
        ObjectNode spec = spec("""
                {"destination":"/etc/hosts","type":"bind","source":"/volumes/hosts","options":["rbind"]}""");
        new NamespaceRewriter().rewrite(spec, SERVED, Map.of("network", "/n", "ipc", "/i", "uts", "/u", "pid", "/p",
                "/etc/hosts", "/pod/hosts"));
        assertEquals(1, spec.path("mounts").size());
        assertEquals("/volumes/hosts", spec.path("mounts").get(0).path("source").asText());
    }

    @Test
    void aCapabilityTheNodeLacksIsRefusedNamingIt() throws Exception {
        ObjectNode spec = (ObjectNode) json.readTree("""
                {"process":{"capabilities":{"bounding":["CAP_CHOWN","CAP_SYS_RESOURCE"],"permitted":["CAP_SYS_RESOURCE"]}}}""");
        long withoutSysResource = 0x1ffffffffffL & ~(1L << 24);
        SandboxException e = assertThrows(SandboxException.class,
                () -> NamespaceRewriter.checkCapabilities(spec, withoutSysResource));
        assertTrue(e.getMessage().contains("CAP_SYS_RESOURCE") && e.getMessage().contains("bounding set"), e.getMessage());
        assertFalse(e.getMessage().contains("CAP_CHOWN"), e.getMessage());
        NamespaceRewriter.checkCapabilities(spec, -1L); // a node with every capability: fine
    }

    @Test
    void sysctlsThatWouldChangeTheNodeAreRefusedBeforeAnythingRuns(@TempDir Path nsDir) throws Exception {
        Files.createFile(nsDir.resolve(PodNamespaces.IPC));
        IllegalArgumentException notNamespaced = assertThrows(IllegalArgumentException.class,
                () -> PodNamespaces.applySysctls(nsDir, "/run/netns/x", Map.of("kernel.panic", "1")));
        assertTrue(notNamespaced.getMessage().contains("kernel.panic"), notNamespaced.getMessage());
        IllegalArgumentException hostNet = assertThrows(IllegalArgumentException.class,
                () -> PodNamespaces.applySysctls(nsDir, "", Map.of("net.ipv4.ip_forward", "1")));
        assertTrue(hostNet.getMessage().contains("hostNetwork"), hostNet.getMessage());
        Files.delete(nsDir.resolve(PodNamespaces.IPC));
        IllegalArgumentException hostIpc = assertThrows(IllegalArgumentException.class,
                () -> PodNamespaces.applySysctls(nsDir, "/run/netns/x", Map.of("kernel/shm_rmid_forced", "1")));
        assertTrue(hostIpc.getMessage().contains("kernel.shm_rmid_forced") && hostIpc.getMessage().contains("hostIPC"),
                hostIpc.getMessage());
        PodNamespaces.applySysctls(nsDir, "", Map.of()); // nothing asked: nothing run
    }

    @Test
    void podPathsNameOnlyTheFilesThatExistAndTheNodesShmForAHostIpcPod(@TempDir Path nsDir) throws Exception {
        assertEquals(Map.of(), PodNamespaces.podPaths(nsDir));
        for (String f : List.of(PodNamespaces.HOSTS, PodNamespaces.RESOLV, PodNamespaces.HOSTNAME_FILE)) {
            Files.writeString(nsDir.resolve(f), "x\n");
        }
        assertEquals("/dev/shm", PodNamespaces.podPaths(nsDir).get("/dev/shm"), "no ipc pin: host IPC");
        Files.createFile(nsDir.resolve(PodNamespaces.IPC));
        Files.createDirectory(nsDir.resolve(PodNamespaces.SHM));
        Map<String, String> paths = PodNamespaces.podPaths(nsDir);
        assertEquals(nsDir.resolve(PodNamespaces.SHM).toString(), paths.get("/dev/shm"));
        assertEquals(nsDir.resolve(PodNamespaces.HOSTS).toString(), paths.get("/etc/hosts"));
        assertEquals(4, paths.size());
    }
}
