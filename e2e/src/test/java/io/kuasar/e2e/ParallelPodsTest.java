package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ExecSyncResponse;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Several pods created at once each get their own sandbox, and each container's calls reach its own pod. */
class ParallelPodsTest extends CriTestBase {
    private static final int PODS = 5;

    private record Started(String name, String podId, String containerId) {
    }

    @Test
    void fivePodsStartedInParallelAllRunAndAreAllRemoved() throws InterruptedException, ExecutionException {
        ExecutorService pool = Executors.newFixedThreadPool(PODS);
        List<Started> started = new ArrayList<>();
        try {
            List<Future<Started>> futures = new ArrayList<>();
            for (int i = 0; i < PODS; i++) {
                String name = "par-" + i;
                futures.add(pool.submit(() -> {
                    PodSandboxConfig pod = podConfig(name);
                    String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
                    String id = cri.runContainer(podId, pod, containerConfig("sleeper", busybox(), "sleep", "3600"));
                    cri.waitForState(id, ContainerState.CONTAINER_RUNNING, WAIT);
                    return new Started(name, podId, id);
                }));
            }
            for (Future<Started> f : futures) {
                started.add(f.get()); // rethrows the first failure; cleanup removes whatever did start
            }
        } finally {
            pool.shutdownNow();
        }

        assertEquals(PODS, new HashSet<>(started.stream().map(Started::podId).toList()).size(), "distinct pod ids");
        for (Started s : started) {
            assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(s.containerId()).getState());
            // Each pod has its own UTS namespace and hostname: an exec landing in the wrong sandbox shows here.
            ExecSyncResponse r = execSync(s.containerId(), "hostname");
            assertEquals(s.name() + "\n", r.getStdout().toStringUtf8(), "hostname seen by " + s.containerId());
        }

        ExecutorService removers = Executors.newFixedThreadPool(PODS);
        try {
            List<Future<?>> removals = new ArrayList<>();
            for (Started s : started) {
                removals.add(removers.submit(() -> cri.removePod(s.podId())));
            }
            for (Future<?> f : removals) {
                f.get();
            }
        } finally {
            removers.shutdownNow();
        }
        for (Started s : started) {
            assertFalse(cri.podListed(s.podId()), "pod " + s.podId() + " still listed");
            forget(s.podId());
        }
    }
}
