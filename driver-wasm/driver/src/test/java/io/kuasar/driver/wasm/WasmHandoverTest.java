package io.kuasar.driver.wasm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kuasar.driver.kit.HostFiles;
import io.kuasar.driver.kit.testing.TempHostPaths;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.OrphanExits;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TaskSpec;
import io.kuasar.spi.TaskState;
import io.kuasar.spi.TypedData;
import io.kuasar.wasm.engine.RunOutcome;
import io.kuasar.wasm.engine.internal.ChicoryEngine;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A pod handed from one driver instance to its successor (an upgrade), both on one state dir: with the real Chicory
 * engine, which outlives the driver bundle as the engine bundle does, and with WasmEdge processes (a script that
 * sleeps stands in for WasmEdge: the driver sees only a process). The module or process runs on through the handover,
 * and its exit is reported once, by the instance that holds the pod when it ends. Waits are bounds, not speed checks.
 */
class WasmHandoverTest {
    @TempDir
    Path dir;
    final ChicoryEngine engine = new ChicoryEngine(false, 4, 4, 1 << 20);
    final List<TaskEvent> eventsOfA = new CopyOnWriteArrayList<>();
    final List<TaskEvent> eventsOfB = new CopyOnWriteArrayList<>();
    final List<ProcessHandle> processes = new CopyOnWriteArrayList<>();
    /** The WasmEdge containers' cgroups go under this one (CRI's cgroup parent), removed after each test. */
    final String cgroupParent = "kuasar-handover-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();

    WasmSandboxDriver a;
    WasmSandboxDriver b;

    @AfterEach
    void endModulesAndProcesses() throws Exception {
        engine.runs().forEach(r -> engine.release(r.key()));
        for (ProcessHandle p : processes) {
            p.destroyForcibly();
            p.onExit().get(60, TimeUnit.SECONDS);
        }
        for (Path d : new Cgroups(Cgroups.ROOT, cgroupParent).dirs()) {
            if (Files.isDirectory(d)) {
                try (var children = Files.list(d)) { // the containers' own, should a test have left one
                    for (Path c : children.filter(Files::isDirectory).toList()) {
                        Files.deleteIfExists(c);
                    }
                }
                Files.deleteIfExists(d);
            }
        }
    }

    WasmSandboxDriver driver(String sandboxer, List<TaskEvent> events) throws Exception {
        TempHostPaths paths = new TempHostPaths(dir);
        WasmBackend backend = sandboxer.equals(WasmEdgeBackend.SANDBOXER)
                ? new WasmEdgeBackend(new WasmEdgeInstall(dir.resolve("opt"), sleepingWasmEdge()),
                        HostFiles.privateDir(paths.runDir(sandboxer).resolve("containers")), NO_KEEPER)
                : new InNodeBackend(sandboxer, engine);
        return new WasmSandboxDriver(backend, events::add, paths, Duration.ofSeconds(1)) { };
    }

    Path sleepingWasmEdge() throws Exception {
        Path memory = Path.of("/sys/fs/cgroup/memory");
        assumeTrue(!Files.isDirectory(memory) || Files.isWritable(memory),
                "a WasmEdge process joins a cgroup under " + memory + ", which this user cannot write");
        Path binary = dir.resolve("usr/bin/wasmedge");
        if (!Files.exists(binary)) {
            Files.createDirectories(binary.getParent());
            Files.writeString(binary, "#!/bin/sh\nexec sleep 3600\n");
            Files.setPosixFilePermissions(binary, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return binary;
    }

    /** No keeper: the node JVM lives on, and the exit of a process it started comes from its exit file. */
    static final OrphanExits NO_KEEPER = new OrphanExits() {
        @Override public boolean recording() { return false; }
        @Override public Optional<ExitStatus> recorded(long pid, long startTime) { return Optional.empty(); }
        @Override public CompletionStage<ExitStatus> exitOf(long pid, long startTime, Duration wait, String what) {
            return CompletableFuture.completedFuture(new ExitStatus(pid, ExitStatus.UNKNOWN_CODE, Instant.now()));
        }
        @Override public void consumed(long pid, long startTime) { }
    };

    /** Instance A of {@code sandboxer} with pod {@code pod} READY and its containers sleeping, B beside it. */
    TaskService podOnA(String sandboxer, String pod, String... containers) throws Exception {
        a = driver(sandboxer, eventsOfA);
        b = driver(sandboxer, eventsOfB);
        a.create(new SandboxSpec(pod, "k8s.io", "", List.of(), null, TypedData.EMPTY, Map.of(), Map.of()));
        a.start(pod);
        TaskService t = a.tasks(pod);
        for (String c : containers) {
            t.create(new TaskSpec(c, sleeper(c).toString(), List.of(), new Stdio("", "", "", false), "", "",
                    TypedData.EMPTY));
            t.start(c, "");
            if (sandboxer.equals(WasmEdgeBackend.SANDBOXER)) {
                processes.add(ProcessHandle.of(t.state(c, "").pid()).orElseThrow());
            }
        }
        return t;
    }

    Path sleeper(String name) throws Exception {
        Path bundle = Files.createDirectories(dir.resolve("bundles").resolve(name));
        Files.createDirectories(bundle.resolve("rootfs/app"));
        try (InputStream in = getClass().getResourceAsStream("/wasm-test.wasm")) {
            Files.copy(in, bundle.resolve("rootfs/app/m.wasm"));
        }
        Files.writeString(bundle.resolve("config.json"),
                "{\"process\":{\"args\":[\"/app/m.wasm\",\"quiet\",\"sleep\",\"3600\"]},"
                        + "\"linux\":{\"cgroupsPath\":\"/" + cgroupParent + "/" + name + "\"}}");
        return bundle;
    }

    /** Ends a container with SIGKILL behind the drivers' backs (as an OOM kill would); returns once it ended. */
    void killBehindTheDrivers(String sandboxer, String pod, String container, long pid) throws Exception {
        if (sandboxer.equals(WasmEdgeBackend.SANDBOXER)) {
            ProcessHandle p = ProcessHandle.of(pid).orElseThrow();
            p.destroyForcibly();
            p.onExit().get(60, TimeUnit.SECONDS);
            return;
        }
        engine.find(pod + "/" + container).orElseThrow().kill(9);
        engine.find(pod + "/" + container).orElseThrow().outcome().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    boolean running(String sandboxer, String pod, String container, long pid) {
        return sandboxer.equals(WasmEdgeBackend.SANDBOXER)
                ? ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)
                : !engine.find(pod + "/" + container).orElseThrow().outcome().toCompletableFuture().isDone();
    }

    static ExitStatus await(CompletionStage<ExitStatus> wait) throws Exception {
        return wait.toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    static void assertNotFound(Executable call) {
        assertEquals(SandboxException.Code.NOT_FOUND, assertThrows(SandboxException.class, call).code());
    }

    static List<String> exits(List<TaskEvent> events) {
        return events.stream().filter(e -> e instanceof TaskEvent.Exited).map(e -> (TaskEvent.Exited) e)
                .map(e -> e.containerId() + ":" + e.exit().code()).toList();
    }

    @ParameterizedTest
    @ValueSource(strings = {ChicoryDriver.SANDBOXER, WasmEdgeBackend.SANDBOXER})
    void theSuccessorServesAReleasedPodAndHearsItsExitsEvenAfterTheLeavingInstanceIsDeactivated(String sandboxer)
            throws Exception {
        TaskService onA = podOnA(sandboxer, "pod1", "c1", "c2");
        long pid2 = onA.state("c2", "").pid();
        CompletionStage<ExitStatus> waitOnA = onA.waitFor("c1", "");

        a.release("pod1");
        assertNotFound(() -> a.status("pod1", false));
        assertNotFound(() -> a.tasks("pod1"));
        assertNotFound(() -> onA.state("c1", "")); // the task service A handed out before
        assertNotFound(() -> a.release("pod1"));

        SandboxStatus adopted = b.adopt("pod1");
        assertEquals(SandboxStatus.State.READY, adopted.state());
        TaskService onB = b.tasks("pod1");
        assertEquals(TaskState.Status.RUNNING, onB.state("c1", "").status());
        assertEquals(TaskState.Status.RUNNING, onB.state("c2", "").status());

        onB.kill("c1", "", 15, false);
        assertEquals(143, await(onB.waitFor("c1", "")).code());
        assertEquals(List.of("c1:143"), exits(eventsOfB));

        a.close(); // deactivation of the instance that let the pod go
        assertTrue(running(sandboxer, "pod1", "c2", pid2), "c2 runs on");
        assertEquals(TaskState.Status.RUNNING, b.tasks("pod1").state("c2", "").status());
        killBehindTheDrivers(sandboxer, "pod1", "c2", pid2);
        assertEquals(137, await(onB.waitFor("c2", "")).code());
        assertEquals(List.of("c1:143", "c2:137"), exits(eventsOfB));
        assertEquals(List.of(), exits(eventsOfA), "A reported nothing after the handover");
        assertFalse(waitOnA.toCompletableFuture().isDone(), "A's wait is the host's to ask again");

        b.stop("pod1", Duration.ZERO);
        b.shutdown("pod1");
        assertFalse(Files.exists(dir.resolve("state/" + sandboxer + "/pod1.json")));
    }

    @ParameterizedTest
    @ValueSource(strings = {ChicoryDriver.SANDBOXER, WasmEdgeBackend.SANDBOXER})
    void anExitBetweenReleaseAndAdoptionIsReportedByTheSuccessor(String sandboxer) throws Exception {
        long pid = podOnA(sandboxer, "pod2", "c1").state("c1", "").pid();
        a.release("pod2");
        killBehindTheDrivers(sandboxer, "pod2", "c1", pid);

        b.adopt("pod2");
        assertEquals(137, await(b.tasks("pod2").waitFor("c1", "")).code());
        assertEquals(TaskState.Status.STOPPED, b.tasks("pod2").state("c1", "").status());
        assertEquals(List.of("c1:137"), exits(eventsOfB));
        assertEquals(List.of(), exits(eventsOfA));
        b.shutdown("pod2");
    }

    @Test
    void aWatchGivenUpCancelsWhatItWaitedOnSoThatNothingOfTheInstanceStaysQueuedThere() {
        CompletableFuture<RunOutcome> outcome = new CompletableFuture<>();
        WasmBackend.watch(outcome, InNodeBackend::ending).cancel(false);
        assertTrue(outcome.isCancelled());
    }

    @Test
    void nothingPersistedIsNotFoundForAdoption() throws Exception {
        b = driver(ChicoryDriver.SANDBOXER, eventsOfB);
        assertNotFound(() -> b.adopt("nopod"));
        assertNotFound(() -> b.release("nopod"));
    }
}
