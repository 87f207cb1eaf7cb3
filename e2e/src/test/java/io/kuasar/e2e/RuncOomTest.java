package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStatus;
import io.kuasar.api.cri.v1.LinuxContainerResources;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** A container killed by its memory cgroup's OOM killer exits 137 with CRI's reason OOMKilled. */
class RuncOomTest extends RuncFeatureBase {

    @ParameterizedTest(name = "{0}")
    @MethodSource("handlers")
    void containerOverItsMemoryLimitIsOomKilled(String handler) {
        // tail keeps all of an endless line in memory: it grows until the 16 MiB limit's OOM killer ends it.
        ContainerConfig.Builder config = containerConfig("hog", busybox(), "tail", "/dev/zero").toBuilder();
        config.getLinuxBuilder().setResources(LinuxContainerResources.newBuilder()
                .setMemoryLimitInBytes(16 * 1024 * 1024).setMemorySwapLimitInBytes(16 * 1024 * 1024));
        PodSandboxConfig pod = podConfig("oom");
        String podId = runPod(pod, handler);
        String id = cri.runContainer(podId, pod, config.build());

        ContainerStatus exited = cri.waitForState(id, ContainerState.CONTAINER_EXITED, WAIT);
        assertEquals(137, exited.getExitCode(), exited::toString);
        assertEquals("OOMKilled", exited.getReason(), exited::toString);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("handlers")
    void containerEndingNormallyIsNotOomKilled(String handler) {
        PodSandboxConfig pod = podConfig("nooom");
        String podId = runPod(pod, handler);
        String id = cri.runContainer(podId, pod, containerConfig("fails", busybox(), "sh", "-c", "exit 3"));
        ContainerStatus exited = cri.waitForState(id, ContainerState.CONTAINER_EXITED, WAIT);
        assertEquals(3, exited.getExitCode());
        assertEquals("Error", exited.getReason(), exited::toString);
    }
}
