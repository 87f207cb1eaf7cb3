package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The point of Kuasar's runc sandboxer: a pod costs no containerd-shim and no pause process. A stock 'runc' pod in
 * the same test has both, which shows the process scan would notice them.
 */
class NoShimNoPauseTest extends CriTestBase {
    @Test
    void kuasarPodHasNoShimOrPauseWhileAStockRuncPodHasBoth() {
        PodSandboxConfig kuasar = podConfig("noshim");
        String kuasarPod = runPod(kuasar, NodeEnv.KUASAR_HANDLER);
        String kuasarCtr = cri.runContainer(kuasarPod, kuasar, containerConfig("sleeper", busybox(), "sleep", "3600"));
        cri.waitForState(kuasarCtr, ContainerState.CONTAINER_RUNNING, WAIT);
        // The container really runs (so there is something a shim could have been started for).
        Processes.Proc init = Processes.of(initPid(kuasarCtr));
        assertNotNull(init, "container init process");
        assertEquals("sleep", init.comm());

        assertEquals(List.of(), Processes.shimsOf(kuasarPod), "shims naming the Kuasar pod");
        assertEquals(List.of(), Processes.shimsOf(kuasarCtr), "shims naming the Kuasar container");
        assertEquals(List.of(), Processes.pausesOf(kuasarPod), "pause processes in the Kuasar pod's cgroup");
        assertEquals(List.of(), Processes.allPauses(), "no pause process at all while only the Kuasar pod runs");
        Processes.Proc parent = Processes.of(init.ppid());
        assertFalse(parent != null && parent.comm().startsWith("containerd-shim"), () -> "init's parent is " + parent);

        PodSandboxConfig stock = podConfig("stock");
        String stockPod = runPod(stock, NodeEnv.STOCK_HANDLER);
        String stockCtr = cri.runContainer(stockPod, stock, containerConfig("sleeper", busybox(), "sleep", "3600"));
        cri.waitForState(stockCtr, ContainerState.CONTAINER_RUNNING, WAIT);
        assertFalse(Processes.shimsOf(stockPod).isEmpty(), "the stock pod should have a containerd-shim");
        assertFalse(Processes.pausesOf(stockPod).isEmpty(), "the stock pod should have a pause process");
        Processes.Proc stockInit = Processes.of(initPid(stockCtr));
        assertNotNull(stockInit, "stock container init process");
        assertTrue(Processes.shimsOf(stockPod).stream().anyMatch(s -> s.pid() == stockInit.ppid()),
                "the stock container's parent is its pod's shim");

        // And still none for the Kuasar pod, now that shims and pauses do exist on the node.
        assertEquals(List.of(), Processes.shimsOf(kuasarPod));
        assertEquals(List.of(), Processes.pausesOf(kuasarPod));
    }
}
