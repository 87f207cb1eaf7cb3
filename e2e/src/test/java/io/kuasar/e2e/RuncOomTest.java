package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStatus;
import io.kuasar.api.cri.v1.LinuxContainerResources;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A container killed by its memory cgroup's OOM killer exits 137 with CRI's reason OOMKilled (in a VM pod: its cgroup
 * in the guest, whose agent tells the host). The swap limit equal to
 * the memory limit keeps the hog out of swap, which needs the host to account swap per cgroup when swap is on.
 */
class RuncOomTest extends RuncFeatureBase {

    @ParameterizedTest(name = "{0}")
    @MethodSource("handlersAndVm")
    void containerOverItsMemoryLimitIsOomKilled(String handler) throws IOException, InterruptedException {
        assumeTrue(!swapOn() || swapAccounted(), () -> "swap is on (/proc/swaps) but this host does not account swap"
                + " per cgroup (" + CGROUPS.describe() + ": no memory.memsw.limit_in_bytes or memory.swap.max), so the"
                + " swap limit cannot hold and the hog would swap instead of being OOM-killed");
        // tail keeps all of an endless line in memory: it grows until the 16 MiB limit's OOM killer ends it.
        ContainerConfig.Builder config = containerConfig("hog", busybox(), "tail", "/dev/zero").toBuilder();
        config.getLinuxBuilder().setResources(LinuxContainerResources.newBuilder()
                .setMemoryLimitInBytes(16 * 1024 * 1024).setMemorySwapLimitInBytes(16 * 1024 * 1024));
        PodSandboxConfig pod = podConfig("oom");
        String podId = runPod(pod, handler);
        String id = cri.runContainer(podId, pod, config.build());

        ContainerStatus exited = cri.waitForState(id, ContainerState.CONTAINER_EXITED, waitOn(handler));
        assertEquals(137, exited.getExitCode(), exited::toString);
        if (handler.equals(NodeEnv.STOCK_HANDLER)) {
            exited = reasonOnceSettled(id, exited);
        }
        assertEquals("OOMKilled", exited.getReason(), exited::toString);
    }

    /**
     * The stock shim watches the OOM eventfd and reaps the exit in two goroutines, so its TaskOOM event may reach
     * containerd after TaskExit (a CI run: a hog dead 1 ms after its start read "Error"); containerd then turns the
     * reason to OOMKilled. Our drivers send OutOfMemory before Exited, so for them the first exited status must say it.
     */
    private ContainerStatus reasonOnceSettled(String id, ContainerStatus exited) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!exited.getReason().equals("OOMKilled") && System.nanoTime() < deadline) {
            Thread.sleep(100);
            exited = cri.containerStatus(id);
        }
        return exited;
    }

    private static boolean swapOn() throws IOException {
        return Files.readAllLines(Path.of("/proc/swaps")).size() > 1; // a header line, then one line per swap area
    }

    /** Whether a cgroup's swap can be limited: v1 memsw files (swapaccount), v2 memory.swap.max in child cgroups. */
    private static boolean swapAccounted() throws IOException {
        if (CGROUPS.isV2()) {
            try (Stream<Path> children = Files.list(CGROUPS.dir("memory", "/"))) {
                return children.anyMatch(d -> Files.exists(d.resolve("memory.swap.max")));
            }
        }
        Path root = CGROUPS.dir("memory", "/");
        return root != null && Files.exists(root.resolve("memory.memsw.limit_in_bytes"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("handlersAndVm")
    void containerEndingNormallyIsNotOomKilled(String handler) {
        PodSandboxConfig pod = podConfig("nooom");
        String podId = runPod(pod, handler);
        String id = cri.runContainer(podId, pod, containerConfig("fails", busybox(), "sh", "-c", "exit 3"));
        ContainerStatus exited = cri.waitForState(id, ContainerState.CONTAINER_EXITED, waitOn(handler));
        assertEquals(3, exited.getExitCode());
        assertEquals("Error", exited.getReason(), exited::toString);
    }
}
