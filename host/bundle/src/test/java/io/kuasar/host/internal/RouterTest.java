package io.kuasar.host.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.host.SandboxListener;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxDriver;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TypedData;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

class RouterTest {
    private final List<String> retired = new ArrayList<>();
    private final Router router = new Router(new EventHub(), Duration.ofMillis(300), Duration.ZERO, Duration.ofMillis(300),
            (old, by) -> retired.add(old.serviceId() + " by " + by.serviceId()));
    private final RecordingDriver runc = new RecordingDriver("runc");

    RouterTest() {
        router.bindDriver(runc, props("runc", 1));
    }

    /** Task Kill of container {@code id} in sandbox {@code sandbox}, through the router. */
    static void kill(Router router, String sandbox, String id) throws SandboxException {
        router.task(sandbox, t -> {
            t.kill(id, "", 9, false);
            return null;
        });
    }

    static Map<String, Object> props(String sandboxer, long serviceId) {
        return Map.of(SandboxDriver.SANDBOXER, sandboxer, "service.id", serviceId);
    }

    private static SandboxSpec spec(String id) {
        return new SandboxSpec(id, "k8s.io", "", null, null, TypedData.EMPTY, null, null);
    }

    @Test
    void routesBySandboxerAndRemembersTheOwner() throws Exception {
        router.create("runc", spec("pod1"));
        router.start("runc", "pod1");
        assertEquals(List.of("create pod1", "start pod1"), runc.calls);
        kill(router, "pod1", "c1");
        assertEquals(List.of("kill c1"), runc.taskCalls);
    }

    @Test
    void unknownSandboxerIsNotFoundNamingIt() {
        SandboxException e = assertThrows(SandboxException.class, () -> router.create("nope", spec("pod1")));
        assertEquals(SandboxException.Code.NOT_FOUND, e.code());
        assertTrue(e.getMessage().contains("\"nope\""), e.getMessage());
        assertTrue(e.getMessage().contains("runc"), "lists the present sandboxers: " + e.getMessage());
    }

    @Test
    void invalidIdIsRejectedBeforeTheDriverSeesIt() {
        SandboxException e = assertThrows(SandboxException.class, () -> router.create("runc", spec("../../etc")));
        assertEquals(SandboxException.Code.INVALID_ARGUMENT, e.code());
        assertEquals(List.of(), runc.calls);
    }

    @Test
    void unknownSandboxIsNotFound() {
        SandboxException e = assertThrows(SandboxException.class, () -> router.start("runc", "ghost"));
        assertEquals(SandboxException.Code.NOT_FOUND, e.code());
        assertTrue(e.getMessage().contains("ghost"));
        assertEquals(SandboxException.Code.NOT_FOUND,
                assertThrows(SandboxException.class, () -> kill(router, "ghost", "c1")).code());
    }

    @Test
    void aSecondCreateOfTheSameIdIsAlreadyExists() throws Exception {
        router.create("runc", spec("pod1"));
        assertEquals(SandboxException.Code.ALREADY_EXISTS,
                assertThrows(SandboxException.class, () -> router.create("runc", spec("pod1"))).code());
    }

    @Test
    void aFailedCreateLeavesNoRoute() {
        runc.failCreate = true;
        assertThrows(SandboxException.class, () -> router.create("runc", spec("pod1")));
        assertEquals(SandboxException.Code.NOT_FOUND,
                assertThrows(SandboxException.class, () -> kill(router, "pod1", "c1")).code());
    }

    @Test
    void shutdownForgetsTheSandboxAndTellsListeners() throws Exception {
        List<String> removed = new ArrayList<>();
        router.addListener(new SandboxListener() {
            @Override
            public void recovered(Collection<SandboxStatus> sandboxes) {
            }

            @Override
            public void removed(String sandboxId) {
                removed.add(sandboxId);
            }
        });
        router.create("runc", spec("pod1"));
        router.shutdown("runc", "pod1");
        assertEquals(List.of("pod1"), removed);
        assertThrows(SandboxException.class, () -> router.status("runc", "pod1", false));
    }

    @Test
    void recoveredSandboxesAreRoutedAgainAfterTheDriverReturns() throws Exception {
        router.create("runc", spec("pod1"));
        router.unbindDriver(runc, props("runc", 1));
        RecordingDriver upgraded = new RecordingDriver("runc");
        upgraded.persisted.add("pod1");
        router.bindDriver(upgraded, Map.of(SandboxDriver.SANDBOXER, new String[] {"runc"}, "service.id", 2L));
        kill(router, "pod1", "c1");
        assertEquals(List.of("kill c1"), upgraded.taskCalls, "Task calls follow the new driver");
        assertEquals(List.of(), runc.taskCalls);
    }

    /** A driver that records the calls it gets; a fake for this one class's test. */
    static class RecordingDriver implements SandboxDriver {
        final List<String> calls = new ArrayList<>();
        final List<String> taskCalls = new java.util.concurrent.CopyOnWriteArrayList<>();
        final List<String> persisted = new ArrayList<>();
        /** When set, Kill runs this first (a call that takes its time). */
        volatile Runnable beforeKill;
        /** What waitFor and exit answer: pending until a test completes them. */
        final CompletableFuture<ExitStatus> waitAnswer = new CompletableFuture<>();
        final CompletableFuture<ExitStatus> exitAnswer = new CompletableFuture<>();
        final TaskService tasks = new TaskService() {
            @Override
            public long create(io.kuasar.spi.TaskSpec spec) {
                return 1;
            }

            @Override
            public long start(String id, String execId) {
                return 1;
            }

            @Override
            public ExitStatus delete(String id, String execId) {
                return new ExitStatus(1, 0, Instant.EPOCH);
            }

            @Override
            public List<ProcessInfo> pids(String id) {
                taskCalls.add("pids " + id);
                return List.of();
            }

            @Override
            public void kill(String id, String execId, int signal, boolean all) throws SandboxException {
                if (beforeKill != null) {
                    beforeKill.run();
                }
                taskCalls.add("kill " + id);
            }

            @Override
            public void exec(io.kuasar.spi.ExecSpec spec) {
            }

            @Override
            public CompletionStage<ExitStatus> waitFor(String id, String execId) {
                taskCalls.add("wait " + id);
                return waitAnswer.copy();
            }

            @Override
            public io.kuasar.spi.TaskState state(String id, String execId) {
                return null;
            }
        };
        final String name;
        boolean failCreate;
        volatile int recoveries;

        RecordingDriver(String name) {
            this.name = name;
        }

        SandboxStatus status(String id) {
            return new SandboxStatus(id, name, "k8s.io", SandboxStatus.State.READY, 1, Instant.EPOCH, null, "", null);
        }

        @Override
        public SandboxStatus create(SandboxSpec spec) throws SandboxException {
            if (failCreate) {
                throw SandboxException.invalid("refused");
            }
            calls.add("create " + spec.id());
            return status(spec.id());
        }

        @Override
        public SandboxStarted start(String id) {
            calls.add("start " + id);
            return SandboxStarted.servedByHost(1, Instant.EPOCH);
        }

        @Override
        public void stop(String id, Duration timeout) {
            calls.add("stop " + id);
        }

        @Override
        public CompletionStage<ExitStatus> exit(String id) {
            calls.add("exit " + id);
            return exitAnswer.copy();
        }

        @Override
        public SandboxStatus status(String id, boolean verbose) {
            return status(id);
        }

        @Override
        public void shutdown(String id) {
            calls.add("shutdown " + id);
        }

        @Override
        public TaskService tasks(String id) {
            return tasks;
        }

        @Override
        public Collection<SandboxStatus> recover() {
            recoveries++;
            return persisted.stream().map(this::status).toList();
        }
    }
}
