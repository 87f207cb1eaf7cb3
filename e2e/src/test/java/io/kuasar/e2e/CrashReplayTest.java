package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.StatusRuntimeException;
import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStatus;
import io.kuasar.api.cri.v1.ExecSyncRequest;
import io.kuasar.api.cri.v1.ExecSyncResponse;
import io.kuasar.api.cri.v1.KeyValue;
import io.kuasar.api.cri.v1.ListContainersRequest;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.RemoveContainerRequest;
import io.kuasar.api.cri.v1.RemovePodSandboxRequest;
import io.kuasar.api.cri.v1.StopContainerRequest;
import io.kuasar.api.cri.v1.StopPodSandboxRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.DisabledIfEnvironmentVariable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Crash replay is safe (issue 12, part 3): the node's JVM halts (as under {@code kill -9}) at the worst point of a
 * Task API call, after the driver did the work and before the answer left, and the keeper replays the request to
 * the JVM it starts next. containerd must see success, and the replay must do nothing twice: one container
 * process, one run of an exec, the container's own exit code, the container removed once.
 *
 * <p>The switch is the node's test-only {@code HaltPoints} (KUASAR_TEST_HALT_FILE, which {@link NodeExtension}
 * sets): each point armed in the file fires once.
 */
@DisabledIfEnvironmentVariable(named = "KUASAR_KEEPER", matches = "0",
        disabledReason = "KUASAR_KEEPER=0: no keeper restarts the JVM after a halt, nor replays what it left")
@Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class CrashReplayTest extends CriTestBase {
    /** A node restart under TCG with VM pods to recover takes several seconds on 2 busy CPUs. */
    private static final Duration RESTART = Duration.ofSeconds(90);
    /** The container: one sleep, and exit code 42 for SIGTERM, so a stop's exit code is the container's own. */
    private static final String SLEEPER = "trap 'exit 42' TERM; sleep 3600 & wait";
    /**
     * Cleanup after the calls returned: a child being reaped, and the node's own removal of a sandbox containerd gave
     * up (3 s after a restart, then a stop: seconds for a VM or a gVisor sandbox on 2 busy CPUs).
     */
    private static final Duration SETTLE = Duration.ofSeconds(30);
    private static final java.util.regex.Pattern ID = java.util.regex.Pattern.compile("[0-9a-f]{64}");

    @AfterEach
    void disarm() throws IOException {
        Files.deleteIfExists(env.haltFile()); // a point a failed test left armed must not fire in the next test
    }

    /**
     * Create, Start, Kill and Delete, each halted once after the driver did it. A WasmEdge container is a host process
     * outside the JVM like the others, so the same holds: one process, the container's own exit code (SIGTERM's 143
     * for a module: WASI has no signal handlers).
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"kuasar-runc", "kuasar-runsc", "kuasar-vmm", "kuasar-wasmedge"})
    void containerCallsHaltedAfterTheDriverAnsweredAreReplayedWithNothingDoneTwice(String handler) throws Exception {
        KeeperNode node = serving(handler);
        long keeper = node.keeper();
        PodSandboxConfig pod = podConfig("replay");
        String podId = runPod(pod, handler);
        boolean wasm = handler.equals("kuasar-wasmedge");
        String mark = "KUASAR_REPLAY_MARK=" + java.util.UUID.randomUUID(); // WasmEdge's command line shows it
        ContainerConfig sleeper = wasm ? WasmPodTest.wasm("sleeper", "quiet", "sleep", "3600")
                : containerConfig("sleeper", busybox(), "sh", "-c", SLEEPER);
        sleeper = sleeper.toBuilder().addEnvs(KeyValue.newBuilder().setKey(mark.split("=")[0])
                .setValue(mark.split("=")[1])).build();

        long jvm = KeeperNode.jvmOf(keeper);
        arm("Task.Create:after", "Task.Start:after");
        String c = cri.runContainer(podId, pod, sleeper);
        jvm = restartedOnce(node, keeper, jvm, podId);
        cri.waitForState(c, ContainerState.CONTAINER_RUNNING, WAIT);
        assertEquals(1, wasm ? Processes.matching(p -> p.argvMentions(mark)).size() : sleeps(c),
                "one container process, not one per Create/Start");

        // Kill and Delete replayed (containerd deletes the task as soon as it sees the exit): the container's own
        // exit code, not one made up for a process already gone; then it is removed as usual
        arm("Task.Kill:after", "Task.Delete:after");
        cri.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(c).setTimeout(30).build());
        ContainerStatus stopped = cri.waitForState(c, ContainerState.CONTAINER_EXITED, WAIT);
        restartedOnce(node, keeper, jvm, podId);
        assertEquals(wasm ? 143 : 42, stopped.getExitCode(), () -> "exit code after a replayed Kill: " + stopped);
        if (wasm) {
            assertEquals(0, Processes.matching(p -> p.argvMentions(mark)).size(), "the WasmEdge process is gone");
        }
        cri.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(c).build());
        assertFalse(cri.runtime().listContainers(ListContainersRequest.getDefaultInstance()).getContainersList()
                .stream().anyMatch(x -> x.getId().equals(c)), "the container is gone");
        String after = cri.runContainer(podId, pod, wasm ? WasmPodTest.wasm("after", "quiet", "exit", "7")
                : containerConfig("after", busybox(), "sh", "-c", "exit 7"));
        assertEquals(7, cri.waitForState(after, ContainerState.CONTAINER_EXITED, WAIT).getExitCode());
    }

    /**
     * Exec and its Start, each replayed: the exec runs once, and its exit reaches ExecSync although the JVM that
     * started it is gone.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"kuasar-runc", "kuasar-runsc", "kuasar-vmm"})
    void execCallsHaltedAfterTheDriverAnsweredAreReplayedAndTheExecRunsOnce(String handler) throws Exception {
        KeeperNode node = serving(handler);
        long keeper = node.keeper();
        PodSandboxConfig pod = podConfig("replay-exec");
        String podId = runPod(pod, handler);
        String c = cri.runContainer(podId, pod, containerConfig("sleeper", busybox(), "sh", "-c", SLEEPER));
        cri.waitForState(c, ContainerState.CONTAINER_RUNNING, WAIT);

        long jvm = KeeperNode.jvmOf(keeper);
        arm("Task.Exec:after", "Task.Start:after");
        ExecSyncResponse counted = exec(c, "echo ran >> /tmp/exec-runs; wc -l < /tmp/exec-runs");
        restartedOnce(node, keeper, jvm, podId);
        assertEquals(0, counted.getExitCode(), () -> counted.getStderr().toStringUtf8());
        assertEquals("1", counted.getStdout().toStringUtf8().trim(), "the exec ran once");
        assertEquals("1", exec(c, "wc -l < /tmp/exec-runs").getStdout().toStringUtf8().trim(),
                "no replayed exec ran after the answer");
        assertEquals(1, sleeps(c), "the container's own process, alone");
    }

    /**
     * Sandbox Controller calls (gRPC) are not relayed by the keeper: a JVM halted after the driver started, stopped
     * or shut down a sandbox fails the CRI call, and kubelet retries it. The retries must succeed, and once the pod is
     * removed nothing of it is left on the host, including what the halted Start made for a sandbox CRI gave up on.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"kuasar-runc", "kuasar-runsc", "kuasar-vmm", "kuasar-wasm", "kuasar-wasmedge"})
    void sandboxCallsHaltedAfterTheDriverAnsweredFailOnceAndTheirRetriesLeaveNothingBehind(String handler)
            throws Exception {
        KeeperNode node = serving(handler);
        long keeper = node.keeper();
        String witness = runPod(podConfig("replay-witness"), handler); // shows when containerd has redialled
        Set<String> idsBefore = sandboxIdsOnDisk();

        long jvm = KeeperNode.jvmOf(keeper);
        PodSandboxConfig pod = podConfig("replay-sandbox");
        arm("Sandbox.Start:after");
        assertThrows(StatusRuntimeException.class, () -> runPod(pod, handler), "RunPodSandbox whose Start halted");
        jvm = restartedOnce(node, keeper, jvm, witness);
        Set<String> gaveUp = new HashSet<>(sandboxIdsOnDisk());
        gaveUp.removeAll(idsBefore);
        String podId = runPod(pod, handler); // kubelet's retry
        String c = cri.runContainer(podId, pod, handler.startsWith("kuasar-wasm")
                ? WasmPodTest.wasm("ok", "quiet", "exit", "0") : containerConfig("ok", busybox(), "true"));
        assertEquals(0, cri.waitForState(c, ContainerState.CONTAINER_EXITED, WAIT).getExitCode(), "the pod serves");

        arm("Sandbox.Stop:after");
        StopPodSandboxRequest stop = StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build();
        assertThrows(StatusRuntimeException.class, () -> cri.runtime().stopPodSandbox(stop), "halted Stop");
        jvm = restartedOnce(node, keeper, jvm, witness);
        cri.runtime().stopPodSandbox(stop);

        arm("Sandbox.Shutdown:after");
        RemovePodSandboxRequest remove = RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build();
        assertThrows(StatusRuntimeException.class, () -> cri.runtime().removePodSandbox(remove), "halted Shutdown");
        restartedOnce(node, keeper, jvm, witness);
        cri.runtime().removePodSandbox(remove);
        forget(podId);
        cri.removePod(witness);
        forget(witness);

        Set<String> ids = new HashSet<>(gaveUp);
        ids.addAll(List.of(podId, c, witness));
        HostTraces.Found left = HostTraces.naming(env, ids);
        for (long end = System.nanoTime() + SETTLE.toNanos(); !left.isEmpty() && System.nanoTime() < end; ) {
            Thread.sleep(200);
            left = HostTraces.naming(env, ids);
        }
        HostTraces.Found found = left;
        assertTrue(found.isEmpty(), () -> "left of the pods " + ids + " (" + gaveUp + " halted in Start):\n  " + found);
    }

    /** Sandbox ids (64 hex digits) that name something under the node's state dir. */
    private Set<String> sandboxIdsOnDisk() throws IOException {
        Set<String> ids = new HashSet<>();
        try (java.util.stream.Stream<Path> walk = Files.walk(env.kuasarStateDir())) {
            walk.forEach(p -> ID.matcher(env.kuasarStateDir().relativize(p).toString()).results()
                    .forEach(m -> ids.add(m.group())));
        }
        return ids;
    }

    /**
     * A kuasar-wasm module runs inside the node's JVM and ends with it. Create and Start replayed after the JVM halted
     * still answer as the first ones did, so CRI's StartContainer succeeds, and the container then reads as what it
     * is: ended with the JVM, 137, not running and not started twice.
     */
    @org.junit.jupiter.api.Test
    void inNodeWasmCallsReplayedAfterAHaltAnswerAsTheFirstAndTheModuleReadsAsEndedWithTheJvm() throws Exception {
        String handler = "kuasar-wasm";
        KeeperNode node = serving(handler);
        long keeper = node.keeper();
        PodSandboxConfig pod = podConfig("replay-chicory");
        String podId = runPod(pod, handler);
        long jvm = KeeperNode.jvmOf(keeper);
        arm("Task.Create:after", "Task.Start:after");
        String c = cri.runContainer(podId, pod, WasmPodTest.wasm("sleeper", "sleep", "3600"));
        restartedOnce(node, keeper, jvm, podId);
        ContainerStatus ended = cri.waitForState(c, ContainerState.CONTAINER_EXITED, WAIT);
        assertEquals(137, ended.getExitCode(), () -> "the module ended with the JVM: " + ended);
        String after = cri.runContainer(podId, pod, WasmPodTest.wasm("after", "quiet", "exit", "7"));
        assertEquals(7, cri.waitForState(after, ContainerState.CONTAINER_EXITED, WAIT).getExitCode());
    }

    /** The node, under its keeper and serving (a failed test before may have left it restarting), for {@code handler}. */
    private KeeperNode serving(String handler) throws Exception {
        HostTools.requireHandler(handler);
        KeeperNode node = new KeeperNode(env, RESTART);
        node.awaitSandboxerAnswers();
        return node;
    }

    private void arm(String... points) throws IOException {
        Files.write(env.haltFile(), List.of(points), StandardCharsets.UTF_8);
    }

    /** Waits until every armed point fired and the keeper's next JVM serves; returns that JVM's pid. */
    private long restartedOnce(KeeperNode node, long keeper, long before, String podId) throws Exception {
        Path f = env.haltFile();
        long deadline = System.nanoTime() + RESTART.toNanos();
        while (Files.exists(f) && !Files.readAllLines(f).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        List<String> left = Files.exists(f) ? Files.readAllLines(f) : List.of();
        assertEquals(List.of(), left, "armed points the calls never reached");
        Thread.sleep(500); // the last halting JVM may still be seen for a moment
        node.awaitNewJvm(keeper, before);
        node.awaitSandboxerAnswers();
        node.awaitContainerdRedials(cri, podId);
        long now = KeeperNode.jvmOf(keeper);
        assertNotEquals(before, now, "the JVM halted and the keeper started another");
        return now;
    }

    private ExecSyncResponse exec(String container, String script) {
        return cri.runtime(RESTART.multipliedBy(2)).execSync(ExecSyncRequest.newBuilder().setContainerId(container)
                .addAllCmd(List.of("sh", "-c", script)).setTimeout((int) RESTART.multipliedBy(2).toSeconds()).build());
    }

    /** How many "sleep 3600" run in the container (its own view, whatever kernel serves it). */
    private long sleeps(String container) {
        ExecSyncResponse ps = exec(container, "ps -o args | grep -c '^sleep 3600'");
        assertEquals(0, ps.getExitCode(), () -> "ps: " + ps.getStderr().toStringUtf8());
        return Long.parseLong(ps.getStdout().toStringUtf8().trim());
    }
}
