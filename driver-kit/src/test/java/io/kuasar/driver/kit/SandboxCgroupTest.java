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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SandboxCgroupTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MIB = 1L << 20;

    private static JsonNode r(String json) throws Exception {
        return JSON.readTree(json);
    }

    @Test
    void withoutACapTheSumOfTheLimitsPlusOverheadOrNoLimitWhileOneContainerHasNone() throws Exception {
        JsonNode a = r("{\"memory\":{\"limit\":" + 64 * MIB + "},\"cpu\":{\"quota\":50000,\"period\":100000}}");
        JsonNode b = r("{\"memory\":{\"limit\":" + 32 * MIB + "},\"cpu\":{\"quota\":10000,\"period\":50000}}");
        assertEquals(new SandboxCgroup.Limits(96 * MIB + 128 * MIB, 70_000),
                SandboxCgroup.sized(List.of(a, b), -1, 128 * MIB));
        assertEquals(new SandboxCgroup.Limits(-1, -1), SandboxCgroup.sized(List.of(a, r("{}")), -1, 128 * MIB),
                "one container without limits: the sandbox has none");
        assertEquals(new SandboxCgroup.Limits(-1, -1), SandboxCgroup.sized(List.of(), -1, 128 * MIB));
    }

    @Test
    void aCapBoundsTheSumAndStandsInForAMissingLimit() throws Exception {
        JsonNode big = r("{\"memory\":{\"limit\":" + 4096 * MIB + "}}");
        assertEquals(512 * MIB + MIB, SandboxCgroup.sized(List.of(big), 512 * MIB, MIB).memoryBytes());
        assertEquals(512 * MIB + MIB, SandboxCgroup.sized(List.of(r("{}")), 512 * MIB, MIB).memoryBytes());
    }

    @Test
    void pathsAndRecordedResources(@TempDir Path dir) throws Exception {
        assertEquals("/kubepods/p1/kuasar-runsc-s1", SandboxCgroup.path("runsc", "kubepods/p1/", "s1"));
        assertEquals("/kuasar-vmm/kuasar-vmm-s2", SandboxCgroup.path("vmm", " ", "s2"));
        // a parent climbing out of the hierarchy would have limits written, and directories removed, elsewhere
        for (String bad : new String[] {"/kubepods/../../../etc/cron.d", "../x", "/a/./b", "system.slice:cri:p1"}) {
            SandboxException e = assertThrows(SandboxException.class, () -> SandboxCgroup.path("runsc", bad, "s3"));
            assertEquals(SandboxException.Code.INVALID_ARGUMENT, e.code(), bad);
            assertTrue(e.getMessage().contains("not a plain cgroupfs path"), e.getMessage());
        }
        Files.writeString(dir.resolve("config.json"), "{\"process\":{\"args\":[\"sh\"]}}");
        assertEquals(JSON.createObjectNode(), SandboxCgroup.recordedResources(dir));
        JsonNode limits = r("{\"memory\":{\"limit\":1048576}}");
        SandboxCgroup.recordResources(dir, limits);
        assertEquals(limits, SandboxCgroup.recordedResources(dir));
        assertEquals("sh", JSON.readTree(dir.resolve("config.json").toFile()).at("/process/args/0").asText(),
                "the rest of the spec is kept");
    }

    /** A cgroup path from a client's spec that climbs out of cgroupfs must remove nothing there. */
    @Test
    void removeTouchesNothingOutsideCgroupfs(@TempDir Path dir) throws Exception {
        Path victim = Files.createDirectory(dir.resolve("victim"));
        String climbing = "/../../../.." + victim; // from /sys/fs/cgroup/HIERARCHY back to / and down to victim
        List<String> left = SandboxCgroup.remove(climbing);
        assertTrue(Files.isDirectory(victim), "an empty directory outside cgroupfs was removed");
        assertEquals(1, left.size(), left::toString);
        assertTrue(left.get(0).contains("not a plain absolute cgroupfs path"), left::toString);
        assertEquals(List.of("cgroup \"rel/x\" is not a plain absolute cgroupfs path: not removed"),
                SandboxCgroup.remove("rel/x"));
    }
}
