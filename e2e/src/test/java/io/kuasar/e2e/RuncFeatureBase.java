package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStatsRequest;
import io.kuasar.api.cri.v1.ContainerStatusRequest;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the {@code Runc*} feature tests share: each test runs once per handler, the stock shim ({@code runc}) and
 * ours ({@code kuasar-runc}), and for features VM pods have, {@code kuasar-vmm} too, in the same containerd, and
 * asserts the same behaviour; helpers to start a pod with
 * one container, find a container's cgroup (v1 or v2, see {@link HostCgroups}), and run {@code ctr} for what CRI
 * has no call for (pause, resume).
 */
abstract class RuncFeatureBase extends CriTestBase {
    /** The parameter source of every test: both handlers, stock first. */
    static List<String> handlers() {
        return List.of(NodeEnv.STOCK_HANDLER, NodeEnv.KUASAR_HANDLER);
    }

    /** The parameter source of a test whose feature the VM pods have too: both handlers, then {@code kuasar-vmm}. */
    static List<String> handlersAndVm() {
        return List.of(NodeEnv.STOCK_HANDLER, NodeEnv.KUASAR_HANDLER, VmmPodTest.VMM_HANDLER);
    }

    /** How long a container of {@code handler} may take to get somewhere: a VM pod's guest is emulated (TCG). */
    static Duration waitOn(String handler) {
        return handler.equals(VmmPodTest.VMM_HANDLER) ? VmmPodTest.VM_WAIT : WAIT;
    }

    /** Both handlers and {@code kuasar-runsc}, for a feature gVisor's pods have as well. */
    static List<String> handlersAndGvisor() {
        return List.of(NodeEnv.STOCK_HANDLER, NodeEnv.KUASAR_HANDLER, CriParityTestBase.RUNSC);
    }

    /** Every handler whose pods have terminals: both runc handlers, {@code kuasar-vmm} and {@code kuasar-runsc}. */
    static List<String> terminalHandlers() {
        return List.of(NodeEnv.STOCK_HANDLER, NodeEnv.KUASAR_HANDLER, VmmPodTest.VMM_HANDLER, CriParityTestBase.RUNSC);
    }

    private static final Pattern CGROUPS_PATH = Pattern.compile("\"cgroupsPath\"\\s*:\\s*\"([^\"]+)\"");

    /** A pod and its container. */
    record Started(String podId, PodSandboxConfig pod, String containerId) {
    }

    /** Runs a pod on {@code handler} with one container made from {@code config}, RUNNING when this returns. */
    Started start(String handler, String podName, ContainerConfig config) {
        Started s = run(handler, podName, config);
        cri.waitForState(s.containerId(), ContainerState.CONTAINER_RUNNING, waitOn(handler));
        return s;
    }

    /** Runs a pod on {@code handler} with one container made from {@code config}, started (it may have ended). */
    Started run(String handler, String podName, ContainerConfig config) {
        HostTools.requireHandler(handler); // skips, saying why, on a host without the handler's tools
        PodSandboxConfig pod = podConfig(podName);
        String podId = runPod(pod, handler);
        return new Started(podId, pod, cri.runContainer(podId, pod, config));
    }

    /** This host's cgroup hierarchies (where the cgroupfs driver puts a container's cgroup). */
    static final HostCgroups CGROUPS = HostCgroups.host();

    /** The container's {@code linux.cgroupsPath} (from its spec in the verbose status). */
    String cgroupsPath(String containerId) {
        String info = cri.runtime().containerStatus(ContainerStatusRequest.newBuilder().setContainerId(containerId)
                .setVerbose(true).build()).getInfoMap().getOrDefault("info", "");
        Matcher m = CGROUPS_PATH.matcher(info);
        assertTrue(m.find(), () -> "no cgroupsPath in the verbose status of " + containerId);
        return m.group(1);
    }

    /**
     * The container's cgroup directory for {@code controller}: in that controller's v1 hierarchy on a v1 host, in
     * the one cgroup2 tree on a v2 host. Skips when a v1 host has no such hierarchy mounted.
     */
    Path cgroupDir(String controller, String containerId) {
        Path dir = CGROUPS.dir(controller, cgroupsPath(containerId));
        assumeTrue(dir != null, () -> "this host has no " + controller + " cgroup hierarchy: " + CGROUPS.describe());
        assertTrue(Files.isDirectory(dir), () -> "the container's " + controller + " cgroup " + dir + " exists ("
                + CGROUPS.describe() + ")");
        return dir;
    }

    /** The value of {@code key} in a flat-keyed cgroup file ({@code cpu.stat}, {@code cgroup.events}, ...). */
    static String keyed(Path file, String key) throws IOException {
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String[] kv = line.trim().split("\\s+");
            if (kv.length == 2 && kv[0].equals(key)) {
                return kv[1];
            }
        }
        throw new AssertionError("no " + key + " in " + file);
    }

    static String read(Path file) throws IOException {
        return Files.readString(file, StandardCharsets.UTF_8).trim();
    }

    /** Runs ctr (namespace k8s.io) against our containerd; returns its output; fails on a non-zero exit. */
    String ctr(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(env.ctr().toString(), "--address",
                env.containerdSock().toString(), "--namespace", "k8s.io"));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile("ctr", ".out");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("ctr " + String.join(" ", args) + " hangs");
            }
            String text = Files.readString(out);
            if (p.exitValue() != 0) {
                throw new AssertionError("ctr " + String.join(" ", args) + " failed: " + text);
            }
            return text;
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /**
     * Pauses container {@code id}, whose process spins without end, through ctr (CRI has no Pause): its task reads
     * PAUSED and it uses no CPU for {@code paused}; then resumes it: RUNNING, and it used CPU again after
     * {@code resumed}.
     */
    void pausedUsesNoCpuAndResumedRunsAgain(String id, Duration paused, Duration resumed) throws Exception {
        ctr("tasks", "pause", id);
        assertEquals("PAUSED", taskStatus(id));
        long frozen = cpuNanos(id);
        Thread.sleep(paused.toMillis());
        assertEquals(frozen, cpuNanos(id), "a busy loop used no CPU while paused");

        ctr("tasks", "resume", id);
        assertEquals("RUNNING", taskStatus(id));
        Thread.sleep(resumed.toMillis());
        assertTrue(cpuNanos(id) > frozen, "the loop runs again once resumed");
    }

    /** The container's CPU time so far (CRI ContainerStats), nanoseconds. */
    long cpuNanos(String containerId) {
        return cri.runtime().containerStats(ContainerStatsRequest.newBuilder().setContainerId(containerId).build())
                .getStats().getCpu().getUsageCoreNanoSeconds().getValue();
    }

    /** The STATUS column of {@code ctr tasks ls} for the container's task. */
    String taskStatus(String containerId) throws IOException, InterruptedException {
        for (String line : ctr("tasks", "ls").split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 3 && f[0].equals(containerId)) {
                return f[2];
            }
        }
        throw new AssertionError("ctr tasks ls does not list " + containerId);
    }
}
