package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.RemovePodSandboxRequest;
import io.kuasar.api.cri.v1.StopPodSandboxRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * After StopPodSandbox and RemovePodSandbox, nothing of a Kuasar pod is left on the host: no state file, no pinned
 * namespace, no Task API socket, no mount, no runc state, no process, no cgroup. Checked by looking at the host
 * (files, /proc, every cgroup hierarchy in mountinfo), and each kind of trace is first shown to exist while the pod runs, so the scan
 * would see it if it stayed.
 */
class PodLeavesNothingBehindTest extends CriTestBase {
    /** Cleanup that finishes just after the RPC returned (a child being reaped) is given this long. */
    private static final long SETTLE_MILLIS = 2_000;
    private final HostCgroups cgroups = HostCgroups.host();

    @Test
    void fullLifecycleOnKuasarRuncLeavesNoFileMountProcessSocketOrCgroupOfThePod() throws InterruptedException {
        Set<Path> socketsBefore = HostTraces.taskSockets(env);

        PodSandboxConfig pod = podConfig("no-trace");
        String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
        String sleeper = cri.runContainer(podId, pod, containerConfig("sleeper", busybox(), "sleep", "3600"));
        cri.waitForState(sleeper, ContainerState.CONTAINER_RUNNING, WAIT);
        // A second container that has exited by itself before the pod goes: its cleanup path differs.
        String quitter = cri.runContainer(podId, pod, containerConfig("quitter", busybox(), "true"));
        cri.waitForState(quitter, ContainerState.CONTAINER_EXITED, WAIT);
        assertEquals(0, execSync(sleeper, "true").getExitCode(), "an exec, so its traces would be left too");
        List<String> ids = List.of(podId, sleeper, quitter);
        long sleeperPid = initPid(sleeper);
        String sleeperInit = HostTraces.identity(sleeperPid);
        assertNotNull(sleeperInit, "the sleeper's init process runs");

        // While the pod runs, the scan finds each kind of trace (else its emptiness later would prove nothing).
        HostTraces.Found during = HostTraces.naming(env, ids);
        Set<Path> podSockets = new HashSet<>(HostTraces.taskSockets(env));
        podSockets.removeAll(socketsBefore);
        assertEquals(1, podSockets.size(), () -> "one new Task API socket for the pod; new ones: " + podSockets);
        assertTrue(named(during.statePaths(), podId), () -> "state file of the pod; found:\n  " + during);
        assertTrue(named(during.runPaths(), podId), () -> "run dir paths of the pod; found:\n  " + during);
        assertTrue(named(during.runPaths(), sleeper), () -> "runc state of the sleeper; found:\n  " + during);
        assertTrue(Files.isDirectory(pinnedNamespaces(podId)), () -> "pinned namespaces; found:\n  " + during);
        assertTrue(during.mounts().stream().anyMatch(m -> m.contains(podId)), () -> "namespace pins; " + during);
        assertTrue(during.mounts().stream().anyMatch(m -> m.contains(sleeper)), () -> "sleeper rootfs; " + during);
        assertTrue(during.processes().stream().anyMatch(p -> sleeperInit.equals(HostTraces.identity(p.pid()))),
                () -> "the sleeper's init in its cgroup; found:\n  " + during);
        List<Path> sleeperCgroups = containerCgroups(sleeper);
        assumeFalse(sleeperCgroups.isEmpty(), () -> "this host mounts neither a memory nor a cpu cgroup hierarchy: "
                + cgroups.describe());
        for (Path dir : sleeperCgroups) {
            assertTrue(Files.isDirectory(dir), () -> "cgroup " + dir + " of the sleeper; found:\n  " + during);
        }
        assertTrue(named(during.cgroupDirs(), sleeper), () -> "the scan finds the sleeper's cgroups (" + cgroups.describe()
                + "); found:\n  " + during);

        cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
        cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
        forget(podId);
        assertFalse(cri.podListed(podId), "ListPodSandbox still shows " + podId);

        HostTraces.Found after = HostTraces.naming(env, ids);
        Set<Path> socketsAfter = HostTraces.taskSockets(env);
        long end = System.currentTimeMillis() + SETTLE_MILLIS;
        while ((!after.isEmpty() || !socketsAfter.equals(socketsBefore)) && System.currentTimeMillis() < end) {
            Thread.sleep(100);
            after = HostTraces.naming(env, ids);
            socketsAfter = HostTraces.taskSockets(env);
        }
        HostTraces.Found left = after;
        Set<Path> sockets = socketsAfter;
        List<Executable> checks = new ArrayList<>(List.of(
                () -> assertEquals(List.of(), left.statePaths(), "paths naming the pod or its containers under "
                        + env.kuasarStateDir()),
                () -> assertEquals(List.of(), left.runPaths(), "paths naming the pod or its containers under "
                        + env.kuasarRunDir()),
                () -> assertFalse(Files.exists(pinnedNamespaces(podId)), "pinned namespaces " + pinnedNamespaces(podId)),
                () -> assertEquals(socketsBefore, sockets, "Task API sockets (the pod's was " + podSockets + ")"),
                () -> assertEquals(List.of(), left.mounts(), "mounts naming the pod or its containers"),
                () -> assertEquals(List.of(), left.processes(), "processes naming the pod's containers (argv or cgroup)"),
                () -> assertNotEquals(sleeperInit, HostTraces.identity(sleeperPid), "the sleeper's init still runs"),
                () -> assertEquals(List.of(), left.cgroupDirs(), "cgroup dirs below " + env.cgroupParent())));
        for (String id : List.of(sleeper, quitter)) {
            for (Path dir : containerCgroups(id)) {
                checks.add(() -> assertFalse(Files.exists(dir), "cgroup " + dir));
            }
        }
        assertAll("what is left of pod " + podId + " (containers " + sleeper + ", " + quitter + ")", checks);
    }

    private Path pinnedNamespaces(String podId) {
        return env.kuasarRunDir().resolve("runc/ns").resolve(podId);
    }

    /** The container's memory and cpu cgroups where this host has them (one directory on cgroup v2). */
    private List<Path> containerCgroups(String containerId) {
        String path = env.cgroupParent().replaceFirst("/+$", "") + "/" + containerId;
        return java.util.stream.Stream.of("memory", "cpu").map(c -> cgroups.dir(c, path))
                .filter(java.util.Objects::nonNull).distinct().toList();
    }

    private static boolean named(List<Path> paths, String id) {
        return paths.stream().anyMatch(p -> p.toString().contains(id));
    }
}
