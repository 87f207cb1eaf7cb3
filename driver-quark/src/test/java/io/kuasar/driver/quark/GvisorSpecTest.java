package io.kuasar.driver.quark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import io.kuasar.spi.SandboxException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The specs gVisor gets: the pod's sandbox container, and app containers as CRI wrote them, made acceptable. */
class GvisorSpecTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** What CRI 2.1 writes for a pod whose Start returned pid 4711 (the sandbox process). */
    private static final String CRI_SPEC = "{\"ociVersion\":\"1.2.0\",\"process\":{\"args\":[\"sh\"]},"
            + "\"annotations\":{\"io.kubernetes.cri.container-type\":\"container\","
            + "\"io.kubernetes.cri.sandbox-id\":\"pod1\",\"io.kubernetes.cri.container-name\":\"c\"},"
            + "\"linux\":{\"cgroupsPath\":\"/kq/c1\",\"namespaces\":[{\"type\":\"pid\"},"
            + "{\"type\":\"ipc\",\"path\":\"/proc/4711/ns/ipc\"},{\"type\":\"uts\",\"path\":\"/proc/4711/ns/uts\"},"
            + "{\"type\":\"mount\"},{\"type\":\"network\",\"path\":\"/proc/4711/ns/net\"}]}}";

    @Test
    void appContainerJoinsThePodsSandboxAndNetnsWithoutHostNamespacePaths(@TempDir Path tmp) throws Exception {
        Path config = tmp.resolve("config.json");
        Files.writeString(config, CRI_SPEC);
        GvisorSpec.prepareContainer(config, "pod1", "/run/netns/cni-7", java.util.Map.of());
        JsonNode spec = JSON.readTree(config.toFile());
        assertEquals("container", spec.at("/annotations/io.kubernetes.cri.container-type").asText());
        assertEquals("pod1", spec.at("/annotations/io.kubernetes.cri.sandbox-id").asText());
        assertEquals("c", spec.at("/annotations/io.kubernetes.cri.container-name").asText(), "others kept");
        assertEquals("/kq/c1", spec.at("/linux/cgroupsPath").asText(), "the rest untouched");
        JsonNode ns = spec.at("/linux/namespaces");
        assertEquals(5, ns.size());
        for (JsonNode n : ns) {
            if (n.get("type").asText().equals("network")) {
                assertEquals("/run/netns/cni-7", n.get("path").asText());
            } else {
                assertFalse(n.has("path"), () -> "no host namespace path left: " + n);
            }
        }
    }

    @Test
    void hostNetworkPodDropsTheNetworkEntry() throws Exception {
        ObjectNode spec = (ObjectNode) JSON.readTree(CRI_SPEC);
        GvisorSpec.rewrite(spec, "pod1", "");
        for (JsonNode n : spec.at("/linux/namespaces")) {
            assertFalse(n.get("type").asText().equals("network"), "network namespace entry removed");
        }
    }

    @Test
    void sandboxContainerIsMarkedSandboxAndRunsThePauseProgramFromAReadOnlyRoot() {
        ObjectNode spec = GvisorSpec.sandboxSpec("pod1", "web-0", Path.of("/run/q/pause-rootfs"),
                List.of("/sleep", "2147483647"), Path.of("/run/q/pods/pod1/files/shm"), "/kubepods/pod1/kuasar-runsc-pod1");
        assertEquals("/kubepods/pod1/kuasar-runsc-pod1", spec.at("/linux/cgroupsPath").asText());
        assertEquals("sandbox", spec.at("/annotations/io.kubernetes.cri.container-type").asText());
        assertEquals("pod1", spec.at("/annotations/io.kubernetes.cri.sandbox-id").asText());
        assertEquals("/sleep", spec.at("/process/args/0").asText());
        assertEquals("/run/q/pause-rootfs", spec.at("/root/path").asText());
        assertTrue(spec.at("/root/readonly").asBoolean());
        assertEquals("web-0", spec.get("hostname").asText());
        assertEquals("/run/q/pods/pod1/files/shm", spec.at("/annotations/dev.gvisor.spec.mount.kuasar-shm.source").asText());
        assertEquals("pod", spec.at("/annotations/dev.gvisor.spec.mount.kuasar-shm.share").asText());
        for (JsonNode n : spec.at("/linux/namespaces")) {
            assertFalse(n.get("type").asText().equals("network"), "runsc stays in the netns it was started in");
        }
    }

    @Test
    void podSharedPidNamespaceBecomesTheSandboxsRootOneAndAContainersOwnStays() throws Exception {
        ObjectNode shared = (ObjectNode) JSON.readTree(CRI_SPEC.replace("{\"type\":\"pid\"}",
                "{\"type\":\"pid\",\"path\":\"/proc/4711/ns/pid\"}"));
        GvisorSpec.rewrite(shared, "pod1", "");
        assertFalse(shared.at("/linux/namespaces").toString().contains("pid"), shared.toString());
        ObjectNode own = (ObjectNode) JSON.readTree(CRI_SPEC);
        GvisorSpec.rewrite(own, "pod1", "");
        assertTrue(own.at("/linux/namespaces").toString().contains("{\"type\":\"pid\"}"), own.toString());
    }

    @Test
    void podFilesAreBoundWhereTheSpecMountsNothingAndThePodsShmReplacesTheDefaultTmpfs() throws Exception {
        ObjectNode spec = (ObjectNode) JSON.readTree(CRI_SPEC.replace("\"annotations\"", "\"mounts\":["
                + "{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\"},"
                + "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"/mine\"}],\"annotations\""));
        GvisorSpec.bindPodFiles(spec, Map.of("/etc/hosts", "/p/hosts", "/etc/resolv.conf", "/p/resolv.conf",
                "/dev/shm", "/p/shm"));
        Map<String, String> sources = new TreeMap<>();
        spec.get("mounts").forEach(m -> sources.put(m.get("destination").asText(), m.get("source").asText()));
        assertEquals(Map.of("/etc/hosts", "/mine", "/etc/resolv.conf", "/p/resolv.conf", "/dev/shm", "/p/shm"),
                sources, "the client's own /etc/hosts kept, the default /dev/shm replaced");
        assertEquals(3, spec.get("mounts").size());
    }

    @Test
    void propagatingMountsAreRefusedNamingGvisorsLimitAndTheFileIsUnchanged(@TempDir Path tmp) throws Exception {
        Path config = tmp.resolve("config.json");
        String text = CRI_SPEC.replace("\"annotations\"", "\"mounts\":[{\"destination\":\"/data\","
                + "\"type\":\"bind\",\"source\":\"/d\",\"options\":[\"rbind\",\"rslave\"]}],\"annotations\"");
        Files.writeString(config, text);
        SandboxException e = assertThrows(SandboxException.class,
                () -> GvisorSpec.prepareContainer(config, "pod1", "", Map.of()));
        assertEquals(SandboxException.Code.FAILED_PRECONDITION, e.code());
        assertTrue(e.getMessage().contains("/data") && e.getMessage().contains("gVisor"), e.getMessage());
        assertEquals(text, Files.readString(config));
    }

    /** What a failed runsc delete leaves is found again from containerd's spec; nothing when it names none. */
    @Test
    void theContainersCgroupsPathIsReadFromItsSpec(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("config.json");
        Files.writeString(config, "{\"linux\":{\"cgroupsPath\":\"/kubepods/pod1/c1\"}}");
        assertEquals("/kubepods/pod1/c1", GvisorSpec.cgroupsPath(config));
        Files.writeString(config, "{\"linux\":{}}");
        assertEquals("", GvisorSpec.cgroupsPath(config));
        assertEquals("", GvisorSpec.cgroupsPath(dir.resolve("missing.json")));
    }
}
