package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerStats;
import io.kuasar.api.cri.v1.ContainerStatsFilter;
import io.kuasar.api.cri.v1.ContainerStatsRequest;
import io.kuasar.api.cri.v1.ListContainerStatsRequest;
import io.kuasar.api.cri.v1.PodSandboxStats;
import io.kuasar.api.cri.v1.PodSandboxStatsRequest;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * CRI's ContainerStats, ListContainerStats and PodSandboxStats: containerd decodes the Task API's Stats (cgroup
 * metrics) into the CPU and memory figures a kubelet uses; the same on the stock shim and on ours.
 */
class RuncStatsTest extends RuncFeatureBase {

    @ParameterizedTest(name = "{0}")
    @MethodSource("handlers")
    void containerStatsReportCpuAndMemoryOfTheContainersCgroup(String handler) throws Exception {
        // Some CPU work, then 8 MiB in a shell variable so the working set is clearly above zero.
        Started s = start(handler, "stats", containerConfig("busy", busybox(), "sh", "-c",
                "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; x=$(head -c 8388608 /dev/zero | tr '\\0' a);"
                        + " echo ready; sleep 3600"));
        cri.waitForLog(s.containerId(), "ready", WAIT);

        ContainerStats one = cri.runtime().containerStats(ContainerStatsRequest.newBuilder()
                .setContainerId(s.containerId()).build()).getStats();
        assertEquals(s.containerId(), one.getAttributes().getId());
        assertEquals("busy", one.getAttributes().getMetadata().getName());
        long cpuNanos = one.getCpu().getUsageCoreNanoSeconds().getValue();
        assertTrue(cpuNanos > 1_000_000, () -> "CPU used: " + cpuNanos + " ns");
        assertTrue(one.getCpu().getTimestamp() > 0);
        // The cgroup's own figure: what CRI reports is read from it.
        long cgroupNanos = cgroupCpuNanos(cgroupDir("cpuacct", s.containerId()));
        assertTrue(cgroupNanos >= cpuNanos, () -> "cgroup " + cgroupNanos + " < reported " + cpuNanos);
        long workingSet = one.getMemory().getWorkingSetBytes().getValue();
        assertTrue(workingSet > 0, () -> "working set " + workingSet);
        assertTrue(one.getMemory().getUsageBytes().getValue() >= workingSet, one::toString);

        List<ContainerStats> listed = cri.runtime().listContainerStats(ListContainerStatsRequest.newBuilder()
                .setFilter(ContainerStatsFilter.newBuilder().setPodSandboxId(s.podId())).build()).getStatsList();
        assertEquals(1, listed.size(), () -> "ListContainerStats of the pod: " + listed);
        assertEquals(s.containerId(), listed.get(0).getAttributes().getId());
        assertTrue(listed.get(0).getCpu().getUsageCoreNanoSeconds().getValue() >= cpuNanos);

        PodSandboxStats pod = cri.runtime().podSandboxStats(PodSandboxStatsRequest.newBuilder()
                .setPodSandboxId(s.podId()).build()).getStats();
        assertEquals(s.podId(), pod.getAttributes().getId());
        assertTrue(pod.getLinux().getContainersList().stream().anyMatch(c -> c.getAttributes().getId()
                .equals(s.containerId())), () -> "pod stats lack the container: " + pod);
    }

    /** CPU time the cgroup used: v1 cpuacct.usage (ns), v2 cpu.stat's usage_usec. */
    private static long cgroupCpuNanos(java.nio.file.Path dir) throws java.io.IOException {
        return CGROUPS.isV2() ? Long.parseLong(keyed(dir.resolve("cpu.stat"), "usage_usec")) * 1000
                : Long.parseLong(read(dir.resolve("cpuacct.usage")));
    }
}
