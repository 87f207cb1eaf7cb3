package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.LinuxContainerResources;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.StopContainerRequest;
import io.kuasar.api.cri.v1.UpdateContainerResourcesRequest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Pause and Resume (ctr: CRI has no call for them) of a container in a VM pod: the guest agent freezes the
 * container's cgroup in the guest (runc pause there), so a busy loop uses no CPU while paused and runs on once
 * resumed. And Update: new limits reach the container's cgroup in the guest (runc update there).
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

        ctr("tasks", "pause", busy);
        assertEquals("PAUSED", taskStatus(busy));
        long frozen = cpuNanos(busy);
        Thread.sleep(1000);
        assertEquals(frozen, cpuNanos(busy), "a busy loop used no CPU while paused");

        ctr("tasks", "resume", busy);
        assertEquals("RUNNING", taskStatus(busy));
        Thread.sleep(500);
        assertTrue(cpuNanos(busy) > frozen, "the loop runs again once resumed");

        ctr("tasks", "pause", busy); // Stop of a paused container: its signals land once it is thawed
        cri.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(busy).setTimeout(2).build());
        cri.waitForState(busy, ContainerState.CONTAINER_EXITED, VmmPodTest.VM_WAIT);
    }

    /** UpdateContainerResources reaches the container's cgroup in the guest (runc update there). */
    @Test
    void newLimitsReachTheContainersCgroupInTheGuest() {
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
    }
}
