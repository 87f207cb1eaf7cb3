package io.kuasar.driver.wasm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kuasar.driver.kit.testing.TempHostPaths;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TaskSpec;
import io.kuasar.spi.TaskState;
import io.kuasar.spi.TypedData;
import io.kuasar.wasm.engine.WasmRun;
import io.kuasar.wasm.engine.internal.ChicoryEngine;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pod handed from one driver instance to its successor (an upgrade), both on one state dir and one real Chicory
 * engine, as the engine bundle outlives the driver bundle: the module runs on through the handover, and its exit is
 * reported once, by the instance that holds the pod when it ends. Waits are generous bounds, not speed assertions.
 */
class WasmHandoverTest {
    @TempDir
    Path dir;
    final ChicoryEngine engine = new ChicoryEngine(false, 4, 4, 1 << 20);
    final List<TaskEvent> eventsOfA = new CopyOnWriteArrayList<>();
    final List<TaskEvent> eventsOfB = new CopyOnWriteArrayList<>();
    WasmSandboxDriver a;
    WasmSandboxDriver b;

    @AfterEach
    void endModules() {
        engine.runs().forEach(r -> engine.release(r.key()));
    }

    WasmSandboxDriver driver(List<TaskEvent> events) throws Exception {
        return new WasmSandboxDriver(new InNodeBackend(ChicoryDriver.SANDBOXER, engine), events::add,
                new TempHostPaths(dir), Duration.ofSeconds(1)) { };
    }

    /** Instance A with pod {@code pod} READY and its containers running the test module's sleep, B beside it. */
    TaskService podOnA(String pod, String... containers) throws Exception {
        a = driver(eventsOfA);
        b = driver(eventsOfB);
        a.create(new SandboxSpec(pod, "k8s.io", "", List.of(), null, TypedData.EMPTY, Map.of(), Map.of()));
        a.start(pod);
        TaskService t = a.tasks(pod);
        for (String c : containers) {
            t.create(new TaskSpec(c, sleeper(c).toString(), List.of(), new Stdio("", "", "", false), "", "",
                    TypedData.EMPTY));
            t.start(c, "");
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
                "{\"process\":{\"args\":[\"/app/m.wasm\",\"quiet\",\"sleep\",\"3600\"]}}");
        return bundle;
    }

    WasmRun run(String pod, String container) {
        return engine.find(pod + "/" + container).orElseThrow();
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

    @Test
    void theSuccessorServesAReleasedPodAndHearsItsExitsEvenAfterTheLeavingInstanceIsDeactivated() throws Exception {
        TaskService onA = podOnA("pod1", "c1", "c2");
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
        assertFalse(run("pod1", "c2").outcome().toCompletableFuture().isDone(), "the module runs on");
        assertEquals(TaskState.Status.RUNNING, b.tasks("pod1").state("c2", "").status());
        run("pod1", "c2").kill(9); // an exit the engine reports, not one B asked for
        assertEquals(137, await(onB.waitFor("c2", "")).code());
        assertEquals(List.of("c1:143", "c2:137"), exits(eventsOfB));
        assertEquals(List.of(), exits(eventsOfA), "A reported nothing after the handover");
        assertFalse(waitOnA.toCompletableFuture().isDone(), "A's wait is the host's to ask again");

        b.stop("pod1", Duration.ZERO);
        b.shutdown("pod1");
        assertFalse(Files.exists(dir.resolve("state/wasm/pod1.json")));
    }

    @Test
    void anExitBetweenReleaseAndAdoptionIsReportedByTheSuccessor() throws Exception {
        podOnA("pod2", "c1");
        a.release("pod2");
        run("pod2", "c1").kill(9);
        run("pod2", "c1").outcome().toCompletableFuture().get(60, TimeUnit.SECONDS);

        b.adopt("pod2");
        assertEquals(137, await(b.tasks("pod2").waitFor("c1", "")).code());
        assertEquals(TaskState.Status.STOPPED, b.tasks("pod2").state("c1", "").status());
        assertEquals(List.of("c1:137"), exits(eventsOfB));
        assertEquals(List.of(), exits(eventsOfA));
    }

    @Test
    void nothingPersistedIsNotFoundForAdoption() throws Exception {
        b = driver(eventsOfB);
        assertNotFound(() -> b.adopt("nopod"));
        assertNotFound(() -> b.release("nopod"));
    }
}
