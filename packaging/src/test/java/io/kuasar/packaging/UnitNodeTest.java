package io.kuasar.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.LinuxPodSandboxConfig;
import io.kuasar.api.cri.v1.LinuxSandboxSecurityContext;
import io.kuasar.api.cri.v1.NamespaceMode;
import io.kuasar.api.cri.v1.NamespaceOption;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.PodSandboxState;
import io.kuasar.api.cri.v1.PodSandboxStatusRequest;
import io.kuasar.e2e.CriClient;
import io.kuasar.e2e.NodeEnv;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The package's node, started with exactly kuasar.service's command line ({@link UnitNode}), serves a pod through
 * containerd 2.1 configured by the scripts (containerd-up.sh, its own node dir, proxy plugins at the unit's socket);
 * `systemctl reload` (the unit's ExecReload) restarts the JVM and the pod keeps running; the package's prerm refuses
 * removal while the pod runs, and with KUASAR_FORCE_REMOVE=1 stops it. Root and KUASAR_E2E=1 only, like e2e.
 *
 * <p>Its own containerd and node dir (the e2e node's plus "u"), so it neither needs nor disturbs the e2e node; the
 * pod uses the host's network, so no second CNI bridge is made.
 */
class UnitNodeTest {
    private static final Duration UP = Duration.ofSeconds(90);

    @Test
    void theUnitsCommandLineServesAPodThatOutlivesAReloadAndBlocksRemoval() throws Exception {
        Assumptions.assumeTrue("1".equals(System.getenv("KUASAR_E2E")) || "1".equals(System.getProperty("KUASAR_E2E")),
                "end-to-end: set KUASAR_E2E=1 (needs root and containerd, like the e2e module)");
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root (runc, namespaces, cgroups)");
        NodeEnv e2e = NodeEnv.fromEnvironment();
        Path dir = Path.of(e2e.nodeDir() + "u");
        Path root = dir.resolve("r");
        Map<String, String> env = new HashMap<>();
        env.put("KUASAR_REPO", e2e.repo().toString());
        env.put("KUASAR_NODE_DIR", dir.toString());
        env.put("KUASAR_SANDBOXER_SOCK", root + "/run/kuasar/kuasar.sock"); // where the unit's node listens
        env.put("KUASAR_CNI_BRIDGE", (System.getenv().getOrDefault("KUASAR_CNI_BRIDGE", "kuasar0") + "u"));
        env.put("KUASAR_CNI_SUBNET", "10.88.254.0/24"); // never set up: the pod uses the host's network
        // scripts/test.sh exports what node-env.sh derived for the e2e node: empty, node-env.sh derives them anew
        // from this node dir (it reads each as ${VAR:-default}). Else the scripts below would act on the e2e's.
        for (String derived : List.of("CONTAINERD_ROOT", "CONTAINERD_STATE", "CONTAINERD_SOCK", "CONTAINERD_CONFIG",
                "CONTAINERD_LOG", "CONTAINERD_PID_FILE", "KUASAR_CNI_CONF_DIR", "KUASAR_RUNC_ROOT", "CTR")) {
            env.put(derived, "");
        }
        // Teardown, also of what a failed earlier run left: the containers of the node's runc driver (kuasar-down.sh
        // kills those under the runc root it is given), then containerd, its mounts and the whole dir.
        env.put("KUASAR_HOST_RUNC_ROOT", root + "/run/kuasar/runc/runc");
        String[] leftovers = {"bash", e2e.script("kuasar-down.sh").toString()};
        String[] down = {"bash", e2e.script("containerd-down.sh").toString()};
        Run.of(env, null, leftovers);
        Run.of(env, null, down);
        try {
            Run.of(env, null, "bash", e2e.script("containerd-up.sh").toString()).ok();
            DebPackage deb = DebPackage.built();
            deb.unpack(root);
            PathMap paths = new PathMap(root, dir.resolve("containerd.sock"));
            try (UnitNode node = new UnitNode(root, paths, dir.resolve("node.log"));
                 CriClient cri = new CriClient(dir.resolve("containerd.sock"))) {
                long started = System.nanoTime();
                node.start(UP);
                System.out.printf("UnitNodeTest: the unit's node served after %d ms%n", (System.nanoTime() - started) / 1_000_000);
                servesPodThroughTheReloadAndGuardsRemoval(node, cri, e2e, deb, dir);
            }
        } finally {
            Run.of(env, null, leftovers);
            Run.of(env, null, down);
        }
    }

    private static void servesPodThroughTheReloadAndGuardsRemoval(UnitNode node, CriClient cri, NodeEnv e2e,
                                                                  DebPackage deb, Path dir) throws Exception {
        String tag = "deb-" + UUID.randomUUID().toString().substring(0, 8);
        // What the kubelet sends for a hostNetwork pod.
        NamespaceOption hostNetwork = CriClient.KUBELET_NAMESPACES.toBuilder().setNetwork(NamespaceMode.NODE).build();
        PodSandboxConfig pod = CriClient.podConfig("unit-" + tag, "unit", dir.resolve("logs"), e2e.cgroupParent(), tag)
                .toBuilder().setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent(e2e.cgroupParent())
                        .setSecurityContext(LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(hostNetwork)))
                .build();
        Files.createDirectories(dir.resolve("logs"));
        String podId = cri.runPod(pod, "kuasar-runc");
        ContainerConfig plain = CriClient.containerConfig("sleeper", e2e.busyboxImage(), "sh", "-c",
                "echo served by the unit; exec sleep 3600");
        ContainerConfig sleeper = plain.toBuilder().setLinux(plain.getLinux().toBuilder().setSecurityContext(
                plain.getLinux().getSecurityContext().toBuilder().setNamespaceOptions(hostNetwork))).build();
        String c = cri.runContainer(podId, pod, sleeper);
        cri.waitForLog(c, "served by the unit", Duration.ofSeconds(30));
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
        awaitContainerdRedials(cri, podId);
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
        assertEquals(PodSandboxState.SANDBOX_READY, podState(cri, podId), "the refusal changed nothing");
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

    /**
     * containerd's gRPC client to the sandbox Controller saw the old JVM's connection drop and redials with a growing
     * back-off (from 1 s); until then its Controller calls fail UNAVAILABLE at once, and the kubelet retries them.
     * So do we, for CRI's PodSandboxStatus, which reaches the Controller.
     */
    private static void awaitContainerdRedials(CriClient cri, String podId) throws InterruptedException {
        long end = System.nanoTime() + UP.toNanos();
        while (true) {
            try {
                podState(cri, podId);
                return;
            } catch (io.grpc.StatusRuntimeException e) {
                if (e.getStatus().getCode() != io.grpc.Status.Code.UNAVAILABLE || System.nanoTime() > end) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
    }

    private static PodSandboxState podState(CriClient cri, String podId) {
        return cri.runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(podId).build())
                .getStatus().getState();
    }
}
