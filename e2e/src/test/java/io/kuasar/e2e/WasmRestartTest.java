package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStatus;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.StopContainerRequest;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfEnvironmentVariable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * driver-wasm across an upgrade of its driver bundle and across a kill -9 of the node's JVM. Chicory and Wasmtime
 * modules run inside the node: an upgrade must leave them running (they belong to the engine bundles; Wasmtime's JNI
 * library is never loaded again) and hand their pod to the new driver instance, as it does WasmEdge processes; a crash
 * ends them and they must be reported exited (137, with the reason in the node log), never left "running". WasmEdge
 * processes outlive the JVM (the keeper keeps containerd's connections and records exits).
 */
class WasmRestartTest extends CriTestBase {
    private static final Duration BACK = Duration.ofSeconds(60);
    private static final String NEW_VERSION = "0.1.1";

    @ParameterizedTest
    @ValueSource(strings = {"wasm", "wasmtime", "wasmedge"})
    void upgradingTheDriverHandsThePodOverWithItsModulesRunning(String sandboxer) throws Exception {
        Path built = DriverJars.builtJar(env.repo(), "driver-wasm/driver", "kuasar-driver-wasm-driver");
        Path newer = Files.createTempFile(logRoot, "driver-wasm-", ".jar");
        DriverJars.repack(built, newer, NEW_VERSION); // another version stands beside the old one: a handover
        PodSandboxConfig pod = podConfig("w-upg");
        String podId = runPod(pod, "kuasar-" + sandboxer);
        String sleeper = cri.runContainer(podId, pod, WasmPodTest.wasm("sleeper", "quiet", "sleep", "3600"));
        String looper = cri.runContainer(podId, pod, WasmPodTest.wasm("looper", "quiet", "loop"));
        cri.waitForLog(sleeper, "sleeping", WAIT);
        cri.waitForLog(looper, "looping", WAIT);

        upgrade(sandboxer, newer);
        for (String c : List.of(sleeper, looper)) {
            assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(c).getState(), c + " after upgrade");
        }
        cri.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(looper).setTimeout(20).build());
        assertEquals(143, cri.waitForState(looper, ContainerState.CONTAINER_EXITED, WAIT).getExitCode(),
                "the new driver instance still reaches the module the old one started");
        upgrade(sandboxer, built); // back to the build's bundle, as the other tests expect it
        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(sleeper).getState());
    }

    /** Upgrades the wasm driver bundle to {@code jar}; the running pod of {@code sandboxer} is handed over. */
    private void upgrade(String sandboxer, Path jar) throws IOException, InterruptedException {
        long mark = nodeLogMark();
        String answer = admin("upgrade " + sandboxer + " " + jar.toAbsolutePath());
        assertTrue(answer.strip().endsWith("OK"), () -> "upgrade: " + answer);
        String serves = waitForLog("serves [" + sandboxer + "]: ", mark);
        assertTrue(serves.contains("handed over 1 sandbox(es) one at a time"), "a handover, not a recovery: " + serves);
    }

    @Test
    @DisabledIfEnvironmentVariable(named = "KUASAR_KEEPER", matches = "0", disabledReason = "KUASAR_KEEPER=0: no"
            + " keeper restarts the node's JVM after the kill -9 this test makes")
    void aNodeCrashEndsInNodeModulesVisiblyAndWasmEdgeProcessesSurvive() throws Exception {
        KeeperNode node = new KeeperNode(env, BACK);
        long keeper = node.keeper();
        PodSandboxConfig cp = podConfig("w-crash");
        PodSandboxConfig ep = podConfig("e-crash");
        PodSandboxConfig tp = podConfig("t-crash");
        String chicoryPod = runPod(cp, "kuasar-wasm");
        String wasmtimePod = runPod(tp, "kuasar-wasmtime");
        String inWasmtime = cri.runContainer(wasmtimePod, tp, WasmPodTest.wasm("intime", "quiet", "sleep", "3600"));
        String edgePod = runPod(ep, "kuasar-wasmedge");
        String inJvm = cri.runContainer(chicoryPod, cp, WasmPodTest.wasm("injvm", "quiet", "sleep", "3600"));
        String edgeSleeper = cri.runContainer(edgePod, ep, WasmPodTest.wasm("edge", "quiet", "sleep", "3600"));
        String edgeFive = cri.runContainer(edgePod, ep, WasmPodTest.wasm("five", "quiet", "sleep", "2", "exit", "5"));
        cri.waitForLog(inJvm, "sleeping", WAIT);
        cri.waitForLog(inWasmtime, "sleeping", WAIT);
        cri.waitForLog(edgeSleeper, "sleeping", WAIT);
        cri.waitForLog(edgeFive, "sleeping", WAIT);
        long mark = nodeLogMark();

        long jvm = KeeperNode.jvmOf(keeper);
        assertTrue(jvm > 0, "no java child of keeper " + keeper);
        new ProcessBuilder("kill", "-9", Long.toString(jvm)).inheritIO().start().waitFor();
        node.awaitNewJvm(keeper, jvm);
        node.awaitSandboxerAnswers();
        node.awaitContainerdRedials(cri, chicoryPod);

        ContainerStatus lost = cri.waitForState(inJvm, ContainerState.CONTAINER_EXITED, BACK);
        assertEquals(137, lost.getExitCode(), "a module that died with its JVM reads as SIGKILLed");
        // Only what this crash made the node log about this module counts (the log file holds earlier runs too).
        waitForLog("wasm container " + inJvm + " of sandbox " + chicoryPod
                + " ended with 137: the node JVM that ran this wasm module stopped", mark);
        node.awaitContainerdRedials(cri, wasmtimePod);
        assertEquals(137, cri.waitForState(inWasmtime, ContainerState.CONTAINER_EXITED, BACK).getExitCode(),
                "a Wasmtime module ends with its JVM too");
        waitForLog("wasm container " + inWasmtime + " of sandbox " + wasmtimePod
                + " ended with 137: the node JVM that ran this wasm module stopped", mark);
        assertEquals(5, cri.waitForState(edgeFive, ContainerState.CONTAINER_EXITED, BACK).getExitCode(),
                "WasmEdge's exit while or after the JVM was down");
        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(edgeSleeper).getState());
        cri.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(edgeSleeper).setTimeout(20).build());
        assertEquals(143, cri.waitForState(edgeSleeper, ContainerState.CONTAINER_EXITED, WAIT).getExitCode());
    }

    /** The first line of the node log since {@code mark} that holds {@code needle}, once there is one. */
    private String waitForLog(String needle, long mark) throws IOException, InterruptedException {
        long end = System.nanoTime() + BACK.toNanos();
        while (true) {
            String log = nodeLogSince(mark);
            Optional<String> line = log.lines().filter(l -> l.contains(needle)).findFirst();
            if (line.isPresent()) {
                return line.get();
            }
            if (System.nanoTime() > end) {
                throw new AssertionError("node log lacks \"" + needle + "\": " + log);
            }
            Thread.sleep(50);
        }
    }

    /** One line of the node's admin protocol (docs/operating.md); returns the whole answer. */
    private String admin(String line) throws IOException {
        Path sock = env.kuasarRunDir().resolve("admin.sock");
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(sock));
            ch.write(ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8)));
            ByteBuffer buf = ByteBuffer.allocate(1 << 16);
            while (ch.read(buf) >= 0 && buf.hasRemaining()) {
                // until the node closes
            }
            return new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
        }
    }
}
