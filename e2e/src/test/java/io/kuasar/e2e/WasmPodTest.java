package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.StatusRuntimeException;
import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStats;
import io.kuasar.api.cri.v1.ContainerStatsRequest;
import io.kuasar.api.cri.v1.ContainerStatus;
import io.kuasar.api.cri.v1.KeyValue;
import io.kuasar.api.cri.v1.LinuxContainerResources;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.StopContainerRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Wasm pods through CRI, the same suite for the three engines of driver-wasm: {@code kuasar-wasm} (Chicory) and
 * {@code kuasar-wasmtime} (Wasmtime through JNI), whose modules run inside the node, and {@code kuasar-wasmedge}
 * (one WasmEdge process per container). The image is
 * localhost/kuasar/wasm-test:1.0 (scripts/images.d/wasm.sh): /wasm-test.wasm runs the actions its arguments name
 * (driver-wasm/testdata/wasm-test.c).
 */
class WasmPodTest extends CriTestBase {
    static final String WASM_IMAGE = System.getenv().getOrDefault("KUASAR_WASM_TEST_IMAGE",
            "localhost/kuasar/wasm-test:1.0");
    static final String MODULE = "/wasm-test.wasm";
    private static final long MIB = 1024 * 1024;

    static ContainerConfig wasm(String name, String... args) {
        return containerConfig(name, WASM_IMAGE, MODULE).toBuilder().addAllArgs(List.of(args)).build();
    }

    @ParameterizedTest
    @ValueSource(strings = {"kuasar-wasm", "kuasar-wasmtime", "kuasar-wasmedge"})
    void argsAndEnvReachTheLogAndTheExitCodeIsReported(String handler) {
        PodSandboxConfig pod = podConfig("w-args");
        String podId = runPod(pod, handler);
        String c = cri.runContainer(podId, pod, wasm("args", "hello", "read", "/etc/greeting", "exit", "7").toBuilder()
                .addEnvs(KeyValue.newBuilder().setKey("GREETING").setValue("hi there")).build());
        ContainerStatus done = cri.waitForState(c, ContainerState.CONTAINER_EXITED, WAIT);
        String log = cri.waitForLog(c, "hello", WAIT);
        assertAll(() -> assertEquals(7, done.getExitCode(), () -> "exit code; log: " + log),
                () -> assertTrue(log.contains("arg[1]=hello") && log.contains("arg[5]=7"), () -> "argv: " + log),
                () -> assertTrue(log.contains("env GREETING=hi there"), () -> "env: " + log),
                () -> assertTrue(log.contains("read /etc/greeting: hello from the wasm image"), () -> "rootfs: " + log));
    }

    @ParameterizedTest
    @ValueSource(strings = {"kuasar-wasm", "kuasar-wasmtime", "kuasar-wasmedge"})
    void stopEndsAnEndlessLoopPromptly(String handler) {
        PodSandboxConfig pod = podConfig("w-loop");
        String podId = runPod(pod, handler);
        String c = cri.runContainer(podId, pod, wasm("loop", "quiet", "loop"));
        cri.waitForState(c, ContainerState.CONTAINER_RUNNING, WAIT);
        cri.waitForLog(c, "looping", WAIT);
        long t0 = System.nanoTime();
        cri.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(c).setTimeout(20).build());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        ContainerStatus done = cri.waitForState(c, ContainerState.CONTAINER_EXITED, WAIT);
        System.out.printf("%s: StopContainer of an endless loop took %d ms%n", handler, ms);
        assertEquals(143, done.getExitCode(), "SIGTERM ends a module (WASI has no signal handlers)");
        assertTrue(ms < 15_000, () -> "SIGTERM did not end the loop; the 20 s timeout's SIGKILL did (" + ms + " ms)");
    }

    /**
     * Chicory and WasmEdge end a module that grows past its limit as OOM-killed. wasmtime-java 0.19 has no store
     * limiter: the limit is the module memory's maximum, and memory.grow past it returns -1 as the spec says, so the
     * module's malloc fails and the module decides (the test module exits 12).
     */
    @ParameterizedTest
    @ValueSource(strings = {"kuasar-wasm", "kuasar-wasmtime", "kuasar-wasmedge"})
    void theMemoryLimitIsEnforcedAsAnOomKill(String handler) {
        assumeCgroupsOfWasmEdge(handler, "its memory limit and OOM kills");
        PodSandboxConfig pod = podConfig("w-oom");
        String podId = runPod(pod, handler);
        // Chicory's linear memory lives in the node's heap: a small limit. WasmEdge's limit is its cgroup's, which
        // also holds the runtime itself.
        long limit = handler.equals("kuasar-wasmedge") ? 64 * MIB : 16 * MIB;
        String c = cri.runContainer(podId, pod, wasm("hog", "quiet", "alloc", "512").toBuilder()
                .setLinux(wasm("hog").getLinux().toBuilder().setResources(LinuxContainerResources.newBuilder()
                        .setMemoryLimitInBytes(limit))).build());
        ContainerStatus done = cri.waitForState(c, ContainerState.CONTAINER_EXITED, WAIT);
        String log = io.kuasar.e2e.CriClient.readLog(Path.of(done.getLogPath()));
        if (handler.equals("kuasar-wasmtime")) {
            assertAll(() -> assertEquals(12, done.getExitCode(), () -> "the module's exit code; log: " + log),
                    () -> assertTrue(log.contains("alloc failed at"), () -> "malloc failed at the limit: " + log),
                    () -> assertFalse(log.contains("allocated all"), () -> "allocated past the limit: " + log));
            return;
        }
        assertAll(() -> assertEquals(137, done.getExitCode(), () -> "exit code; log: " + log),
                () -> assertEquals("OOMKilled", done.getReason(), () -> "reason; log: " + log),
                () -> assertFalse(log.contains("allocated all"), () -> "allocated past the limit: " + log));
    }

    @ParameterizedTest
    @ValueSource(strings = {"kuasar-wasm", "kuasar-wasmtime", "kuasar-wasmedge"})
    void aMountIsReadableAndWritableAndReadOnlyWhereAsked(String handler) throws IOException {
        Path in = Files.createDirectories(logRoot.resolve("host-in"));
        Path out = Files.createDirectories(logRoot.resolve("host-out"));
        Files.writeString(in.resolve("input.txt"), "from the host");
        PodSandboxConfig pod = podConfig("w-mnt");
        String podId = runPod(pod, handler);
        ContainerConfig cfg = wasm("io", "quiet", "read", "/mnt/in/input.txt", "write", "/mnt/out/result.txt",
                "written-by-wasm", "write", "/mnt/in/nope.txt", "x").toBuilder()
                .addMounts(io.kuasar.api.cri.v1.Mount.newBuilder().setContainerPath("/mnt/in")
                        .setHostPath(in.toString()).setReadonly(true))
                .addMounts(io.kuasar.api.cri.v1.Mount.newBuilder().setContainerPath("/mnt/out")
                        .setHostPath(out.toString()))
                .build();
        String c = cri.runContainer(podId, pod, cfg);
        ContainerStatus done = cri.waitForState(c, ContainerState.CONTAINER_EXITED, WAIT);
        String log = cri.waitForLog(c, "read /mnt/in", WAIT);
        assertAll(() -> assertEquals(0, done.getExitCode(), () -> "log: " + log),
                () -> assertTrue(log.contains("read /mnt/in/input.txt: from the host"), () -> "read: " + log),
                () -> assertEquals("written-by-wasm", Files.readString(out.resolve("result.txt"))),
                () -> assertTrue(log.contains("write /mnt/in/nope.txt: failed"), () -> "read-only mount: " + log),
                () -> assertFalse(Files.exists(in.resolve("nope.txt")), "written through a read-only mount"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"kuasar-wasm", "kuasar-wasmtime", "kuasar-wasmedge"})
    void aModuleCannotReachBeyondItsPreopenedDirectories(String handler) throws IOException {
        Path in = Files.createDirectories(logRoot.resolve("escape/in"));
        Files.writeString(logRoot.resolve("escape/secret.txt"), "host secret");
        PodSandboxConfig pod = podConfig("w-escape");
        String podId = runPod(pod, handler);
        ContainerConfig cfg = wasm("escape", "quiet", "read", "/mnt/in/../secret.txt", "read",
                "/../../../../../../" + logRoot.resolve("escape/secret.txt"), "write", "/mnt/in/../planted.txt", "x",
                "exit", "0").toBuilder()
                .addMounts(io.kuasar.api.cri.v1.Mount.newBuilder().setContainerPath("/mnt/in")
                        .setHostPath(in.toString()))
                .build();
        String c = cri.runContainer(podId, pod, cfg);
        cri.waitForState(c, ContainerState.CONTAINER_EXITED, WAIT);
        String log = cri.waitForLog(c, "write /mnt/in/../planted.txt", WAIT);
        System.out.println(handler + ", what the escape attempts got: " + log.replace('\n', ' '));
        assertAll(() -> assertFalse(log.contains("host secret"), () -> "read outside the preopens: " + log),
                () -> assertFalse(Files.exists(logRoot.resolve("escape/planted.txt")),
                        "wrote outside the preopens: " + log));
    }

    @ParameterizedTest
    @ValueSource(strings = {"kuasar-wasm", "kuasar-wasmtime", "kuasar-wasmedge"})
    void twoContainersInOnePodWithStatsAndExecRefused(String handler) {
        PodSandboxConfig pod = podConfig("w-two");
        String podId = runPod(pod, handler);
        String sleeper = cri.runContainer(podId, pod, wasm("sleeper", "quiet", "alloc", "4", "sleep", "3600"));
        String worker = cri.runContainer(podId, pod, wasm("worker", "quiet", "compute", "200", "exit", "0"));
        cri.waitForLog(sleeper, "sleeping", WAIT);
        ContainerStatus w = cri.waitForState(worker, ContainerState.CONTAINER_EXITED, WAIT);
        assertEquals(0, w.getExitCode());
        assertTrue(cri.waitForLog(worker, "checksum", WAIT).contains("compute 200 rounds"));
        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(sleeper).getState(), "sleeper still runs");
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> execSync(sleeper, "sh"));
        assertTrue(e.getMessage().contains("not supported"), e::getMessage);

        assumeCgroupsOfWasmEdge(handler, "its CPU and memory figures");
        ContainerStats s = cri.runtime().containerStats(ContainerStatsRequest.newBuilder().setContainerId(sleeper)
                .build()).getStats();
        System.out.println(handler + " ContainerStats: " + s.getCpu() + s.getMemory());
        assertTrue(s.getCpu().getUsageCoreNanoSeconds().getValue() > 0, () -> "cpu: " + s.getCpu());
        assertTrue(s.getMemory().getWorkingSetBytes().getValue() >= 4 * MIB, () -> "memory: " + s.getMemory());
    }

    /**
     * A WasmEdge container's limits and figures come from its cgroup, which driver-wasm makes in cgroup v1
     * hierarchies only (driver-wasm's Cgroups): on a v2 host there is none to enforce or read, so skip.
     */
    private static void assumeCgroupsOfWasmEdge(String handler, String what) {
        if (handler.equals("kuasar-wasmedge")) {
            HostCgroups cgroups = HostCgroups.host();
            assumeTrue(cgroups.isV1(), () -> "driver-wasm gives WasmEdge containers cgroup v1 only, so " + what
                    + " cannot be checked on this host: " + cgroups.describe());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"kuasar-wasm", "kuasar-wasmtime", "kuasar-wasmedge"})
    void aWasmPodBesideARuncPod(String handler) {
        PodSandboxConfig wp = podConfig("w-side");
        PodSandboxConfig rp = podConfig("r-side");
        String wasmPod = runPod(wp, handler);
        String runcPod = runPod(rp, NodeEnv.KUASAR_HANDLER);
        String inWasm = cri.runContainer(wasmPod, wp, wasm("w", "quiet", "hello"));
        String inRunc = cri.runContainer(runcPod, rp, containerConfig("r", busybox(), "echo", "hello-from-runc"));
        assertEquals(0, cri.waitForState(inWasm, ContainerState.CONTAINER_EXITED, WAIT).getExitCode());
        assertEquals(0, cri.waitForState(inRunc, ContainerState.CONTAINER_EXITED, WAIT).getExitCode());
        assertTrue(cri.waitForLog(inWasm, "hello", WAIT).contains("hello"));
        assertTrue(cri.waitForLog(inRunc, "hello-from-runc", WAIT).contains("hello-from-runc"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"kuasar-wasm", "kuasar-wasmtime", "kuasar-wasmedge"})
    void aCorruptOrMissingModuleIsAClearCreateError(String handler) {
        PodSandboxConfig pod = podConfig("w-bad");
        String podId = runPod(pod, handler);
        // CRI's CreateContainer only records the container; containerd creates its task (our Task Create, which
        // checks the module) in StartContainer, so that is where the error arrives.
        StatusRuntimeException corrupt = assertThrows(StatusRuntimeException.class, () -> cri.runContainer(podId,
                pod, containerConfig("corrupt", WASM_IMAGE, "/corrupt.wasm")));
        System.out.println(handler + ": " + corrupt.getMessage());
        assertTrue(corrupt.getMessage().contains("/corrupt.wasm") && corrupt.getMessage().contains("not a WebAssembly"),
                corrupt::getMessage);
        StatusRuntimeException missing = assertThrows(StatusRuntimeException.class, () -> cri.runContainer(podId,
                pod, containerConfig("missing", WASM_IMAGE, "/nowhere.wasm")));
        assertTrue(missing.getMessage().contains("/nowhere.wasm") && missing.getMessage().contains("not in the"),
                missing::getMessage);
        // the pod still serves
        String ok = cri.runContainer(podId, pod, wasm("ok", "quiet", "hello"));
        assertEquals(0, cri.waitForState(ok, ContainerState.CONTAINER_EXITED, WAIT).getExitCode());
    }

    /**
     * A tty container: on WasmEdge its module's stdin and stdout are a terminal (as WASI's fd_fdstat tells it), and
     * the stdout of the same container without a tty is not; the in-node engines refuse a tty, saying why.
     */
    @ParameterizedTest
    @ValueSource(strings = {"kuasar-wasm", "kuasar-wasmtime", "kuasar-wasmedge"})
    void aTerminalContainerRunsOnWasmEdgeAndIsRefusedInsideTheNode(String handler) {
        PodSandboxConfig pod = podConfig("w-tty");
        String podId = runPod(pod, handler);
        ContainerConfig tty = wasm("tty", "quiet", "isatty").toBuilder().setTty(true).build();
        if (!handler.equals("kuasar-wasmedge")) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> cri.runContainer(podId, pod, tty));
            assertTrue(e.getMessage().contains("terminal (tty)") && e.getMessage().contains("thread of the node"),
                    e::getMessage);
            return;
        }
        String c = cri.runContainer(podId, pod, tty);
        assertEquals(0, cri.waitForState(c, ContainerState.CONTAINER_EXITED, WAIT).getExitCode());
        String log = cri.waitForLog(c, "isatty", WAIT);
        assertTrue(log.contains("isatty 0=1 1=1"), () -> "the module's stdin and stdout are a terminal: " + log);
        String plain = cri.runContainer(podId, pod, wasm("plain", "quiet", "isatty"));
        assertEquals(0, cri.waitForState(plain, ContainerState.CONTAINER_EXITED, WAIT).getExitCode());
        String plainLog = cri.waitForLog(plain, "isatty", WAIT);
        // its stdin is /dev/null, a character device too: only stdout (containerd's FIFO) tells
        assertTrue(plainLog.contains(" 1=0"), () -> "without a tty, stdout is no terminal: " + plainLog);
    }
}
