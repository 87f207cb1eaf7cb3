package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStatusRequest;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the {@code Runc*} feature tests share: each test runs once per handler, the stock shim ({@code runc}) and
 * ours ({@code kuasar-runc}), in the same containerd, and asserts the same behaviour; helpers to start a pod with
 * one container, find a container's cgroup, and run {@code ctr} for what CRI has no call for (pause, resume).
 */
abstract class RuncFeatureBase extends CriTestBase {
    /** The parameter source of every test: both handlers, stock first. */
    static List<String> handlers() {
        return List.of(NodeEnv.STOCK_HANDLER, NodeEnv.KUASAR_HANDLER);
    }

    private static final Pattern CGROUPS_PATH = Pattern.compile("\"cgroupsPath\"\\s*:\\s*\"([^\"]+)\"");

    /** A pod and its container. */
    record Started(String podId, PodSandboxConfig pod, String containerId) {
    }

    /** Runs a pod on {@code handler} with one container made from {@code config}, RUNNING when this returns. */
    Started start(String handler, String podName, ContainerConfig config) {
        PodSandboxConfig pod = podConfig(podName);
        String podId = runPod(pod, handler);
        String id = cri.runContainer(podId, pod, config);
        cri.waitForState(id, ContainerState.CONTAINER_RUNNING, WAIT);
        return new Started(podId, pod, id);
    }

    /** The container's directory under cgroup v1 controller {@code controller} (from its spec's cgroupsPath). */
    Path cgroupDir(String controller, String containerId) {
        String info = cri.runtime().containerStatus(ContainerStatusRequest.newBuilder().setContainerId(containerId)
                .setVerbose(true).build()).getInfoMap().getOrDefault("info", "");
        Matcher m = CGROUPS_PATH.matcher(info);
        assertTrue(m.find(), () -> "no cgroupsPath in the verbose status of " + containerId);
        return Path.of("/sys/fs/cgroup", controller, m.group(1).replaceFirst("^/+", ""));
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
