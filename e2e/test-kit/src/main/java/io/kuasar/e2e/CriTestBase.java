package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.Container;
import io.kuasar.api.cri.v1.ContainerFilter;
import io.kuasar.api.cri.v1.ContainerStatusRequest;
import io.kuasar.api.cri.v1.ExecSyncRequest;
import io.kuasar.api.cri.v1.ExecSyncResponse;
import io.kuasar.api.cri.v1.ListContainersRequest;
import io.kuasar.api.cri.v1.PodSandbox;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.PodSandboxState;
import io.kuasar.api.cri.v1.PodSandboxStatusRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Common ground of the CRI tests: the node (via {@link NodeExtension}), per-test log directories, and cleanup of
 * every pod a test made, even when it failed half-way (pods are labelled with a per-test tag, so ones whose id
 * never came back are found too). A cleanup failure fails the test: leaving nothing behind is part of the contract.
 */
@ExtendWith(NodeExtension.class)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
public abstract class CriTestBase {
    /** Time allowed for a container to reach a state or a log line to appear. */
    protected static final Duration WAIT = Duration.ofSeconds(30);
    private static final Pattern PID = Pattern.compile("\"pid\"\\s*:\\s*(\\d+)");

    protected CriClient cri;
    protected NodeEnv env;
    @TempDir
    protected Path logRoot;
    /** Unique per test method: the value of {@link CriClient#RUN_LABEL} on its pods. */
    protected String runTag;
    private final Set<String> pods = ConcurrentHashMap.newKeySet();

    @BeforeEach
    void attachNode(CriClient cri, NodeEnv env) {
        this.cri = cri;
        this.env = env;
        this.runTag = "e2e-" + UUID.randomUUID().toString().substring(0, 8);
    }

    @AfterEach
    void removePods() {
        Set<String> all = new LinkedHashSet<>(pods);
        for (PodSandbox p : cri.podsOfRun(runTag)) {
            all.add(p.getId());
        }
        List<RuntimeException> failures = new ArrayList<>();
        for (String id : all) {
            try {
                cri.removePod(id);
            } catch (RuntimeException e) {
                failures.add(e);
            }
        }
        pods.clear();
        if (!failures.isEmpty()) {
            AssertionError error = new AssertionError("cleanup could not remove " + failures.size() + " pod(s) of "
                    + runTag + ": " + failures.get(0).getMessage(), failures.get(0));
            failures.stream().skip(1).forEach(error::addSuppressed);
            throw error;
        }
    }

    /** A pod config named {@code name} (hostname too), logging under this test's temp dir, in our cgroup parent. */
    protected PodSandboxConfig podConfig(String name) {
        return CriClient.podConfig(name + "-" + runTag, name, logRoot.resolve(name), env.cgroupParent(), runTag);
    }

    /** RunPodSandbox, remembering the pod for cleanup. */
    protected String runPod(PodSandboxConfig config, String handler) {
        String id = cri.runPod(config, handler);
        pods.add(id);
        return id;
    }

    /** Forget a pod the test removed itself (cleanup would tolerate it anyway). */
    protected void forget(String podId) {
        pods.remove(podId);
    }

    /**
     * {@code call}, made again while it fails UNAVAILABLE, for up to {@code within}: what kubelet does while
     * containerd's gRPC client to a restarted sandboxer is still in its reconnect back-off, or when a sandbox Controller
     * call (not relayed by the keeper) met a JVM going down. Any other failure, or one past {@code within}, is thrown.
     */
    protected static <T> T asKubeletRetries(Duration within, java.util.function.Supplier<T> call) {
        long end = System.nanoTime() + within.toNanos();
        while (true) {
            try {
                return call.get();
            } catch (io.grpc.StatusRuntimeException e) {
                if (e.getStatus().getCode() != io.grpc.Status.Code.UNAVAILABLE || System.nanoTime() > end) {
                    throw e;
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    protected String busybox() {
        return env.busyboxImage();
    }

    protected ExecSyncResponse execSync(String containerId, String... cmd) {
        return cri.runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(containerId)
                .addAllCmd(List.of(cmd)).setTimeout(20).build());
    }

    protected PodSandboxState podState(String podId) {
        return cri.runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(podId).build())
                .getStatus().getState();
    }

    /** The container's init pid (in the host's pid namespace) from CRI's verbose status ("info" JSON holds "pid"). */
    protected long initPid(String containerId) {
        String info = cri.runtime().containerStatus(ContainerStatusRequest.newBuilder().setContainerId(containerId)
                .setVerbose(true).build()).getInfoMap().getOrDefault("info", "");
        Matcher m = PID.matcher(info);
        assertTrue(m.find(), () -> "no pid in verbose status of " + containerId + ": " + info);
        return Long.parseLong(m.group(1));
    }

    protected List<Container> containersOf(String podId) {
        return cri.runtime().listContainers(ListContainersRequest.newBuilder()
                .setFilter(ContainerFilter.newBuilder().setPodSandboxId(podId)).build()).getContainersList();
    }

    // ---- the node's log, for tests that change the node while pods run ----------------------------------------

    protected Path nodeLog() {
        return env.nodeDir().resolve("kuasar.log");
    }

    /** Where the node log ends now: pass it to {@link #nodeLogSince(long)} later. */
    protected long nodeLogMark() throws java.io.IOException {
        return java.nio.file.Files.size(nodeLog());
    }

    /** What the node logged after {@code mark}. */
    protected String nodeLogSince(long mark) throws java.io.IOException {
        byte[] all = java.nio.file.Files.readAllBytes(nodeLog());
        return new String(all, (int) Math.min(mark, all.length), (int) Math.max(0, all.length - mark),
                java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Same processes, RUNNING in CRI, exec answering, and no error in the node log since {@code mark}. */
    protected void assertStillServed(java.util.Map<String, Long> sleepers, long mark) throws java.io.IOException {
        for (java.util.Map.Entry<String, Long> s : sleepers.entrySet()) {
            org.junit.jupiter.api.Assertions.assertEquals(io.kuasar.api.cri.v1.ContainerState.CONTAINER_RUNNING,
                    cri.containerStatus(s.getKey()).getState(), s.getKey());
            org.junit.jupiter.api.Assertions.assertEquals(s.getValue(), initPid(s.getKey()), "same process");
            ExecSyncResponse r = execSync(s.getKey(), "echo", "still-here");
            org.junit.jupiter.api.Assertions.assertEquals(0, r.getExitCode(), () -> r.getStderr().toStringUtf8());
            org.junit.jupiter.api.Assertions.assertEquals("still-here\n", r.getStdout().toStringUtf8());
        }
        List<String> errors = nodeLogSince(mark).lines()
                .filter(l -> l.contains(" SEVERE ") || l.contains(" ERROR ")).toList();
        org.junit.jupiter.api.Assertions.assertEquals(List.of(), errors, "errors in the node log");
    }
}
