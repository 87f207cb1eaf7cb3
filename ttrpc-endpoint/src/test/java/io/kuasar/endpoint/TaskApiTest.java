package io.kuasar.endpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.containerd.task.v3.CreateTaskRequest;
import io.kuasar.api.containerd.task.v3.CreateTaskResponse;
import io.kuasar.api.containerd.task.v3.PidsRequest;
import io.kuasar.api.containerd.task.v3.PidsResponse;
import io.kuasar.api.containerd.task.v3.WaitRequest;
import io.kuasar.api.containerd.task.v3.WaitResponse;
import io.kuasar.host.SandboxListener;
import io.kuasar.host.SandboxRouter;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.Platform;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TaskSpec;
import io.kuasar.spi.TaskState;
import io.kuasar.spi.TypedData;
import io.kuasar.ttrpc.TtrpcClient;
import io.kuasar.ttrpc.TtrpcCode;
import io.kuasar.ttrpc.TtrpcException;
import io.kuasar.ttrpc.TtrpcServer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Task API over real ttrpc sockets, against a router fake that owns one sandbox. */
class TaskApiTest {
    private static final Duration T = Duration.ofSeconds(5);
    @TempDir
    Path dir;
    private TtrpcServer server;
    private TaskSockets sockets;
    private final CompletableFuture<ExitStatus> exit = new CompletableFuture<>();
    /** What the observer (the node's metrics) was told: "TASK Create OK". */
    private final java.util.List<String> observed = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** How each call passed the router: "read" (a brief call a leaving driver still answers) or "task". */
    private final java.util.List<String> routed = new java.util.concurrent.CopyOnWriteArrayList<>();

    @BeforeEach
    void serve() throws Exception {
        server = new TtrpcServer(Executors.newCachedThreadPool());
        sockets = new TaskSockets(dir, server);
        new TaskApi(new OneSandboxRouter(), sockets, new HaltPoints(null), new io.kuasar.host.ContainerdObserver() {
            @Override
            public void answered(Api api, String method, String code, long nanos) {
                assertTrue(nanos >= 0, "elapsed " + nanos);
                observed.add(api + " " + method + " " + code);
            }

            @Override
            public void forwarded(String address, String problem) {
            }
        }).registerOn(server);
    }

    @AfterEach
    void close() {
        server.close();
    }

    private TtrpcClient connect(String sandboxId) throws Exception {
        String uri = sockets.addressFor(sandboxId, "", 3).uri();
        assertTrue(uri.startsWith("ttrpc+unix://"), uri);
        return TtrpcClient.connect(Path.of(uri.substring("ttrpc+unix://".length())));
    }

    @Test
    void bothTaskApiVersionsReachTheSandboxesTaskService() throws Exception {
        try (TtrpcClient c = connect("pod1")) {
            for (String service : TaskApi.SERVICES) {
                CreateTaskResponse r = c.call(service, "Create", CreateTaskRequest.newBuilder().setId("ctr").build(),
                        Map.of(), T, CreateTaskResponse.parser()).get();
                assertEquals(4242, r.getPid());
            }
        }
    }

    @Test
    void aDriversNotFoundReachesContainerdAsNotFoundWithItsMessage() throws Exception {
        try (TtrpcClient c = connect("pod1")) {
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> c.call(TaskApi.SERVICES.get(0), "Create", CreateTaskRequest.newBuilder().setId("ghost").build(),
                            Map.of(), T).get());
            TtrpcException t = (TtrpcException) e.getCause();
            assertEquals(TtrpcCode.NOT_FOUND, t.code());
            assertTrue(t.getMessage().contains("container ghost not found"), t.getMessage());
        }
        assertEquals(java.util.List.of("TASK Create NOT_FOUND"), observed, "each call observed once, with its code");
    }

    @Test
    void eachAnsweredCallIsObservedOnceWithItsCode() throws Exception {
        try (TtrpcClient c = connect("pod1")) {
            c.call(TaskApi.SERVICES.get(0), "Create", CreateTaskRequest.newBuilder().setId("ctr").build(), Map.of(), T,
                    CreateTaskResponse.parser()).get();
            CompletableFuture<WaitResponse> wait = c.call(TaskApi.SERVICES.get(0), "Wait",
                    WaitRequest.newBuilder().setId("ctr").build(), Map.of(), T, WaitResponse.parser());
            Thread.sleep(100);
            assertEquals(java.util.List.of("TASK Create OK"), observed, "a Wait still waiting is not answered yet");
            exit.complete(new ExitStatus(4242, 3, Instant.now()));
            wait.get();
        }
        assertEquals(java.util.List.of("TASK Create OK", "TASK Wait OK"), observed);
    }

    @Test
    void readsPassTheGateAsBriefCallsAndChangesAsLongOnes() throws Exception {
        try (TtrpcClient c = connect("pod1")) {
            c.call(TaskApi.SERVICES.get(0), "Pids", PidsRequest.newBuilder().setId("ctr").build(), Map.of(), T,
                    PidsResponse.parser()).get();
            c.call(TaskApi.SERVICES.get(0), "Create", CreateTaskRequest.newBuilder().setId("ctr").build(), Map.of(), T,
                    CreateTaskResponse.parser()).get();
        }
        assertEquals(java.util.List.of("read", "task"), routed);
    }

    @Test
    void waitAnswersWhenTheProcessExits() throws Exception {
        try (TtrpcClient c = connect("pod1")) {
            CompletableFuture<WaitResponse> wait = c.call(TaskApi.SERVICES.get(0), "Wait",
                    WaitRequest.newBuilder().setId("ctr").build(), Map.of(), T, WaitResponse.parser());
            Thread.sleep(100);
            assertTrue(!wait.isDone(), "Wait must not answer before the exit");
            exit.complete(new ExitStatus(4242, 3, Instant.now()));
            assertEquals(3, wait.get().getExitStatus());
        }
    }

    @Test
    void closedSandboxSocketIsGone() throws Exception {
        TtrpcClient c = connect("pod1");
        c.close();
        sockets.removed("pod1");
        assertTrue(server.sockets().isEmpty(), "socket still served: " + server.sockets());
    }

    /** A router that knows one sandbox, whose task service knows one container "ctr". */
    private final class OneSandboxRouter implements SandboxRouter {
        private final TaskService tasks = new TaskService() {
            private void known(String id) throws SandboxException {
                if (!id.equals("ctr")) {
                    throw SandboxException.notFound("container", id);
                }
            }

            @Override
            public long create(TaskSpec spec) throws SandboxException {
                known(spec.id());
                return 4242;
            }

            @Override
            public long start(String id, String execId) throws SandboxException {
                known(id);
                return 4242;
            }

            @Override
            public ExitStatus delete(String id, String execId) throws SandboxException {
                known(id);
                return exit.getNow(null);
            }

            @Override
            public List<ProcessInfo> pids(String id) {
                return List.of();
            }

            @Override
            public void kill(String id, String execId, int signal, boolean all) {
            }

            @Override
            public void exec(io.kuasar.spi.ExecSpec spec) {
            }

            @Override
            public CompletionStage<ExitStatus> waitFor(String id, String execId) throws SandboxException {
                known(id);
                return exit;
            }

            @Override
            public TaskState state(String id, String execId) {
                return null;
            }
        };

        private TaskService tasks(String sandboxId) throws SandboxException {
            if (!sandboxId.equals("pod1")) {
                throw SandboxException.notFound("sandbox", sandboxId);
            }
            return tasks;
        }

        @Override
        public <T> T task(String sandboxId, TaskCall<T> call) throws SandboxException {
            routed.add("task");
            return call.on(tasks(sandboxId));
        }

        @Override
        public <T> T readTask(String sandboxId, TaskCall<T> call) throws SandboxException {
            routed.add("read");
            return call.on(tasks(sandboxId));
        }

        @Override
        public CompletionStage<ExitStatus> waitTask(String sandboxId, String id, String execId)
                throws SandboxException {
            return tasks(sandboxId).waitFor(id, execId);
        }

        @Override
        public SandboxStatus create(String sandboxer, SandboxSpec spec) {
            throw new UnsupportedOperationException();
        }

        @Override
        public SandboxStarted start(String sandboxer, String sandboxId) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Platform platform(String sandboxer, String sandboxId) {
            return Platform.HOST;
        }

        @Override
        public void stop(String sandboxer, String sandboxId, Duration timeout) {
        }

        @Override
        public CompletionStage<ExitStatus> exit(String sandboxer, String sandboxId) {
            return new CompletableFuture<>();
        }

        @Override
        public SandboxStatus status(String sandboxer, String sandboxId, boolean verbose) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void shutdown(String sandboxer, String sandboxId) {
        }

        @Override
        public TypedData metrics(String sandboxer, String sandboxId) {
            return TypedData.EMPTY;
        }

        @Override
        public void update(String sandboxer, SandboxSpec spec, Collection<String> fields) {
        }

        @Override
        public Collection<SandboxStatus> sandboxes() {
            return List.of();
        }

        @Override
        public void addListener(SandboxListener listener) {
        }

        @Override
        public void removeListener(SandboxListener listener) {
        }
    }
}
