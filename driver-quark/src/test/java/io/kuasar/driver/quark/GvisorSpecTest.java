package io.kuasar.driver.quark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
        GvisorSpec.prepareContainer(config, "pod1", "/run/netns/cni-7");
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
                List.of("/sleep", "2147483647"));
        assertEquals("sandbox", spec.at("/annotations/io.kubernetes.cri.container-type").asText());
        assertEquals("pod1", spec.at("/annotations/io.kubernetes.cri.sandbox-id").asText());
        assertEquals("/sleep", spec.at("/process/args/0").asText());
        assertEquals("/run/q/pause-rootfs", spec.at("/root/path").asText());
        assertTrue(spec.at("/root/readonly").asBoolean());
        assertEquals("web-0", spec.get("hostname").asText());
        for (JsonNode n : spec.at("/linux/namespaces")) {
            assertFalse(n.get("type").asText().equals("network"), "runsc stays in the netns it was started in");
        }
    }
}
