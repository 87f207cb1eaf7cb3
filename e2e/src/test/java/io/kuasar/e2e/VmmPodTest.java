package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static io.kuasar.e2e.CriParityTestBase.BOOT_ID;
import static io.kuasar.e2e.CriParityTestBase.hostBootId;
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
import org.junit.jupiter.api.BeforeAll;
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

    @BeforeAll
    static void qemuAndTheGuestImageAreThere() {
        HostTools.requireHandler(VMM_HANDLER);
    }

    @Test
    void containerOutputExitCodeAndGuestKernel() {
        PodSandboxConfig pod = podConfig("vm-out");
        long t0 = System.nanoTime();
        String podId = runPod(pod, VMM_HANDLER);
        System.out.printf("vmm pod %s started in %d ms%n", podId, (System.nanoTime() - t0) / 1_000_000);
        String c = cri.runContainer(podId, pod, containerConfig("hello", busybox(), "sh", "-c",
                "echo hello-from-vm; echo boot_id=$(cat " + BOOT_ID + "); uname -r; echo to-stderr >&2; exit 3"));
        ContainerStatus done = cri.waitForState(c, ContainerState.CONTAINER_EXITED, VM_WAIT);
        String log = cri.waitForLog(c, "to-stderr", WAIT);
        // The kernel's boot id tells kernels apart even when host and guest run the same Debian kernel release.
        String hostBoot = hostBootId();
        assertAll(() -> assertEquals(3, done.getExitCode(), () -> "exit code; log: " + log),
                () -> assertTrue(log.contains("hello-from-vm"), () -> "stdout in the log: " + log),
                () -> assertTrue(log.matches("(?s).*boot_id=[0-9a-f-]{36}\\n.*"), () -> "the guest's boot id: " + log),
                () -> assertFalse(log.contains(hostBoot), () -> "the host's kernel (boot id " + hostBoot
                        + ") answered: " + log),
                () -> assertTrue(log.contains("-amd64"), () -> "the guest's Debian kernel answered uname: " + log),
                () -> assertEquals(List.of(2), VmmHost.qemuSeccompModes(podId),
                        "the pod's QEMU (from the template) runs under its seccomp filter (-sandbox)"));
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
        assertEquals(List.of(2), VmmHost.qemuSeccompModes(podId),
                "the pod's QEMU (cold boot) runs under its seccomp filter (-sandbox)");
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

    /**
     * Every exec runs new guest code that QEMU translates under TCG; with QEMU's default 1 GiB translation cache
     * a pod that took a few dozen execs outgrew its cgroup's memory limit and the kernel killed QEMU (seen at 22
     * execs). The VM must take many execs and stay inside its limit, with no OOM kill in the pod's cgroup.
     */
    @Test
    void manyExecsLeaveTheVmInsideItsMemoryLimit() throws java.io.IOException {
        PodSandboxConfig pod = podConfig("vm-execs");
        String podId = runPod(pod, VMM_HANDLER);
        String c = cri.runContainer(podId, pod, containerConfig("sleeper", busybox(), "sleep", "3600"));
        cri.waitForState(c, ContainerState.CONTAINER_RUNNING, VM_WAIT);
        for (int i = 0; i < 40; i++) {
            ExecSyncResponse r = execSync(c, "sh", "-c", "echo exec-" + i + "; ls /bin > /dev/null");
            assertEquals("exec-" + i + "\n", r.getStdout().toStringUtf8(), () -> "exec " + r);
        }
        assertEquals(io.kuasar.api.cri.v1.PodSandboxState.SANDBOX_READY, podState(podId));
        HostCgroups host = HostCgroups.host();
        org.junit.jupiter.api.Assumptions.assumeTrue(host.isV1() && host.dir("memory", "/") != null,
                () -> "the vmm driver limits QEMU's memory in a cgroup v1 memory hierarchy; this host has "
                        + host.describe());
        java.nio.file.Path memory = host.dir("memory", env.cgroupParent() + "/kuasar-vmm-" + podId);
        List<String> oom = java.nio.file.Files.readAllLines(memory.resolve("memory.oom_control"));
        assertTrue(oom.contains("oom_kill 0"), () -> "OOM kills in " + memory + ": " + oom);
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
                "mkdir -p /www && cat " + BOOT_ID + " > /www/index.html && exec httpd -f -p 8080 -h /www"));
        cri.waitForState(server, ContainerState.CONTAINER_RUNNING, VM_WAIT);
        String client = cri.runContainer(rcPod, rc, containerConfig("client", busybox(), "sh", "-c",
                "cat " + BOOT_ID + "; for i in $(seq 150); do if timeout 5 wget -q -O - http://" + vmIp + ":8080/; then exit 0; fi;"
                        + " sleep 0.2; done; echo gave-up; exit 1"));
        ContainerStatus done = cri.waitForState(client, ContainerState.CONTAINER_EXITED, VM_WAIT);
        String log = cri.waitForLog(client, "\n", WAIT);
        String[] lines = log.strip().split("\n");
        String hostBoot = hostBootId();
        // First line: the runc pod's kernel (the host's); last: what the VM pod served (the guest's boot id).
        assertAll(() -> assertEquals(0, done.getExitCode(), () -> "client in the runc pod; log: " + log),
                () -> assertEquals(hostBoot, lines[0], () -> "the runc pod runs on the host's kernel: " + log),
                () -> assertTrue(lines.length >= 2 && lines[lines.length - 1].matches("[0-9a-f-]{36}")
                        && !lines[lines.length - 1].equals(hostBoot),
                        () -> "the runc pod (host kernel) reached the VM pod (guest kernel) at " + vmIp + ": " + log));
    }
}
