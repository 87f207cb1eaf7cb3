package io.kuasar.driver.quark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kuasar.driver.kit.testing.TempHostPaths;
import io.kuasar.spi.HostPaths;
import io.kuasar.spi.PodConfig;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Quark backend against a stand-in {@code quark}: a script that records its arguments and working directory,
 * writes its pid where Kuasar's contract says, and then stays up like Quark's sandbox process would.
 */
class QuarkDriverTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    private Path fake;
    private HostPaths paths;

    @BeforeEach
    void fakeQuark() throws Exception {
        fake = tmp.resolve("bin/quark");
        Files.createDirectories(fake.getParent());
        Files.writeString(fake, String.join("\n", "#!/bin/sh",
                "printf '%s\\n' \"$@\" > \"" + tmp.resolve("args") + "\"",
                "pwd > \"" + tmp.resolve("cwd") + "\"",
                "[ -n \"$QUARK_FAIL\" ] && { echo 'qkernel: cannot map memory' >&2; exit 3; }",
                "while [ $# -gt 0 ]; do [ \"$1\" = --pid-file ] && pidfile=$2; shift; done",
                "echo $$ > \"$pidfile\"",
                // stays this process (its command line is what the driver recognises), ends on SIGTERM
                "sleep 300 & trap 'kill $!; exit 0' TERM; wait", ""));
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
        paths = new TempHostPaths(tmp);
    }

    private QuarkDriver driver(List<String> extra) throws Exception {
        return new QuarkDriver(paths, new QuarkSettings(fake.toString(), extra, Duration.ofSeconds(5), Duration.ofSeconds(2)));
    }

    private static SandboxSpec spec(String id, String netns) {
        PodConfig pod = new PodConfig("web", "default", "uid-1", "web-0", "/var/log/pods/x", PodConfig.NamespaceMode.POD,
                PodConfig.NamespaceMode.CONTAINER, PodConfig.NamespaceMode.POD, "", Map.of(), List.of(), List.of(),
                List.of());
        return new SandboxSpec(id, "k8s.io", netns, List.of(), pod, null, Map.of(), Map.of("app", "web"));
    }

    @Test
    void startWritesTheBundleRunsKuasarsCommandInItAndReturnsQuarksTaskSocket() throws Exception {
        QuarkDriver d = driver(List.of("--debug"));
        d.create(spec("pod1", "/var/run/netns/cni-1"));
        SandboxStarted started = d.start("pod1");

        Path bundle = tmp.resolve("run/quark/quark/pods/pod1");
        assertEquals(List.of("-r", bundle.toString(), "sandbox", "--task-socket", bundle.resolve("task.sock").toString(),
                "--id", "pod1", "--pid-file", bundle.resolve("quark.pid").toString(), "--debug"),
                Files.readAllLines(tmp.resolve("args")));
        assertEquals(bundle.toRealPath().toString(), Files.readString(tmp.resolve("cwd")).trim(), "runs in the bundle");
        assertEquals("ttrpc+unix://" + bundle.resolve("task.sock"), started.taskAddress());
        assertEquals(3, started.taskApiVersion());
        assertEquals(Long.parseLong(Files.readString(bundle.resolve("quark.pid")).trim()), started.pid());
        assertTrue(ProcessHandle.of(started.pid()).map(ProcessHandle::isAlive).orElse(false), "quark runs");

        JsonNode config = JSON.readTree(bundle.resolve("config.json").toFile());
        assertEquals("web-0", config.get("hostname").asText());
        assertEquals("sandbox", config.at("/annotations/io.kubernetes.cri.container-type").asText());
        assertEquals("pod1", config.at("/annotations/io.kubernetes.cri.sandbox-id").asText());
        assertEquals("rootfs", config.at("/root/path").asText());
        assertTrue(config.at("/linux/namespaces").toString().contains("\"path\":\"/var/run/netns/cni-1\""));
        assertTrue(Files.isDirectory(bundle.resolve("rootfs/dev")), "rootfs with /dev");

        SandboxException served = assertThrows(SandboxException.class, () -> d.tasks("pod1"));
        assertEquals(SandboxException.Code.FAILED_PRECONDITION, served.code(), "Quark serves the tasks itself");

        d.stop("pod1", Duration.ofSeconds(2));
        assertTrue(ProcessHandle.of(started.pid()).isEmpty() || !ProcessHandle.of(started.pid()).get().isAlive());
        assertEquals(SandboxStatus.State.NOTREADY, d.status("pod1", false).state());
        d.shutdown("pod1");
        assertFalse(Files.exists(bundle), "bundle folder removed");
        assertFalse(Files.exists(tmp.resolve("state/quark/quark/pod1.json")), "state removed");
        d.shutdown("pod1"); // idempotent
    }

    @Test
    void aRestartedDriverReattachesToARunningQuark() throws Exception {
        QuarkDriver first = driver(List.of());
        first.create(spec("pod2", ""));
        long pid = first.start("pod2").pid();
        first.deactivate();

        QuarkDriver second = driver(List.of());
        List<SandboxStatus> recovered = List.copyOf(second.recover());
        assertEquals(1, recovered.size());
        assertEquals(SandboxStatus.State.READY, recovered.get(0).state());
        assertEquals(pid, recovered.get(0).pid());
        assertEquals("ttrpc+unix://" + tmp.resolve("run/quark/quark/pods/pod2/task.sock"),
                second.start("pod2").taskAddress(), "start again answers with the same address");
        second.shutdown("pod2");
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "shutdown ended quark");
    }

    @Test
    void aReleasedPodIsAdoptedBySuccessorWhileQuarkRunsOn() throws Exception {
        QuarkDriver leaving = driver(List.of());
        QuarkDriver successor = driver(List.of());
        leaving.create(spec("pod5", ""));
        long pid = leaving.start("pod5").pid();
        assertEquals(SandboxException.Code.NOT_FOUND,
                assertThrows(SandboxException.class, () -> successor.adopt("pod5-never")).code(), "nothing persisted");

        leaving.release("pod5");
        assertEquals(SandboxException.Code.NOT_FOUND,
                assertThrows(SandboxException.class, () -> leaving.status("pod5", false)).code(), "released");
        assertEquals(SandboxException.Code.NOT_FOUND,
                assertThrows(SandboxException.class, () -> leaving.release("pod5")).code(), "released once");
        SandboxStatus adopted = successor.adopt("pod5");
        assertEquals(SandboxStatus.State.READY, adopted.state());
        assertEquals(pid, adopted.pid());
        leaving.deactivate();
        assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "quark outlives the leaving instance");

        successor.shutdown("pod5");
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the successor ended quark");
    }

    @Test
    void quarkFailingToStartIsReportedWithItsOwnWords() throws Exception {
        Files.writeString(fake, Files.readString(fake).replace("[ -n \"$QUARK_FAIL\" ] && ", ""));
        QuarkDriver d = driver(List.of());
        d.create(spec("pod3", ""));
        SandboxException e = assertThrows(SandboxException.class, () -> d.start("pod3"));
        assertTrue(e.getMessage().contains("cannot map memory"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("state/quark/quark/pod3.json")), "a failed start leaves no state");
        assertFalse(Files.exists(tmp.resolve("run/quark/quark/pods/pod3")), "nor a bundle");
        d.shutdown("pod3"); // containerd may still ask: that succeeds
    }

    @Test
    void aMissingBinaryNamesTheSetting() throws Exception {
        QuarkDriver d = new QuarkDriver(paths, new QuarkSettings(tmp.resolve("nope").toString(), List.of(), null, null));
        d.create(spec("pod4", ""));
        SandboxException e = assertThrows(SandboxException.class, () -> d.start("pod4"));
        assertEquals(SandboxException.Code.FAILED_PRECONDITION, e.code());
        assertTrue(e.getMessage().contains("quark.binary"), e.getMessage());
    }
}
