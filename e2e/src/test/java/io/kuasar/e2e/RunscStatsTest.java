package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStats;
import io.kuasar.api.cri.v1.ContainerStatsFilter;
import io.kuasar.api.cri.v1.ContainerStatsRequest;
import io.kuasar.api.cri.v1.ListContainerStatsRequest;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * CRI's ContainerStats and ListContainerStats for a {@code kuasar-runsc} container: containerd decodes the Task API's
 * Stats (cgroups v1 Metrics, from {@code runsc events --stats}) into CPU and memory figures a kubelet would use.
 */
class RunscStatsTest extends CriTestBase {
    private static final long MB = 1024 * 1024;

    @BeforeAll
    static void runscIsThere() {
        HostTools.requireHandler(RunscPodTest.RUNSC_HANDLER);
    }

    @Test
    void containerStatsGiveGvisorCpuAndMemory() throws InterruptedException {
        PodSandboxConfig pod = podConfig("gv-stats");
        String podId = runPod(pod, RunscPodTest.RUNSC_HANDLER);
        // 20 MB in a file of the sentry's own memory-backed /dev (what gVisor's accounting counts: a shell string
        // or a dd buffer held in anonymous memory did not move runsc's figure in a probe), some CPU to write it. Not
        // /dev/shm: that is the pod's tmpfs shared through a gVisor mount hint, which runsc's figure left out
        String c = cri.runContainer(podId, pod, containerConfig("hog", busybox(), "sh", "-c",
                "dd if=/dev/urandom of=/dev/hog bs=1M count=20 2>/dev/null;"
                        + " echo allocated $(wc -c < /dev/hog); sleep 3600"));
        cri.waitForState(c, ContainerState.CONTAINER_RUNNING, WAIT);
        cri.waitForLog(c, "allocated 20971520", WAIT);

        ContainerStats s = cri.runtime().containerStats(ContainerStatsRequest.newBuilder().setContainerId(c).build())
                .getStats();
        System.out.println("ContainerStats of a runsc container: " + s.getCpu() + s.getMemory());
        assertEquals(c, s.getAttributes().getId());
        long cpu = s.getCpu().getUsageCoreNanoSeconds().getValue();
        long ws = s.getMemory().getWorkingSetBytes().getValue();
        assertTrue(cpu > 0, () -> "cpu usage_core_nano_seconds: " + s.getCpu());
        assertTrue(cpu < 3_600L * 1_000_000_000L, () -> "more than an hour of CPU: " + s.getCpu());
        assertTrue(ws >= 15 * MB, () -> "working set below the 20 MB the container holds: " + s.getMemory());
        assertTrue(ws < 2048 * MB, () -> "working set over 2 GiB for a shell: " + s.getMemory());
        assertEquals(0, s.getMemory().getAvailableBytes().getValue(), "no limit: CRI reports no available bytes");

        Thread.sleep(200);
        List<ContainerStats> listed = cri.runtime().listContainerStats(ListContainerStatsRequest.newBuilder()
                .setFilter(ContainerStatsFilter.newBuilder().setPodSandboxId(podId)).build()).getStatsList();
        assertEquals(1, listed.size(), () -> "ListContainerStats for the pod: " + listed);
        ContainerStats l = listed.get(0);
        assertEquals(c, l.getAttributes().getId());
        assertTrue(l.getCpu().getUsageCoreNanoSeconds().getValue() >= cpu, () -> "cpu went back: " + l.getCpu());
        assertTrue(l.getMemory().getWorkingSetBytes().getValue() >= 15 * MB, () -> "listed memory: " + l.getMemory());
    }
}
