package io.kuasar.driver.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kuasar.spi.SandboxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A pod's resources into fake cgroup trees; what a pod cgroup does not take is refused with nothing written. */
class PodCgroupTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode json(String text) throws Exception {
        return JSON.readTree(text);
    }

    private static Cgroups v1(Path root) throws Exception {
        for (String c : List.of("cpu", "memory", "pids")) {
            Files.createDirectories(root.resolve(c).resolve("kubepods/pod1"));
        }
        return new Cgroups(Map.of("cpu", root.resolve("cpu"), "memory", root.resolve("memory"), "pids",
                root.resolve("pids")), null);
    }

    @Test
    void v1GetsMemoryCpuAndPidsFiles(@TempDir Path root) throws Exception {
        Cgroups layout = v1(root);
        PodCgroup.apply("pod1", layout, "/kubepods/pod1", json("{\"memory\":{\"limit\":268435456,\"swap\":null},"
                + "\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000},\"pids\":{\"limit\":0},\"devices\":[]}"));
        assertEquals("268435456", Files.readString(root.resolve("memory/kubepods/pod1/memory.limit_in_bytes")));
        assertEquals("512", Files.readString(root.resolve("cpu/kubepods/pod1/cpu.shares")));
        assertEquals("50000", Files.readString(root.resolve("cpu/kubepods/pod1/cpu.cfs_quota_us")));
        assertEquals("100000", Files.readString(root.resolve("cpu/kubepods/pod1/cpu.cfs_period_us")));
        assertEquals("max", Files.readString(root.resolve("pids/kubepods/pod1/pids.max")));
    }

    @Test
    void v2GetsTheUnifiedFilesWithSharesAsWeight(@TempDir Path root) throws Exception {
        Files.createDirectories(root.resolve("kubepods/pod1"));
        PodCgroup.apply("pod1", new Cgroups(Map.of(), root), "/kubepods/pod1", json(
                "{\"memory\":{\"limit\":-1},\"cpu\":{\"shares\":1024,\"quota\":25000}}"));
        assertEquals("max", Files.readString(root.resolve("kubepods/pod1/memory.max")));
        assertEquals("39", Files.readString(root.resolve("kubepods/pod1/cpu.weight")));
        assertEquals("25000 100000", Files.readString(root.resolve("kubepods/pod1/cpu.max")));
    }

    @Test
    void whatAPodCgroupDoesNotTakeIsRefusedNamingItWithNothingWritten(@TempDir Path root) throws Exception {
        Cgroups layout = v1(root);
        SandboxException cpus = assertThrows(SandboxException.class, () -> PodCgroup.apply("pod1", layout,
                "/kubepods/pod1", json("{\"memory\":{\"limit\":1048576},\"cpu\":{\"cpus\":\"0-1\"}}")));
        assertEquals(SandboxException.Code.FAILED_PRECONDITION, cpus.code());
        assertTrue(cpus.getMessage().contains("linux.resources.cpu.cpus"), cpus.getMessage());
        SandboxException blockIo = assertThrows(SandboxException.class, () -> PodCgroup.apply("pod1", layout,
                "/kubepods/pod1", json("{\"blockIO\":{\"weight\":10}}")));
        assertTrue(blockIo.getMessage().contains("linux.resources.blockIO"), blockIo.getMessage());
        SandboxException text = assertThrows(SandboxException.class, () -> PodCgroup.apply("pod1", layout,
                "/kubepods/pod1", json("{\"memory\":{\"limit\":\"lots\"}}")));
        assertEquals(SandboxException.Code.INVALID_ARGUMENT, text.code());
        SandboxException gone = assertThrows(SandboxException.class, () -> PodCgroup.apply("pod1", layout,
                "/kubepods/pod2", json("{\"memory\":{\"limit\":1048576}}")));
        assertTrue(gone.getMessage().contains("does not exist"), gone.getMessage());
        assertTrue(Files.notExists(root.resolve("memory/kubepods/pod1/memory.limit_in_bytes")));
    }

    @Test
    void thePathIsTheCgroupParentElseTheParentOfAContainersCgroup(@TempDir Path bundle) throws Exception {
        assertEquals("/kubepods/pod1", PodCgroup.path("p", " /kubepods/pod1 ", List.of()));
        Files.writeString(bundle.resolve("config.json"), "{\"linux\":{\"cgroupsPath\":\"/kubepods/pod7/c1\"}}");
        assertEquals("/kubepods/pod7", PodCgroup.path("p", "", List.of(bundle)));
        SandboxException none = assertThrows(SandboxException.class, () -> PodCgroup.path("p", "", List.of()));
        assertTrue(none.getMessage().contains("no cgroup of its own"), none.getMessage());
        assertThrows(SandboxException.class, () -> PodCgroup.path("p", "/kubepods/../etc", List.of()));
    }
}
