package io.kuasar.driver.vmm;

import io.kuasar.driver.kit.SandboxCgroup;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The VM's host cgroup after a container Update follows the pod's containers (see VmCgroupSize). */
class VmCgroupSizeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MIB = 1L << 20;
    private static final long GUEST = 256 * MIB;

    private static JsonNode resources(String json) throws IOException {
        return JSON.readTree(json);
    }

    @Test
    void memoryIsTheSumOfTheLimitsPlusTheOverheadAndCpuTheSumOfTheQuotas() throws IOException {
        SandboxCgroup.Limits l = VmCgroupSize.of(GUEST, List.of(
                resources("{\"memory\":{\"limit\":" + 64 * MIB + "},\"cpu\":{\"quota\":50000,\"period\":100000}}"),
                resources("{\"memory\":{\"limit\":" + 32 * MIB + "},\"cpu\":{\"quota\":10000,\"period\":50000}}")));
        assertEquals(96 * MIB + VmCgroupSize.OVERHEAD_BYTES, l.memoryBytes());
        assertEquals(50_000 + 20_000, l.cpuQuotaUs(), "quotas are summed over a 100 ms period");
    }

    @Test
    void theGuestsRamBoundsTheMemoryAndAnUnlimitedContainerLiftsTheLimits() throws IOException {
        SandboxCgroup.Limits big = VmCgroupSize.of(GUEST, List.of(resources("{\"memory\":{\"limit\":" + 4096 * MIB
                + "},\"cpu\":{\"quota\":1000000,\"period\":100000}}")));
        assertEquals(GUEST + VmCgroupSize.OVERHEAD_BYTES, big.memoryBytes(), "the guest cannot use more than its RAM");
        assertEquals(1_000_000, big.cpuQuotaUs());
        SandboxCgroup.Limits mixed = VmCgroupSize.of(GUEST, List.of(
                resources("{\"memory\":{\"limit\":" + 64 * MIB + "},\"cpu\":{\"quota\":50000,\"period\":100000}}"),
                resources("{}")));
        assertEquals(GUEST + VmCgroupSize.OVERHEAD_BYTES, mixed.memoryBytes());
        assertEquals(-1, mixed.cpuQuotaUs());
        assertEquals(new SandboxCgroup.Limits(GUEST + VmCgroupSize.OVERHEAD_BYTES, -1), VmCgroupSize.of(GUEST, List.of()),
                "no live container: the size the pod started with");
    }

    @Test
    void aTinyQuotaIsRaisedToTheKernelsSmallest() throws IOException {
        assertEquals(1_000, VmCgroupSize.of(GUEST, List.of(resources("{\"cpu\":{\"quota\":1,\"period\":1000000}}")))
                .cpuQuotaUs());
    }

    @Test
    void anUpdateIsRecordedInTheGuestConfigWhereTheNextOneReadsIt(@TempDir Path share) throws IOException {
        Files.writeString(share.resolve("config.json"),
                "{\"process\":{\"args\":[\"sh\"]},\"linux\":{\"cgroupsPath\":\"/kuasar/c1\",\"resources\":{}}}");
        JsonNode r = resources("{\"memory\":{\"limit\":" + 64 * MIB + "}}");
        VmCgroupSize.record(share, r);
        assertEquals(r, VmCgroupSize.recorded(share));
        JsonNode spec = JSON.readTree(share.resolve("config.json").toFile());
        assertEquals("/kuasar/c1", spec.path("linux").path("cgroupsPath").asText(), "the rest of the spec stays");
        assertEquals(JSON.createObjectNode(), VmCgroupSize.recorded(share.resolve("none")), "no config: no limits");
    }
}
