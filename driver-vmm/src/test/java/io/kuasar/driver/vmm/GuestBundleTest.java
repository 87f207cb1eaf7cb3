package io.kuasar.driver.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The guest's copy of a CRI container spec. */
class GuestBundleTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;

    @Test
    void namespacesCgroupAndFileMountsAreMadeForTheGuest() throws Exception {
        Path hosts = dir.resolve("hosts");
        Files.writeString(hosts, "127.0.0.1 localhost\n");
        Path config = dir.resolve("config.json");
        Files.writeString(config, """
                {"ociVersion":"1.1.0","process":{"args":["sh"],"apparmorProfile":"x"},
                 "root":{"path":"/var/lib/containerd/x/rootfs","readonly":true},
                 "hooks":{"prestart":[{"path":"/bin/false"}]},
                 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
                           {"destination":"/etc/hosts","type":"bind","source":"%s","options":["rbind","ro"]},
                           {"destination":"/dev/shm","type":"bind","source":"/run/pod/shm","options":["rbind"]},
                           {"destination":"/gone","type":"bind","source":"/nonexistent/x","options":["rbind"]}],
                 "linux":{"cgroupsPath":"/kubepods/pod1/c1","resources":{"hugepageLimits":[],"memory":{"limit":1}},
                          "namespaces":[{"type":"pid"},{"type":"network","path":"/proc/42/ns/net"},
                                        {"type":"ipc","path":"/proc/42/ns/ipc"},{"type":"uts"},{"type":"mount"}]}}
                """.formatted(hosts));
        Path share = Files.createDirectories(dir.resolve("share/c1"));
        GuestBundle.prepare(config, share, "c1");
        JsonNode spec = JSON.readTree(share.resolve("config.json").toFile());

        assertEquals("rootfs", spec.path("root").path("path").asText());
        assertTrue(spec.path("root").path("readonly").asBoolean());
        assertFalse(spec.has("hooks"), "host hooks cannot run in the guest");
        assertFalse(spec.path("process").has("apparmorProfile"));
        assertEquals("/kuasar/c1", spec.path("linux").path("cgroupsPath").asText());
        assertFalse(spec.path("linux").path("resources").has("hugepageLimits"));
        assertEquals(1, spec.path("linux").path("resources").path("memory").path("limit").asInt());
        List<String> ns = new ArrayList<>();
        spec.path("linux").path("namespaces").forEach(n -> ns.add(n.path("type").asText() + n.path("path").asText()));
        assertEquals(List.of("pid", "mount"), ns, "network, IPC, UTS are the guest's own");

        JsonNode mounts = spec.path("mounts");
        assertEquals(3, mounts.size(), "the mount of a missing host path is dropped: " + mounts);
        assertEquals("proc", mounts.get(0).path("type").asText());
        assertEquals("/run/kuasar/share/c1/files/0", mounts.get(1).path("source").asText());
        assertEquals("127.0.0.1 localhost\n", Files.readString(share.resolve("files/0")));
        assertEquals("/run/kuasar/shm", mounts.get(2).path("source").asText(), "the pod's /dev/shm is the guest's");
    }

    @Test
    void aPodSharedPidNamespaceAndDevShmAreTheOnesTheAgentHolds() throws Exception {
        Path config = dir.resolve("config.json");
        Files.writeString(config, """
                {"process":{"args":["sh"]},"mounts":[{"destination":"/dev/shm","type":"tmpfs","source":"shm"}],
                 "linux":{"namespaces":[{"type":"pid","path":"/proc/42/ns/pid"},
                 {"type":"mount"},{"type":"cgroup","path":"/proc/42/ns/cgroup"}]}}
                """);
        Path share = Files.createDirectories(dir.resolve("share/c1"));
        GuestBundle.prepare(config, share, "c1");
        List<String> ns = new ArrayList<>();
        JSON.readTree(share.resolve("config.json").toFile()).path("linux").path("namespaces")
                .forEach(n -> ns.add(n.path("type").asText() + n.path("path").asText()));
        assertEquals(List.of("pid/run/kuasar/pidns", "mount", "cgroup"), ns);
        assertEquals("/run/kuasar/shm", JSON.readTree(share.resolve("config.json").toFile()).path("mounts").get(0)
                .path("source").asText(), "a container's own /dev/shm tmpfs becomes the pod's");
    }

    @Test
    void thePodsFilesAreBoundWhereTheContainerMountsNothingOfItsOwn() throws Exception {
        Path podFiles = Files.createDirectories(dir.resolve("share/_pod"));
        for (String f : List.of("hostname", "hosts", "resolv.conf")) {
            Files.writeString(podFiles.resolve(f), f + "\n");
        }
        Path own = dir.resolve("own-hosts");
        Files.writeString(own, "10.0.0.1 mine\n");
        Path config = dir.resolve("config.json");
        Files.writeString(config, """
                {"process":{"args":["sh"]},"mounts":[{"destination":"/etc/hosts","type":"bind","source":"%s",
                 "options":["rbind","ro"]}]}
                """.formatted(own));
        Path share = Files.createDirectories(dir.resolve("share/c1"));
        GuestBundle.prepare(config, share, "c1");
        List<String> mounts = new ArrayList<>();
        JSON.readTree(share.resolve("config.json").toFile()).path("mounts")
                .forEach(m -> mounts.add(m.path("destination").asText() + "=" + m.path("source").asText()));
        assertEquals(List.of("/etc/hosts=/run/kuasar/share/c1/files/0", "/etc/hostname=/run/kuasar/share/_pod/hostname",
                "/etc/resolv.conf=/run/kuasar/share/_pod/resolv.conf"), mounts);
    }

    @Test
    void bidirectionalPropagationIsRefusedNamingTheMount() throws IOException {
        Path config = dir.resolve("config.json");
        Files.writeString(config, """
                {"process":{"args":["sh"]},"mounts":[{"destination":"/data","type":"bind","source":"%s",
                 "options":["rbind","rshared"]}]}
                """.formatted(Files.createDirectories(dir.resolve("vol"))));
        Path share = Files.createDirectories(dir.resolve("share/c1"));
        SandboxException e = assertThrows(SandboxException.class, () -> GuestBundle.prepare(config, share, "c1"));
        assertEquals(SandboxException.Code.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains("/data") && e.getMessage().contains("Bidirectional"), e.getMessage());
        assertFalse(Files.exists(share.resolve("config.json")), "nothing written for a refused container");
    }

    @Test
    void aSpecThatIsNotJsonIsInvalidArgument() throws IOException {
        Path config = dir.resolve("config.json");
        Files.writeString(config, "{not json");
        SandboxException e = assertThrows(SandboxException.class,
                () -> GuestBundle.prepare(config, Files.createDirectories(dir.resolve("s")), "c1"));
        assertEquals(SandboxException.Code.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains("c1"), e.getMessage());
    }
}
