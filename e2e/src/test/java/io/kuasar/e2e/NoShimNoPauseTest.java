package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The point of Kuasar's runc sandboxer: a pod costs no containerd-shim and no pause process. A stock 'runc' pod in
 * the same test has both, which shows the process scan would notice them. Only this node's processes count: another
 * node on the same host may run stock pods of its own.
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
        assertEquals(List.of(), pausesOfThisNode(), "no pause process of this node while only the Kuasar pod runs");
        Processes.Proc parent = Processes.of(init.ppid());
        assertFalse(parent != null && parent.comm().startsWith("containerd-shim"), () -> "init's parent is " + parent);

        PodSandboxConfig stock = podConfig("stock");
        String stockPod = runPod(stock, NodeEnv.STOCK_HANDLER);
        String stockCtr = cri.runContainer(stockPod, stock, containerConfig("sleeper", busybox(), "sleep", "3600"));
        cri.waitForState(stockCtr, ContainerState.CONTAINER_RUNNING, WAIT);
        assertFalse(Processes.shimsOf(stockPod).isEmpty(), "the stock pod should have a containerd-shim");
        assertFalse(Processes.pausesOf(stockPod).isEmpty(), "the stock pod should have a pause process");
        assertTrue(pausesOfThisNode().stream().anyMatch(p -> p.cgroups().contains(stockPod)),
                () -> "the scan for this node's pause processes finds the stock pod's: " + pausesOfThisNode());
        Processes.Proc stockInit = Processes.of(initPid(stockCtr));
        assertNotNull(stockInit, "stock container init process");
        assertTrue(Processes.shimsOf(stockPod).stream().anyMatch(s -> s.pid() == stockInit.ppid()),
                "the stock container's parent is its pod's shim");

        // And still none for the Kuasar pod, now that shims and pauses do exist on the node.
        assertEquals(List.of(), Processes.shimsOf(kuasarPod));
        assertEquals(List.of(), Processes.pausesOf(kuasarPod));
    }

    /**
     * Pause processes of this node's containerd: other nodes may run on the same host (side by side, as tests do),
     * so "no pause at all" would judge their pods. A pause container is this node's when its shim (its parent)
     * names our containerd's socket, or when its root lies in our node dir (containerd's state dir holds rootfs).
     */
    private List<Processes.Proc> pausesOfThisNode() {
        String sock = env.containerdSock().toString();
        String nodeDir = env.nodeDir().toString() + "/";
        return Processes.allPauses().stream().filter(p -> {
            Processes.Proc parent = Processes.of(p.ppid());
            if (parent != null && parent.argv().contains(sock)) {
                return true;
            }
            try {
                return (Files.readSymbolicLink(Path.of("/proc", Long.toString(p.pid()), "root")) + "/")
                        .startsWith(nodeDir);
            } catch (IOException gone) {
                return false;
            }
        }).toList();
    }
}
