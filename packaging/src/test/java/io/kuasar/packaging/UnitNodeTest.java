package io.kuasar.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.PodSandboxState;
import io.kuasar.e2e.CriClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The package's node, started with exactly kuasar.service's command line ({@link UnitNode}), serves a pod through
 * containerd 2.1 of its own ({@link UnitNodeSite});
 * `systemctl reload` (the unit's ExecReload) restarts the JVM and the pod keeps running; the package's prerm refuses
 * removal while the pod runs, and with KUASAR_FORCE_REMOVE=1 stops it. Root and KUASAR_E2E=1 only, like e2e.
 */
class UnitNodeTest {
    private static final Duration UP = UnitNodeSite.UP;

    @Test
    void theUnitsCommandLineServesAPodThatOutlivesAReloadAndBlocksRemoval() throws Exception {
        try (UnitNodeSite site = new UnitNodeSite()) {
            DebPackage deb = DebPackage.built();
            deb.unpack(site.root);
            PathMap paths = new PathMap(site.root, site.containerdSocket());
            try (UnitNode node = new UnitNode(site.root, paths, site.dir.resolve("node.log"));
                 CriClient cri = new CriClient(site.containerdSocket())) {
                long started = System.nanoTime();
                node.start(UP);
                System.out.printf("UnitNodeTest: the unit's node served after %d ms%n", (System.nanoTime() - started) / 1_000_000);
                servesPodThroughTheReloadAndGuardsRemoval(node, cri, site, deb);
            }
        }
    }

    private static void servesPodThroughTheReloadAndGuardsRemoval(UnitNode node, CriClient cri, UnitNodeSite site,
                                                                  DebPackage deb) throws Exception {
        Path dir = site.dir;
        UnitNodeSite.Pod pod = site.runSleeper(cri, "kuasar-runc", "served by the unit");
        String podId = pod.id();
        String c = pod.container();
        assertTrue(node.cli("sandboxes").ok().contains(podId), "the packaged CLI lists the pod");
        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(c).getState(), "the container runs");

        // systemctl reload: a new JVM under the same keeper; the pod and containerd's connections stay.
        long jvm = node.jvm();
        assertTrue(jvm > 0, "the keeper runs the node's JVM");
        long reloaded = System.nanoTime();
        node.reload().ok();
        long deadline = System.nanoTime() + UP.toNanos();
        while ((node.jvm() == 0 || node.jvm() == jvm) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertNotEquals(jvm, node.jvm(), "the reload started a new JVM");
        node.awaitServing(UP);
        UnitNodeSite.awaitContainerdRedials(cri, podId);
        System.out.printf("UnitNodeTest: reload to the pod served again through containerd: %d ms%n",
                (System.nanoTime() - reloaded) / 1_000_000);
        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(c).getState(), "the container ran on");
        assertTrue(node.cli("sandboxes").ok().contains(podId), "the new JVM serves the pod");
        String echoed = cri.runtime().execSync(io.kuasar.api.cri.v1.ExecSyncRequest.newBuilder().setContainerId(c)
                .addCmd("echo").addCmd("still here").setTimeout(20).build()).getStdout().toStringUtf8();
        assertEquals("still here\n", echoed, "exec after the reload");

        // prerm remove: refused while the pod runs, naming the count; forced, it stops the pod.
        Path control = deb.controlFiles(Files.createDirectories(dir.resolve("control")));
        Run refused = node.maintainerScript(control.resolve("prerm"), Map.of(), "remove");
        assertEquals(1, refused.exit(), "prerm refuses:\n" + refused.output());
        assertTrue(refused.output().contains("the node serves 1 pod(s)"), refused.output());
        assertTrue(refused.output().contains("KUASAR_FORCE_REMOVE=1"), "says how to force: " + refused.output());
        assertEquals(PodSandboxState.SANDBOX_READY, UnitNodeSite.podState(cri, podId), "the refusal changed nothing");
        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(c).getState());

        // A node that does not answer (here: the CLI sent to a socket nobody serves): the driver's records decide.
        Run unanswered = node.maintainerScript(control.resolve("prerm"),
                Map.of("KUASAR_ADMIN_SOCKET", dir.resolve("nobody.sock").toString()), "remove");
        assertEquals(1, unanswered.exit(), "prerm refuses:\n" + unanswered.output());
        assertTrue(unanswered.output().contains("the node does not answer and keeps 1 sandbox record(s)"),
                unanswered.output());

        Run forced = node.maintainerScript(control.resolve("prerm"), Map.of("KUASAR_FORCE_REMOVE", "1"), "remove");
        assertEquals(0, forced.exit(), "forced prerm:\n" + forced.output());
        cri.waitForState(c, ContainerState.CONTAINER_EXITED, Duration.ofSeconds(60));
        assertEquals("0", node.cli("sandboxes").ok().lines().skip(1).filter(l -> !l.isBlank()).count() + "",
                "the node serves no pod after a forced removal");
        try {
            cri.removePod(podId);
        } catch (RuntimeException ignored) {
            // its driver was removed with the pods; containerd-down.sh clears containerd's record
        }
    }
}
