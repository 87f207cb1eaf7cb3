package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.StatusRuntimeException;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStatus;
import io.kuasar.api.cri.v1.ExecSyncResponse;
import io.kuasar.api.cri.v1.NamespaceMode;
import io.kuasar.api.cri.v1.NamespaceOption;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.RemovePodSandboxRequest;
import io.kuasar.api.cri.v1.StopPodSandboxRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Pods of handler {@code kuasar-runsc}: each pod one gVisor sandbox run by driver-quark's runsc backend, its
 * containers' Task API served by the node. Every check is made through CRI, as a kubelet would see it, plus a
 * look at the host for what must be gone.
 */
class RunscPodTest extends CriTestBase {
    static final String RUNSC_HANDLER = "kuasar-runsc";
    /** Cleanup that finishes just after the RPC returned (a process being reaped) is given this long. */
    private static final long SETTLE_MILLIS = 2_000;

    @BeforeAll
    static void runscIsThere() {
        HostTools.requireHandler(RUNSC_HANDLER);
    }

    @Test
    void containerOutputExitCodeAndGvisorKernel() throws IOException {
        PodSandboxConfig pod = podConfig("gv-out");
        long t0 = System.nanoTime();
        String podId = runPod(pod, RUNSC_HANDLER);
        System.out.printf("runsc pod %s started in %d ms%n", podId, (System.nanoTime() - t0) / 1_000_000);
        String c = cri.runContainer(podId, pod, containerConfig("hello", busybox(), "sh", "-c",
                "echo hello-from-gvisor; cat /proc/version; dmesg | head -1; echo to-stderr >&2; exit 3"));
        ContainerStatus done = cri.waitForState(c, ContainerState.CONTAINER_EXITED, WAIT);
        String log = cri.waitForLog(c, "to-stderr", WAIT);
        String hostKernel = Files.readString(Path.of("/proc/version")).trim();
        assertAll(() -> assertEquals(3, done.getExitCode(), () -> "exit code; log: " + log),
                () -> assertTrue(log.contains("hello-from-gvisor"), () -> "stdout in the log: " + log),
                () -> assertTrue(log.contains("Starting gVisor"), () -> "gVisor's dmesg: " + log),
                () -> assertFalse(log.contains(hostKernel), () -> "the host's kernel answered /proc/version: " + log));
    }

    @Test
    void execSyncAndContainersOfOnePodShareLocalhost() {
        PodSandboxConfig pod = podConfig("gv-net");
        String podId = runPod(pod, RUNSC_HANDLER);
        String server = cri.runContainer(podId, pod, containerConfig("server", busybox(), "sh", "-c",
                "mkdir -p /www && echo pong-from-gvisor > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"));
        cri.waitForState(server, ContainerState.CONTAINER_RUNNING, WAIT);

        ExecSyncResponse exec = execSync(server, "sh", "-c", "echo exec-out; echo exec-err >&2; exit 5");
        assertEquals(5, exec.getExitCode(), "exec exit code");
        assertEquals("exec-out\n", exec.getStdout().toStringUtf8());
        assertEquals("exec-err\n", exec.getStderr().toStringUtf8());

        String client = cri.runContainer(podId, pod, containerConfig("client", busybox(), "sh", "-c",
                "for i in $(seq 100); do if wget -q -O - http://127.0.0.1:8080/; then exit 0; fi; sleep 0.2; done;"
                        + " echo gave-up; exit 1"));
        ContainerStatus done = cri.waitForState(client, ContainerState.CONTAINER_EXITED, WAIT);
        String log = cri.waitForLog(client, "\n", WAIT);
        assertEquals(0, done.getExitCode(), () -> "client log: " + log);
        assertTrue(log.contains("pong-from-gvisor"), () -> "client log: " + log);
        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(server).getState(), "server still serves");
    }

    @Test
    void stopAndRemoveLeaveNoRunscProcessFileOrMount() throws InterruptedException, IOException {
        PodSandboxConfig pod = podConfig("gv-gone");
        String podId = runPod(pod, RUNSC_HANDLER);
        String sleeper = cri.runContainer(podId, pod, containerConfig("sleeper", busybox(), "sleep", "3600"));
        cri.waitForState(sleeper, ContainerState.CONTAINER_RUNNING, WAIT);
        assertEquals(0, execSync(sleeper, "true").getExitCode());
        List<String> ids = List.of(podId, sleeper);

        // While the pod runs the scan sees its gVisor processes (their argv names the pod's runsc root), files
        // and the sleeper's rootfs mount, so their absence afterwards means something.
        HostTraces.Found during = HostTraces.naming(env, ids);
        System.out.printf("runsc pod %s: PSS of its gVisor processes %d kB%n", podId, gvisorPssKb(podId));
        assertTrue(during.processes().stream().anyMatch(p -> String.join(" ", p.argv()).contains("runsc")),
                () -> "gVisor processes of the pod; found:\n  " + during);
        assertFalse(during.statePaths().isEmpty(), () -> "state of the pod; found:\n  " + during);
        assertFalse(during.runPaths().isEmpty(), () -> "run files of the pod; found:\n  " + during);
        assertTrue(during.mounts().stream().anyMatch(m -> m.contains(sleeper)), () -> "sleeper rootfs; " + during);
        // runsc leaves its sandbox and gofers to the nearest child subreaper, the node's JVM: so that is where
        // zombies would pile up, and where the check below looks.
        long node = KeeperNode.nodeJvm(env);
        assertTrue(during.processes().stream().anyMatch(p -> p.ppid() == node && !p.argv().isEmpty()
                && p.argv().get(0).startsWith("runsc-")), () -> "the pod's runsc sandbox or gofer is a child of the"
                + " node's JVM " + node + "; found:\n  " + during);

        cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
        cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
        forget(podId);
        HostTraces.Found after = HostTraces.naming(env, ids);
        long end = System.currentTimeMillis() + SETTLE_MILLIS;
        while (!after.isEmpty() && System.currentTimeMillis() < end) {
            Thread.sleep(100);
            after = HostTraces.naming(env, ids);
        }
        HostTraces.Found left = after;
        assertAll("what is left of runsc pod " + podId,
                () -> assertEquals(List.of(), left.processes(), "processes naming the pod (runsc sandbox, gofers)"),
                () -> assertEquals(List.of(), left.statePaths(), "state files"),
                () -> assertEquals(List.of(), left.runPaths(), "run files"),
                () -> assertEquals(List.of(), left.mounts(), "mounts"));
        List<Processes.Proc> zombies = Processes.matching(p -> p.ppid() == node && p.argv().isEmpty());
        assertEquals(List.of(), zombies, "zombie children (runsc's sandbox, gofers, stubs) left in the node's JVM " + node);
    }

    @Test
    void runscPodBesideRuncPod() {
        PodSandboxConfig gv = podConfig("gv-side");
        PodSandboxConfig rc = podConfig("rc-side");
        String gvPod = runPod(gv, RUNSC_HANDLER);
        String rcPod = runPod(rc, NodeEnv.KUASAR_HANDLER);
        String inGvisor = cri.runContainer(gvPod, gv, containerConfig("k", busybox(), "cat", "/proc/version"));
        String inRunc = cri.runContainer(rcPod, rc, containerConfig("k", busybox(), "cat", "/proc/version"));
        cri.waitForState(inGvisor, ContainerState.CONTAINER_EXITED, WAIT);
        cri.waitForState(inRunc, ContainerState.CONTAINER_EXITED, WAIT);
        String gvLog = cri.waitForLog(inGvisor, "Linux", WAIT);
        String rcLog = cri.waitForLog(inRunc, "Linux", WAIT);
        assertFalse(gvLog.equals(rcLog), "both pods saw the same kernel: " + gvLog);
        assertTrue(rcLog.contains(System.getProperty("os.version")), () -> "runc pod sees the host kernel: " + rcLog);
        assertFalse(gvLog.contains(System.getProperty("os.version")), () -> "runsc pod sees gVisor's: " + gvLog);
    }

    /**
     * What gVisor cannot do is refused with its limit named (driver-quark's GvisorLimits), not run silently wrong: the
     * host's PID or IPC namespace, an IPC sysctl.
     */
    @Test
    void whatGvisorCannotDoIsRefusedNamingItsLimit() {
        PodSandboxConfig plain = podConfig("gv-limits");
        for (NamespaceOption ns : List.of(CriClient.KUBELET_NAMESPACES.toBuilder().setPid(NamespaceMode.NODE).build(),
                CriClient.KUBELET_NAMESPACES.toBuilder().setIpc(NamespaceMode.NODE).build())) {
            PodSandboxConfig host = plain.toBuilder().setLinux(plain.getLinux().toBuilder().setSecurityContext(
                    plain.getLinux().getSecurityContext().toBuilder().setNamespaceOptions(ns))).build();
            String m = assertThrows(StatusRuntimeException.class, () -> runPod(host, RUNSC_HANDLER)).getMessage();
            assertTrue(m.contains("gVisor") && (m.contains("hostPID") || m.contains("hostIPC")), m);
        }
        PodSandboxConfig ipcSysctl = plain.toBuilder().setLinux(plain.getLinux().toBuilder()
                .putSysctls("kernel.shm_rmid_forced", "1")).build();
        String m = assertThrows(StatusRuntimeException.class, () -> runPod(ipcSysctl, RUNSC_HANDLER)).getMessage();
        assertTrue(m.contains("kernel.shm_rmid_forced") && m.contains("gVisor"), m);
        // mounts asking for propagation: GvisorSpecTest (CRI itself wants a shared host mount for them first)
    }

    /**
     * PSS of the pod's host processes outside the node: the processes whose argv names the pod (sandbox, gofers;
     * their runsc root is per pod) and every process in their sessions (the platform's stub processes).
     */
    private static long gvisorPssKb(String podId) {
        java.util.Set<String> sessions = new java.util.HashSet<>();
        for (Processes.Proc p : Processes.matching(p -> p.argvMentions(podId) && !p.argv().isEmpty()
                && p.argv().get(0).startsWith("runsc-"))) {
            sessions.add(statField(p.pid(), 3));
        }
        long kb = 0;
        for (Processes.Proc p : Processes.matching(p -> sessions.contains(statField(p.pid(), 3)))) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/" + p.pid() + "/smaps_rollup"))) {
                    if (line.startsWith("Pss:")) {
                        kb += Long.parseLong(line.replaceAll("\\D", ""));
                    }
                }
            } catch (IOException | RuntimeException gone) {
                // exited meanwhile
            }
        }
        return kb;
    }

    /** Field {@code i} after the command name of /proc/PID/stat (0 = state, 3 = session). */
    private static String statField(long pid, int i) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).split(" ")[i];
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }
}
