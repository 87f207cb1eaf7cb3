package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStatus;
import io.kuasar.api.cri.v1.ExecSyncResponse;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.PodSandboxStatusRequest;
import io.kuasar.api.cri.v1.RemovePodSandboxRequest;
import io.kuasar.api.cri.v1.StopPodSandboxRequest;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Pods of handler {@code kuasar-vmm}: each pod a QEMU micro-VM (TCG here, see FACTS) whose init is Kuasar's guest
 * agent; containers run by runc inside the guest, their Task API served by the node. Few tests, each one VM: a VM
 * boot costs seconds of CPU under TCG.
 */
class VmmPodTest extends CriTestBase {
    static final String VMM_HANDLER = "kuasar-vmm";
    /** A guest boots in about 2-3 s under TCG, several times that on a busy 2-CPU host. */
    static final Duration VM_WAIT = Duration.ofSeconds(90);
    /** The driver names a pod's run dir by this many leading characters of its id. */
    private static final int DIR_ID_CHARS = 24;

    @Test
    void containerOutputExitCodeAndGuestKernel() {
        PodSandboxConfig pod = podConfig("vm-out");
        long t0 = System.nanoTime();
        String podId = runPod(pod, VMM_HANDLER);
        System.out.printf("vmm pod %s started in %d ms%n", podId, (System.nanoTime() - t0) / 1_000_000);
        String c = cri.runContainer(podId, pod, containerConfig("hello", busybox(), "sh", "-c",
                "echo hello-from-vm; uname -r; echo to-stderr >&2; exit 3"));
        ContainerStatus done = cri.waitForState(c, ContainerState.CONTAINER_EXITED, VM_WAIT);
        String log = cri.waitForLog(c, "to-stderr", WAIT);
        String hostKernel = System.getProperty("os.version");
        assertAll(() -> assertEquals(3, done.getExitCode(), () -> "exit code; log: " + log),
                () -> assertTrue(log.contains("hello-from-vm"), () -> "stdout in the log: " + log),
                () -> assertFalse(log.contains(hostKernel), () -> "the host's kernel answered uname: " + log),
                () -> assertTrue(log.contains("-amd64"), () -> "the guest's Debian kernel answered uname: " + log));
    }

    @Test
    void execSyncAndContainersOfOneVmShareLocalhost() {
        PodSandboxConfig pod = podConfig("vm-lo");
        String podId = runPod(pod, VMM_HANDLER);
        String server = cri.runContainer(podId, pod, containerConfig("server", busybox(), "sh", "-c",
                "mkdir -p /www && echo pong-from-vm > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"));
        cri.waitForState(server, ContainerState.CONTAINER_RUNNING, VM_WAIT);

        ExecSyncResponse exec = execSync(server, "sh", "-c", "echo exec-out; echo exec-err >&2; exit 5");
        assertEquals(5, exec.getExitCode(), "exec exit code");
        assertEquals("exec-out\n", exec.getStdout().toStringUtf8());
        assertEquals("exec-err\n", exec.getStderr().toStringUtf8());

        String client = cri.runContainer(podId, pod, containerConfig("client", busybox(), "sh", "-c",
                "for i in $(seq 100); do if wget -q -O - http://127.0.0.1:8080/; then exit 0; fi; sleep 0.2; done;"
                        + " echo gave-up; exit 1"));
        ContainerStatus done = cri.waitForState(client, ContainerState.CONTAINER_EXITED, VM_WAIT);
        String log = cri.waitForLog(client, "\n", WAIT);
        assertEquals(0, done.getExitCode(), () -> "client log: " + log);
        assertTrue(log.contains("pong-from-vm"), () -> "client log: " + log);
        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(server).getState(), "server still serves");

        // Stats and Pids come from the container's cgroup inside the guest
        var stats = cri.runtime().containerStats(io.kuasar.api.cri.v1.ContainerStatsRequest.newBuilder()
                .setContainerId(server).build()).getStats();
        assertTrue(stats.getCpu().getUsageCoreNanoSeconds().getValue() > 0, () -> "cpu: " + stats.getCpu());
        assertTrue(stats.getMemory().getWorkingSetBytes().getValue() > 0
                || stats.getMemory().getUsageBytes().getValue() > 0, () -> "memory: " + stats.getMemory());
    }

    /** A pod of the default size starts by restoring the driver's template VM instead of booting. */
    @Test
    void podStartsFromTheTemplateVm() throws Exception {
        VmmHost.awaitTemplate(env, VM_WAIT);
        PodSandboxConfig pod = podConfig("vm-tpl");
        long mark = nodeLogMark();
        long t0 = System.nanoTime();
        String podId = runPod(pod, VMM_HANDLER);
        String c = cri.runContainer(podId, pod, containerConfig("hello", busybox(), "sh", "-c",
                "hostname; cat /proc/uptime; echo templated-ok"));
        long started = (System.nanoTime() - t0) / 1_000_000;
        ContainerStatus done = cri.waitForState(c, ContainerState.CONTAINER_EXITED, VM_WAIT);
        String log = cri.waitForLog(c, "templated-ok", WAIT);
        String nodeLog = nodeLogSince(mark);
        System.out.printf("vmm pod %s from the template: pod + container started in %d ms%n", podId, started);
        assertAll(() -> assertTrue(nodeLog.contains("sandbox " + podId + " restored from the template"),
                        () -> "the node restored the template for " + podId + ":\n" + nodeLog),
                () -> assertEquals(0, done.getExitCode(), () -> "log: " + log),
                () -> assertTrue(log.contains("vm-tpl"), () -> "the restored guest took the pod's hostname: " + log));
    }

    @Test
    void stopAndRemoveLeaveNoVmFileMountOrCgroup() throws InterruptedException {
        // cold boot (the template path is the default): both ways of starting are covered
        PodSandboxConfig pod = podConfig("vm-gone").toBuilder().putAnnotations("io.kuasar.vmm.boot", "cold").build();
        String podId = runPod(pod, VMM_HANDLER);
        String sleeper = cri.runContainer(podId, pod, containerConfig("sleeper", busybox(), "sleep", "3600"));
        cri.waitForState(sleeper, ContainerState.CONTAINER_RUNNING, VM_WAIT);
        assertEquals(0, execSync(sleeper, "true").getExitCode());
        List<String> ids = List.of(podId, podId.substring(0, DIR_ID_CHARS), sleeper);

        HostTraces.Found during = HostTraces.naming(env, ids);
        System.out.printf("vmm pod %s: QEMU PSS %d kB%n", podId, VmmHost.qemuPssKb(podId));
        assertTrue(during.processes().stream().anyMatch(p -> String.join(" ", p.argv()).contains("qemu-system")),
                () -> "the pod's QEMU; found:\n  " + during);
        assertFalse(during.statePaths().isEmpty(), () -> "state of the pod; found:\n  " + during);
        assertFalse(during.runPaths().isEmpty(), () -> "run files of the pod (sockets, share); found:\n  " + during);
        assertTrue(during.mounts().stream().anyMatch(m -> m.contains(sleeper)), () -> "sleeper rootfs; " + during);
        assertTrue(during.processes().stream().anyMatch(p -> String.join(" ", p.argv()).contains("qemu-system")
                && p.cgroups().contains("kuasar-vmm-" + podId)), () -> "QEMU in the pod's cgroup; found:\n  " + during);

        cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
        cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
        forget(podId);
        HostTraces.Found after = HostTraces.naming(env, ids);
        long end = System.currentTimeMillis() + 2_000;
        while (!after.isEmpty() && System.currentTimeMillis() < end) {
            Thread.sleep(100);
            after = HostTraces.naming(env, ids);
        }
        HostTraces.Found left = after;
        assertAll("what is left of vmm pod " + podId,
                () -> assertEquals(List.of(), left.processes(), "processes naming the pod (QEMU)"),
                () -> assertEquals(List.of(), left.statePaths(), "state files"),
                () -> assertEquals(List.of(), left.runPaths(), "run files (sockets, console, share)"),
                () -> assertEquals(List.of(), left.mounts(), "mounts"),
                () -> assertEquals(List.of(), left.cgroupDirs(), "cgroups"),
                () -> assertEquals(List.of(), VmmHost.tapsOf(podId), "tap devices"));
    }

    @Test
    void vmPodBesideRuncPodReachableOverItsPodIp() {
        PodSandboxConfig vm = podConfig("vm-side");
        PodSandboxConfig rc = podConfig("rc-side");
        String vmPod = runPod(vm, VMM_HANDLER);
        String rcPod = runPod(rc, NodeEnv.KUASAR_HANDLER);
        String vmIp = cri.runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(vmPod).build())
                .getStatus().getNetwork().getIp();
        assertFalse(vmIp.isEmpty(), "the VM pod has a pod IP");
        String server = cri.runContainer(vmPod, vm, containerConfig("server", busybox(), "sh", "-c",
                "mkdir -p /www && uname -r > /www/index.html && exec httpd -f -p 8080 -h /www"));
        cri.waitForState(server, ContainerState.CONTAINER_RUNNING, VM_WAIT);
        String client = cri.runContainer(rcPod, rc, containerConfig("client", busybox(), "sh", "-c",
                "uname -r; for i in $(seq 150); do if timeout 5 wget -q -O - http://" + vmIp + ":8080/; then exit 0; fi;"
                        + " sleep 0.2; done; echo gave-up; exit 1"));
        ContainerStatus done = cri.waitForState(client, ContainerState.CONTAINER_EXITED, VM_WAIT);
        String log = cri.waitForLog(client, "\n", WAIT);
        String[] lines = log.strip().split("\n");
        assertAll(() -> assertEquals(0, done.getExitCode(), () -> "client in the runc pod; log: " + log),
                () -> assertTrue(lines.length >= 2 && !lines[0].equals(lines[lines.length - 1]),
                        () -> "the runc pod (host kernel) reached the VM pod (guest kernel) at " + vmIp + ": " + log));
    }
}
