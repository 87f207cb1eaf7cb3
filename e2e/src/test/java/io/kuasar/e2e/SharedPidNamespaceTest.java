package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ExecSyncResponse;
import io.kuasar.api.cri.v1.LinuxContainerConfig;
import io.kuasar.api.cri.v1.LinuxContainerSecurityContext;
import io.kuasar.api.cri.v1.LinuxSandboxSecurityContext;
import io.kuasar.api.cri.v1.NamespaceMode;
import io.kuasar.api.cri.v1.NamespaceOption;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * shareProcessNamespace: the kubelet sends pid = POD for the pod and for each container. The containers then see
 * each other's processes, and the process that keeps the pod's PID namespace alive goes with the pod.
 */
class SharedPidNamespaceTest extends CriTestBase {
    /** What the kubelet sends for a pod with shareProcessNamespace: true. */
    private static final NamespaceOption SHARED_PID = NamespaceOption.newBuilder().setNetwork(NamespaceMode.POD)
            .setPid(NamespaceMode.POD).setIpc(NamespaceMode.POD).build();

    @Test
    void containersSharingThePodPidNamespaceSeeEachOtherAndItsProcessesDieWithThePod() throws IOException {
        PodSandboxConfig plain = podConfig("shared-pid");
        PodSandboxConfig pod = plain.toBuilder().setLinux(plain.getLinux().toBuilder()
                .setSecurityContext(LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(SHARED_PID))).build();
        String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
        // Distinct arguments, so each container's sleep can be told apart in the other's ps.
        String one = cri.runContainer(podId, pod, sharing(CriClient.containerConfig("one", busybox(), "sleep", "3601")));
        String two = cri.runContainer(podId, pod, sharing(CriClient.containerConfig("two", busybox(), "sleep", "3602")));
        cri.waitForState(one, ContainerState.CONTAINER_RUNNING, WAIT);
        cri.waitForState(two, ContainerState.CONTAINER_RUNNING, WAIT);

        String psInOne = ps(one);
        assertTrue(psInOne.contains("sleep 3602"), () -> "ps in 'one' should show 'two''s sleep:\n" + psInOne);
        assertTrue(psInOne.contains("sleep 3601"), () -> "ps in 'one' shows its own sleep:\n" + psInOne);
        String psInTwo = ps(two);
        assertTrue(psInTwo.contains("sleep 3601"), () -> "ps in 'two' should show 'one''s sleep:\n" + psInTwo);

        long initOne = initPid(one);
        long initTwo = initPid(two);
        String pidNs = HostTraces.namespace(initOne, "pid");
        assertNotNull(pidNs, "pid namespace of 'one''s init " + initOne);
        assertEquals(pidNs, HostTraces.namespace(initTwo, "pid"), "both containers' inits are in one pid namespace");
        assertTrue(!pidNs.equals(HostTraces.namespace(ProcessHandle.current().pid(), "pid")),
                "the pod's pid namespace is not the host's");

        // Every process of the pod's PID namespace (the containers and whatever holds the namespace), plus any
        // outside parent of one that is neither the node nor init (e.g. a wrapper that created the namespace).
        Map<Long, String> podProcs = new LinkedHashMap<>();
        long node = Long.parseLong(Files.readString(env.nodeDir().resolve("kuasar.pid"), StandardCharsets.UTF_8).strip());
        for (Processes.Proc p : Processes.snapshot()) {
            if (pidNs.equals(HostTraces.namespace(p.pid(), "pid"))) {
                podProcs.put(p.pid(), HostTraces.identity(p.pid()) + " " + p);
                Processes.Proc parent = Processes.of(p.ppid());
                // The node: the pid file's process, or the JVM it runs when that is the keeper (kuasar-up.sh).
                if (parent != null && parent.pid() != node && parent.pid() > 1
                        && !parent.argv().contains("-Dkuasar.listen=" + env.sandboxerSock())
                        && !pidNs.equals(HostTraces.namespace(parent.pid(), "pid"))) {
                    podProcs.put(parent.pid(), HostTraces.identity(parent.pid()) + " " + parent);
                }
            }
        }
        podProcs.values().removeIf(v -> v.startsWith("null "));
        assertTrue(podProcs.containsKey(initOne) && podProcs.containsKey(initTwo),
                () -> "the scan finds both containers' inits: " + podProcs);

        cri.removePod(podId);
        forget(podId);

        List<String> alive = new ArrayList<>();
        podProcs.forEach((pid, what) -> {
            String now = HostTraces.identity(pid);
            if (now != null && what.startsWith(now + " ")) {
                alive.add(what);
            }
        });
        assertEquals(List.of(), alive, "processes of the pod's pid namespace " + pidNs + " (and their wrappers) "
                + "still alive after RemovePodSandbox; all were " + podProcs.values());
        HostTraces.Found left = HostTraces.naming(env, List.of(podId, one, two));
        assertTrue(left.isEmpty(), () -> "left of the pod:\n  " + left);
    }

    private static ContainerConfig sharing(ContainerConfig config) {
        return config.toBuilder().setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(SHARED_PID))).build();
    }

    private String ps(String containerId) {
        ExecSyncResponse r = execSync(containerId, "ps");
        assertEquals(0, r.getExitCode(), () -> "ps in " + containerId + ": " + r.getStderr().toStringUtf8());
        return r.getStdout().toStringUtf8();
    }
}
