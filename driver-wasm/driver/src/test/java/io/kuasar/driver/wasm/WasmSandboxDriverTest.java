package io.kuasar.driver.wasm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.ExecSpec;
import io.kuasar.driver.kit.testing.TempHostPaths;
import io.kuasar.spi.HostPaths;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TaskSpec;
import io.kuasar.spi.TaskState;
import io.kuasar.spi.TypedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The lifecycle rules shared by both sandboxers, against a backend that only records what it is asked. */
class WasmSandboxDriverTest {
    @TempDir
    Path dir;
    final List<TaskEvent> events = new CopyOnWriteArrayList<>();
    final FakeBackend backend = new FakeBackend();

    static final class FakeBackend implements WasmBackend {
        final Map<String, CompletableFuture<Ending>> running = new ConcurrentHashMap<>();
        final List<String> kills = new CopyOnWriteArrayList<>();
        boolean knowsRunsAfterRestart = true;

        @Override public String sandboxer() { return "wasm"; }
        @Override public String noTerminal() { return "this fake engine has no terminals"; }
        @Override public void capPod(WasmPod pod, com.fasterxml.jackson.databind.JsonNode resources) { }
        @Override public void prepare(WasmPod pod, WasmContainer c) { }
        @Override public Started start(WasmPod pod, WasmContainer c) {
            return new Started(4242, running.computeIfAbsent(c.id, k -> new CompletableFuture<>()));
        }
        @Override public void kill(WasmPod pod, WasmContainer c, int signal) {
            kills.add(c.id + ":" + signal);
            running.get(c.id).complete(new Ending(128 + signal, Instant.now(), "Killed", false));
        }
        @Override public Usage usage(WasmPod pod, WasmContainer c) { return new Usage(10, 20, 30); }
        @Override public void pause(WasmPod pod, WasmContainer c, boolean paused) { kills.add(c.id + ":pause=" + paused); }
        @Override public void limitMemory(WasmPod pod, WasmContainer c, long bytes) { kills.add(c.id + ":limit=" + bytes); }
        @Override public CompletionStage<Ending> reattach(WasmPod pod, WasmContainer c) {
            return knowsRunsAfterRestart ? running.computeIfAbsent(c.id, k -> new CompletableFuture<>())
                    : CompletableFuture.completedFuture(new Ending(137, Instant.now(), "lost with its JVM", false));
        }
        @Override public void release(WasmPod pod, WasmContainer c) { running.remove(c.id); }
        @Override public void close() { }
    }

    WasmSandboxDriver driver() throws IOException {
        HostPaths paths = new TempHostPaths(dir);
        return new WasmSandboxDriver(backend, events::add, paths, Duration.ofSeconds(1)) { };
    }

    Path bundle(String name, String arg0) throws Exception {
        Path b = Files.createDirectories(dir.resolve("bundles").resolve(name));
        OciBundleTest.bundle(b, "{\"process\":{\"args\":[\"" + arg0 + "\",\"a\"],\"env\":[\"K=V\"]}}");
        return b;
    }

    TaskSpec task(String id, Path bundle) {
        return new TaskSpec(id, bundle.toString(), List.of(), new Stdio("", "", "", false), "", "", TypedData.EMPTY);
    }

    @Test
    void containerRunsExitsAndIsDeletedWithEventsInOrder() throws Exception {
        WasmSandboxDriver d = driver();
        d.create(new SandboxSpec("pod1", "k8s.io", "", List.of(), null, TypedData.EMPTY, Map.of(), Map.of()));
        assertEquals(ProcessHandle.current().pid(), d.start("pod1").pid());
        TaskService t = d.tasks("pod1");
        t.create(task("c1", bundle("c1", "/app/m.wasm")));
        assertEquals(TaskState.Status.CREATED, t.state("c1", "").status());
        assertEquals(4242, t.start("c1", ""));
        assertEquals(4242, t.start("c1", ""), "a replayed Start answers the pid");
        SandboxException exec = assertThrows(SandboxException.class, () -> t.exec(new ExecSpec("c1", "e1",
                Stdio.NONE, TypedData.EMPTY)));
        assertEquals(SandboxException.Code.UNIMPLEMENTED, exec.code());
        assertTrue(exec.getMessage().contains("not supported"), exec.getMessage());
        assertEquals(SandboxException.Code.FAILED_PRECONDITION,
                assertThrows(SandboxException.class, () -> t.delete("c1", "")).code());

        backend.running.get("c1").complete(new WasmBackend.Ending(7, Instant.now(), "Error", false));
        ExitStatus e = t.waitFor("c1", "").toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(7, e.code());
        assertEquals(TaskState.Status.STOPPED, t.state("c1", "").status());
        assertEquals(7, t.delete("c1", "").code());
        assertEquals(List.of("Created", "Started", "Exited", "Deleted"),
                events.stream().map(ev -> ev.getClass().getSimpleName()).toList());
        d.stop("pod1", Duration.ZERO);
        d.shutdown("pod1");
        d.shutdown("pod1");
        assertFalse(Files.exists(dir.resolve("state/wasm/pod1.json")));
    }

    @Test
    void aBadModuleIsRefusedAndLeavesNothing() throws Exception {
        WasmSandboxDriver d = driver();
        d.create(new SandboxSpec("pod2", "k8s.io", "", List.of(), null, TypedData.EMPTY, Map.of(), Map.of()));
        d.start("pod2");
        TaskService t = d.tasks("pod2");
        SandboxException e = assertThrows(SandboxException.class, () -> t.create(task("bad", bundle("bad", "/bad.wasm"))));
        assertEquals(SandboxException.Code.INVALID_ARGUMENT, e.code());
        assertEquals(SandboxException.Code.NOT_FOUND, assertThrows(SandboxException.class, () -> t.state("bad", "")).code());
        assertTrue(events.isEmpty());
        assertFalse(Files.readString(dir.resolve("state/wasm/pod2.json")).contains("\"bad\""));
    }

    @Test
    void aTerminalAnEngineCannotGiveIsRefusedSayingWhyBeforeAnythingIsMade() throws Exception {
        WasmSandboxDriver d = driver();
        d.create(new SandboxSpec("pod5", "k8s.io", "", List.of(), null, TypedData.EMPTY, Map.of(), Map.of()));
        d.start("pod5");
        TaskService t = d.tasks("pod5");
        TaskSpec tty = new TaskSpec("tty", bundle("tty", "/app/m.wasm").toString(), List.of(),
                new Stdio("", "", "", true), "", "", TypedData.EMPTY);
        SandboxException e = assertThrows(SandboxException.class, () -> t.create(tty));
        assertEquals(SandboxException.Code.FAILED_PRECONDITION, e.code());
        assertTrue(e.getMessage().contains("the wasm sandboxer cannot give: this fake engine has no terminals"),
                e.getMessage());
        assertEquals(SandboxException.Code.NOT_FOUND, assertThrows(SandboxException.class,
                () -> t.state("tty", "")).code(), "nothing recorded");
    }

    @Test
    void killBeforeStartAndStopOfRunningContainers() throws Exception {
        WasmSandboxDriver d = driver();
        d.create(new SandboxSpec("pod3", "k8s.io", "", List.of(), null, TypedData.EMPTY, Map.of(), Map.of()));
        d.start("pod3");
        TaskService t = d.tasks("pod3");
        t.create(task("idle", bundle("idle", "/app/m.wasm")));
        t.kill("idle", "", 9, false);
        assertEquals(137, t.waitFor("idle", "").toCompletableFuture().get(10, TimeUnit.SECONDS).code());
        t.create(task("busy", bundle("busy", "/app/m.wasm")));
        t.start("busy", "");
        d.stop("pod3", Duration.ofSeconds(5));
        assertEquals(List.of("busy:15"), backend.kills);
        assertEquals(143, t.state("busy", "").exitStatus());
    }

    @Test
    void recoveryReattachesOrReportsALostModule() throws Exception {
        WasmSandboxDriver first = driver();
        first.create(new SandboxSpec("pod4", "k8s.io", "", List.of(), null, TypedData.EMPTY, Map.of(), Map.of()));
        first.start("pod4");
        first.tasks("pod4").create(task("kept", bundle("kept", "/app/m.wasm")));
        first.tasks("pod4").start("kept", "");
        first.close();

        WasmSandboxDriver second = driver(); // an upgrade: the engine still runs the module
        assertEquals(1, second.recover().size());
        TaskService t2 = second.tasks("pod4");
        assertEquals(TaskState.Status.RUNNING, t2.state("kept", "").status());
        backend.running.get("kept").complete(new WasmBackend.Ending(3, Instant.now(), "Error", false));
        assertEquals(3, t2.waitFor("kept", "").toCompletableFuture().get(10, TimeUnit.SECONDS).code());
        assertEquals(1, events.stream().filter(ev -> ev instanceof TaskEvent.Exited).count(),
                "one Exited, from the instance that serves");

        second.tasks("pod4").create(task("lost", bundle("lost", "/app/m.wasm")));
        second.tasks("pod4").start("lost", "");
        second.close();
        backend.knowsRunsAfterRestart = false; // a node restart: the engine is new
        WasmSandboxDriver third = driver();
        third.recover();
        ExitStatus lost = third.tasks("pod4").waitFor("lost", "").toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(137, lost.code());
    }
}
