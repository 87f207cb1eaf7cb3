package io.kuasar.packaging;

import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.LinuxPodSandboxConfig;
import io.kuasar.api.cri.v1.LinuxSandboxSecurityContext;
import io.kuasar.api.cri.v1.NamespaceMode;
import io.kuasar.api.cri.v1.NamespaceOption;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.PodSandboxState;
import io.kuasar.api.cri.v1.PodSandboxStatusRequest;
import io.kuasar.e2e.CriClient;
import io.kuasar.e2e.NodeEnv;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;

/**
 * Where the unit tests' node runs: a containerd 2.1 of its own started by the scripts (containerd-up.sh, node dir
 * the e2e node's plus "u", proxy plugins at the unit's socket below {@code r/}), so it neither needs nor disturbs
 * the e2e node; and the pods it runs, which use the host's network, so no second CNI bridge is made.
 */
final class UnitNodeSite implements AutoCloseable {
    static final Duration UP = Duration.ofSeconds(90);
    final NodeEnv e2e;
    final Path dir;
    final Path root;
    private final Map<String, String> env = new HashMap<>();

    /** Root and KUASAR_E2E=1 only, like e2e; clears what a failed earlier run left, then starts containerd. */
    UnitNodeSite() {
        Assumptions.assumeTrue("1".equals(System.getenv("KUASAR_E2E")) || "1".equals(System.getProperty("KUASAR_E2E")),
                "end-to-end: set KUASAR_E2E=1 (needs root and containerd, like the e2e module)");
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root (runc, namespaces, cgroups)");
        e2e = NodeEnv.fromEnvironment();
        dir = Path.of(e2e.nodeDir() + "u");
        root = dir.resolve("r");
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
        tearDown();
        Run.of(env, null, "bash", e2e.script("containerd-up.sh").toString()).ok();
    }

    Path containerdSocket() {
        return dir.resolve("containerd.sock");
    }

    /** A pod on {@code handler} with one busybox container running {@code sleep 3600} that has said {@code hello}. */
    Pod runSleeper(CriClient cri, String handler, String hello) throws IOException {
        String tag = "deb-" + UUID.randomUUID().toString().substring(0, 8);
        // What the kubelet sends for a hostNetwork pod.
        NamespaceOption hostNetwork = CriClient.KUBELET_NAMESPACES.toBuilder().setNetwork(NamespaceMode.NODE).build();
        PodSandboxConfig pod = CriClient.podConfig("unit-" + tag, "unit", dir.resolve("logs"), e2e.cgroupParent(), tag)
                .toBuilder().setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent(e2e.cgroupParent())
                        .setSecurityContext(LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(hostNetwork)))
                .build();
        Files.createDirectories(dir.resolve("logs"));
        String podId = cri.runPod(pod, handler);
        ContainerConfig plain = CriClient.containerConfig("sleeper", e2e.busyboxImage(), "sh", "-c",
                "echo " + hello + "; exec sleep 3600");
        ContainerConfig sleeper = plain.toBuilder().setLinux(plain.getLinux().toBuilder().setSecurityContext(
                plain.getLinux().getSecurityContext().toBuilder().setNamespaceOptions(hostNetwork))).build();
        String c = cri.runContainer(podId, pod, sleeper);
        cri.waitForLog(c, hello, Duration.ofSeconds(30));
        return new Pod(podId, c);
    }

    record Pod(String id, String container) {
    }

    /**
     * containerd's gRPC client to the sandbox Controller saw the old JVM's connection drop and redials with a growing
     * back-off (from 1 s); until then its Controller calls fail UNAVAILABLE at once, and the kubelet retries them.
     * So do we, for CRI's PodSandboxStatus, which reaches the Controller.
     */
    static PodSandboxState awaitContainerdRedials(CriClient cri, String podId) throws InterruptedException {
        long end = System.nanoTime() + UP.toNanos();
        while (true) {
            try {
                return podState(cri, podId);
            } catch (io.grpc.StatusRuntimeException e) {
                if (e.getStatus().getCode() != io.grpc.Status.Code.UNAVAILABLE || System.nanoTime() > end) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
    }

    static PodSandboxState podState(CriClient cri, String podId) {
        return cri.runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(podId).build())
                .getStatus().getState();
    }

    private void tearDown() {
        Run.of(env, null, "bash", e2e.script("kuasar-down.sh").toString());
        Run.of(env, null, "bash", e2e.script("containerd-down.sh").toString());
    }

    @Override
    public void close() {
        tearDown();
    }
}
