package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.LinuxContainerResources;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.StopContainerRequest;
import io.kuasar.api.cri.v1.UpdateContainerResourcesRequest;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Pause and Resume (ctr: CRI has no call for them) of a container in a VM pod: the guest agent freezes the
 * container's cgroup in the guest (runc pause there), so a busy loop uses no CPU while paused and runs on once
 * resumed. And Update: new limits reach the container's cgroup in the guest (runc update there), and the VM's host
 * cgroup (QEMU's) follows them: memory the containers' limits (at most the guest's RAM) plus QEMU's overhead, CPU
 * quota their quotas.
 */
class VmmContainerControlTest extends RuncFeatureBase {
    @BeforeAll
    static void qemuAndTheGuestImageAreThere() {
        HostTools.requireHandler(VmmPodTest.VMM_HANDLER);
    }

    @Test
    void aContainerInAVmIsFrozenWhilePausedAndRunsOnWhenResumed() throws Exception {
        PodSandboxConfig pod = podConfig("vm-pause");
        String podId = runPod(pod, VmmPodTest.VMM_HANDLER);
        String busy = cri.runContainer(podId, pod, containerConfig("busy", busybox(), "sh", "-c",
                "echo spinning; while :; do :; done"));
        cri.waitForLog(busy, "spinning", VmmPodTest.VM_WAIT);

        pausedUsesNoCpuAndResumedRunsAgain(busy, Duration.ofSeconds(1), Duration.ofMillis(500));

        ctr("tasks", "pause", busy); // Stop of a paused container: its signals land once it is thawed
        cri.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(busy).setTimeout(2).build());
        cri.waitForState(busy, ContainerState.CONTAINER_EXITED, VmmPodTest.VM_WAIT);
    }

    /** QEMU's own memory beside the guest's, added to the VM's host cgroup (VmCgroupSize.OVERHEAD_BYTES). */
    private static final long QEMU_OVERHEAD = 256L << 20;

    /** UpdateContainerResources reaches the container's cgroup in the guest (runc update there) and the VM's on the host. */
    @Test
    void newLimitsReachTheContainersCgroupInTheGuestAndTheVmsOnTheHost() throws IOException {
        PodSandboxConfig pod = podConfig("vm-update");
        String podId = runPod(pod, VmmPodTest.VMM_HANDLER);
        String c = cri.runContainer(podId, pod, containerConfig("sleeper", busybox(), "sleep", "3600"));
        cri.waitForState(c, ContainerState.CONTAINER_RUNNING, VmmPodTest.VM_WAIT);
        cri.runtime().updateContainerResources(UpdateContainerResourcesRequest.newBuilder().setContainerId(c)
                .setLinux(LinuxContainerResources.newBuilder().setCpuQuota(50_000).setCpuPeriod(100_000)
                        .setMemoryLimitInBytes(64L << 20)).build());
        // no cgroup namespace in the guest: the container sees the guest's tree, its own cgroup at /kuasar/ID
        var r = execSync(c, "sh", "-c", "cd /sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup) && cat cpu.max memory.max");
        assertEquals("50000 100000\n" + (64L << 20) + "\n", r.getStdout().toStringUtf8(),
                () -> "the container's cgroup in the guest: " + r.getStderr().toStringUtf8());

        // the pod's only container: the VM's host cgroup is its limits plus QEMU's overhead (default guest: 256 MiB)
        assumeTrue(CGROUPS.isV1(), () -> "the vmm driver sizes QEMU's cgroup in v1 hierarchies only: " + CGROUPS.describe());
        String vmCgroup = pod.getLinux().getCgroupParent() + "/kuasar-vmm-" + podId;
        Path memory = CGROUPS.dir("memory", vmCgroup);
        Path cpu = CGROUPS.dir("cpu", vmCgroup);
        assumeTrue(memory != null && cpu != null, () -> "no v1 memory or cpu hierarchy: " + CGROUPS.describe());
        assertEquals((64L << 20) + QEMU_OVERHEAD, Long.parseLong(read(memory.resolve("memory.limit_in_bytes"))));
        assertEquals("100000", read(cpu.resolve("cpu.cfs_period_us")));
        assertEquals("50000", read(cpu.resolve("cpu.cfs_quota_us")));

        // grown past the guest's RAM: the host cgroup stops at what the guest can use
        cri.runtime().updateContainerResources(UpdateContainerResourcesRequest.newBuilder().setContainerId(c)
                .setLinux(LinuxContainerResources.newBuilder().setCpuQuota(30_000).setCpuPeriod(20_000)
                        .setMemoryLimitInBytes(1L << 30)).build());
        assertEquals((256L << 20) + QEMU_OVERHEAD, Long.parseLong(read(memory.resolve("memory.limit_in_bytes"))));
        assertEquals("150000", read(cpu.resolve("cpu.cfs_quota_us")), "1.5 CPUs over a 100 ms period");
    }
}
