package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.LinuxContainerResources;
import io.kuasar.api.cri.v1.UpdateContainerResourcesRequest;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * UpdateContainerResources on a running container: the new CPU shares, quota, period and memory limit reach its
 * cgroup (v1 files, or their v2 equivalents on a v2 host) and show in ContainerStatus. (A pids limit has no CRI
 * field, and ctr 2.1 has no task update: the driver's unit tests cover it.) On {@code kuasar-runsc} it sizes the
 * sandbox's host cgroup.
 */
class RuncUpdateResourcesTest extends RuncFeatureBase {
    private static final long MIB = 1024 * 1024;

    @ParameterizedTest(name = "{0}")
    @MethodSource("handlers")
    void newLimitsReachTheCgroupAndContainerStatus(String handler) throws Exception {
        ContainerConfig.Builder config = containerConfig("limited", busybox(), "sleep", "3600").toBuilder();
        config.getLinuxBuilder().setResources(LinuxContainerResources.newBuilder().setCpuShares(1024)
                .setMemoryLimitInBytes(256 * MIB));
        Started s = start(handler, "update", config.build());
        Path memory = cgroupDir("memory", s.containerId());
        Path cpu = cgroupDir("cpu", s.containerId());
        assertEquals(256 * MIB, memoryLimit(memory));

        LinuxContainerResources wanted = LinuxContainerResources.newBuilder().setCpuShares(512).setCpuQuota(50_000)
                .setCpuPeriod(100_000).setMemoryLimitInBytes(64 * MIB).build();
        cri.runtime().updateContainerResources(UpdateContainerResourcesRequest.newBuilder()
                .setContainerId(s.containerId()).setLinux(wanted).build());

        assertEquals(64 * MIB, memoryLimit(memory));
        if (CGROUPS.isV2()) {
            // runc turns shares into a weight and quota/period into cpu.max; which formula depends on its version
            long weight = Long.parseLong(read(cpu.resolve("cpu.weight")));
            assertTrue(weight == 20 || weight == 59, () -> "cpu.weight " + weight + " for 512 shares: runc's "
                    + "linear conversion gives 20, the logarithmic one of newer runc 59");
            assertEquals("50000 100000", read(cpu.resolve("cpu.max")));
        } else {
            assertEquals("512", read(cpu.resolve("cpu.shares")));
            assertEquals("50000", read(cpu.resolve("cpu.cfs_quota_us")));
            assertEquals("100000", read(cpu.resolve("cpu.cfs_period_us")));
        }
        LinuxContainerResources shown = cri.containerStatus(s.containerId()).getResources().getLinux();
        assertEquals(64 * MIB, shown.getMemoryLimitInBytes(), shown::toString);
        assertEquals(512, shown.getCpuShares(), shown::toString);
        assertEquals(50_000, shown.getCpuQuota(), shown::toString);
        assertEquals(100_000, shown.getCpuPeriod(), shown::toString);
        assertEquals(0, execSync(s.containerId(), "true").getExitCode(), "still runs under the new limits");
    }

    /**
     * gVisor runs a pod's containers in one sandbox process: an Update sizes the sandbox's host cgroup (below the
     * pod's cgroup parent, where runsc put the sentry and its gofers) to the containers' limits plus the sandbox's
     * overhead, and the container runs on.
     */
    @Test
    void aGvisorContainerUpdateSizesTheSandboxCgroup() throws Exception {
        assumeTrue(!CGROUPS.isV2(), "the runsc driver sizes cgroup v1 hierarchies; this host has cgroup v2");
        Started s = start(RunscPodTest.RUNSC_HANDLER, "gv-update", containerConfig("sleeper", busybox(), "sleep", "3600"));
        String sandbox = s.pod().getLinux().getCgroupParent().replaceAll("/+$", "") + "/kuasar-runsc-" + s.podId();
        Path memory = Path.of("/sys/fs/cgroup/memory").resolve(sandbox.substring(1));
        Path cpu = Path.of("/sys/fs/cgroup/cpu").resolve(sandbox.substring(1));
        assertFalse(read(memory.resolve("cgroup.procs")).isEmpty(), "the sandbox's processes are in " + memory);
        cri.runtime().updateContainerResources(UpdateContainerResourcesRequest.newBuilder()
                .setContainerId(s.containerId()).setLinux(LinuxContainerResources.newBuilder()
                        .setMemoryLimitInBytes(64 * MIB).setCpuQuota(50_000).setCpuPeriod(100_000)).build());
        assertEquals(64 * MIB + GVISOR_OVERHEAD, memoryLimit(memory), "the container's limit plus the sandbox's own");
        assertEquals("50000", read(cpu.resolve("cpu.cfs_quota_us")));
        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(s.containerId()).getState());
        assertEquals(0, execSync(s.containerId(), "true").getExitCode(), "runs on");
    }

    /** The runsc driver's allowance for the sentry and gofers beside the containers (RunscUpdate.OVERHEAD_BYTES). */
    private static final long GVISOR_OVERHEAD = 128 * MIB;

    /** The memory limit in bytes: v1 memory.limit_in_bytes, v2 memory.max. */
    private static long memoryLimit(Path dir) throws java.io.IOException {
        return Long.parseLong(read(dir.resolve(CGROUPS.isV2() ? "memory.max" : "memory.limit_in_bytes")));
    }
}
