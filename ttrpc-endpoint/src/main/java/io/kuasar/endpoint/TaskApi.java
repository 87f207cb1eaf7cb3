package io.kuasar.endpoint;

import static io.kuasar.endpoint.ProtoMapping.timestamp;
import static io.kuasar.endpoint.ProtoMapping.uint32;

import com.google.protobuf.Empty;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.kuasar.api.containerd.task.v3.*;
import io.kuasar.api.containerd.v1.types.ProcessInfo;
import io.kuasar.api.containerd.v1.types.Status;
import io.kuasar.host.ContainerdObserver;
import io.kuasar.host.SandboxRouter;
import io.kuasar.spi.ExecSpec;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TaskSpec;
import io.kuasar.spi.TaskState;
import io.kuasar.ttrpc.MethodHandler;
import io.kuasar.ttrpc.RequestContext;
import io.kuasar.ttrpc.TtrpcException;
import io.kuasar.ttrpc.TtrpcServer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * containerd's Task API ({@code containerd.task.v3.Task}, and v2, which is wire-identical) over ttrpc: each request
 * is routed to the TaskService of the sandbox whose socket it arrived on.
 */
final class TaskApi {
    static final List<String> SERVICES = List.of("containerd.task.v3.Task", "containerd.task.v2.Task");
    private static final Empty EMPTY = Empty.getDefaultInstance();

    private final SandboxRouter router;
    private final TaskSockets sockets;
    private final ExecStarts execStarts = new ExecStarts();
    private final HaltPoints halts;
    private final ContainerdObserver observer;

    TaskApi(SandboxRouter router, TaskSockets sockets, HaltPoints halts) {
        this(router, sockets, halts, CallMetricsInterceptor.NOT_OBSERVED);
    }

    TaskApi(SandboxRouter router, TaskSockets sockets, HaltPoints halts, ContainerdObserver observer) {
        this.observer = observer;
        this.router = router;
        this.sockets = sockets;
        this.halts = halts;
    }

    /** One Task method: decode with {@code parser}, answer for the sandbox the request's socket serves. */
    private interface Method<Q> {
        CompletionStage<? extends MessageLite> call(String sandboxId, RequestContext ctx, Q request) throws Exception;
    }

    /** A method answering synchronously, made on the sandbox's task service as one call through the host's gate. */
    private interface SyncMethod<Q> {
        MessageLite call(TaskService tasks, RequestContext ctx, Q request) throws SandboxException;
    }

    /** Every Task call passes here once: its answer's status code and time go to the observer (metrics). */
    private <Q> void on(TtrpcServer server, String name, Parser<Q> parser, Method<Q> method) {
        for (String service : SERVICES) {
            server.register(service, name, MethodHandler.of(parser, (RequestContext ctx, Q request) -> {
                long start = System.nanoTime();
                try {
                    RequestFields.requireNoNul((com.google.protobuf.MessageOrBuilder) request);
                    String sandboxId = sockets.sandboxOf(ctx.socket());
                    halts.reached("Task." + name + ":before");
                    return method.call(sandboxId, ctx, request).handle((value, failure) -> {
                        halts.reached("Task." + name + ":after");
                        return answer(name, start, value, failure);
                    });
                } catch (Exception e) {
                    TtrpcException failure = Statuses.ttrpc(e);
                    observer.answered(ContainerdObserver.Api.TASK, name, failure.code().name(), System.nanoTime() - start);
                    throw failure;
                }
            }));
        }
    }

    private <Q> void sync(TtrpcServer server, String name, Parser<Q> parser, SyncMethod<Q> method) {
        on(server, name, parser, (sandboxId, ctx, q) -> CompletableFuture.completedFuture(
                router.task(sandboxId, tasks -> method.call(tasks, ctx, q))));
    }

    /**
     * {@link #sync} for a method that only reads. State may wait for an exec's Start, but only for one inside the
     * driver already (a Start held at the gate is not in flight yet), which must end before its instance leaves anyway.
     */
    private <Q> void read(TtrpcServer server, String name, Parser<Q> parser, SyncMethod<Q> method) {
        on(server, name, parser, (sandboxId, ctx, q) -> CompletableFuture.completedFuture(
                router.readTask(sandboxId, tasks -> method.call(tasks, ctx, q))));
    }

    /** Passes an answer on, or turns a driver's failure into the ttrpc status containerd sees; either is observed. */
    private <A> A answer(String name, long start, A value, Throwable failure) {
        if (failure != null) {
            TtrpcException status = Statuses.ttrpc(failure);
            observer.answered(ContainerdObserver.Api.TASK, name, status.code().name(), System.nanoTime() - start);
            throw new java.util.concurrent.CompletionException(status);
        }
        observer.answered(ContainerdObserver.Api.TASK, name, "OK", System.nanoTime() - start);
        return value;
    }

    void registerOn(TtrpcServer s) {
        sync(s, "Create", CreateTaskRequest.parser(), (t, ctx, r) -> CreateTaskResponse.newBuilder().setPid(uint32(
                t.create(new TaskSpec(r.getId(), r.getBundle(), ProtoMapping.mounts(r.getRootfsList()),
                        new Stdio(r.getStdin(), r.getStdout(), r.getStderr(), r.getTerminal()), r.getCheckpoint(),
                        r.getParentCheckpoint(), ProtoMapping.typed(r.getOptions()))))).build());
        sync(s, "Start", StartRequest.parser(), (t, ctx, r) -> StartResponse.newBuilder()
                .setPid(uint32(execStarts.start(t, ctx.socket(), ctx::isExpired, r.getId(), r.getExecId()))).build());
        sync(s, "Delete", DeleteRequest.parser(), (t, ctx, r) -> {
            execStarts.awaitStart(ctx.socket(), r.getId(), r.getExecId());
            ExitStatus e = t.delete(r.getId(), r.getExecId());
            return DeleteResponse.newBuilder().setPid(uint32(e.pid())).setExitStatus(e.code())
                    .setExitedAt(timestamp(e.exitedAt())).build();
        });
        read(s, "Pids", PidsRequest.parser(), (t, ctx, r) -> {
            PidsResponse.Builder b = PidsResponse.newBuilder();
            for (TaskService.ProcessInfo p : t.pids(r.getId())) {
                ProcessInfo.Builder pi = ProcessInfo.newBuilder().setPid(uint32(p.pid()));
                if (p.info() != null && !p.info().isEmpty()) {
                    pi.setInfo(ProtoMapping.any(p.info()));
                }
                b.addProcesses(pi);
            }
            return b.build();
        });
        sync(s, "Pause", PauseRequest.parser(), (t, ctx, r) -> { t.pause(r.getId()); return EMPTY; });
        sync(s, "Resume", ResumeRequest.parser(), (t, ctx, r) -> { t.resume(r.getId()); return EMPTY; });
        sync(s, "Checkpoint", CheckpointTaskRequest.parser(), (t, ctx, r) -> {
            t.checkpoint(r.getId(), r.getPath(), ProtoMapping.typed(r.getOptions()));
            return EMPTY;
        });
        sync(s, "Kill", KillRequest.parser(), (t, ctx, r) -> {
            execStarts.awaitStart(ctx.socket(), r.getId(), r.getExecId());
            t.kill(r.getId(), r.getExecId(), r.getSignal(), r.getAll());
            return EMPTY;
        });
        sync(s, "Exec", ExecProcessRequest.parser(), (t, ctx, r) -> {
            t.exec(new ExecSpec(r.getId(), r.getExecId(),
                    new Stdio(r.getStdin(), r.getStdout(), r.getStderr(), r.getTerminal()),
                    ProtoMapping.typed(r.getSpec())));
            return EMPTY;
        });
        sync(s, "ResizePty", ResizePtyRequest.parser(), (t, ctx, r) -> {
            t.resizePty(r.getId(), r.getExecId(), r.getWidth(), r.getHeight());
            return EMPTY;
        });
        sync(s, "CloseIO", CloseIORequest.parser(), (t, ctx, r) -> {
            t.closeIO(r.getId(), r.getExecId(), r.getStdin());
            return EMPTY;
        });
        sync(s, "Update", UpdateTaskRequest.parser(), (t, ctx, r) -> {
            t.update(r.getId(), ProtoMapping.typed(r.getResources()), r.getAnnotationsMap());
            return EMPTY;
        });
        on(s, "Wait", WaitRequest.parser(), (sandboxId, ctx, r) -> router.waitTask(sandboxId, r.getId(), r.getExecId()).thenApply(
                e -> WaitResponse.newBuilder().setExitStatus(e.code()).setExitedAt(timestamp(e.exitedAt())).build()));
        read(s, "Stats", StatsRequest.parser(),
                (t, ctx, r) -> StatsResponse.newBuilder().setStats(ProtoMapping.any(t.stats(r.getId()))).build());
        read(s, "State", StateRequest.parser(), (t, ctx, r) -> {
            execStarts.awaitStart(ctx.socket(), r.getId(), r.getExecId());
            return state(t.state(r.getId(), r.getExecId()));
        });
        read(s, "Connect", ConnectRequest.parser(), (t, ctx, r) -> {
            TaskService.ConnectInfo c = t.connect(r.getId());
            return ConnectResponse.newBuilder().setShimPid(uint32(c.shimPid())).setTaskPid(uint32(c.taskPid()))
                    .setVersion(c.version()).build();
        });
        sync(s, "Shutdown", ShutdownRequest.parser(), (t, ctx, r) -> { t.shutdown(r.getId(), r.getNow()); return EMPTY; });
    }

    private static StateResponse state(TaskState s) {
        StateResponse.Builder b = StateResponse.newBuilder().setId(s.id()).setExecId(s.execId())
                .setBundle(s.bundle() == null ? "" : s.bundle()).setPid(uint32(s.pid()))
                .setStatus(Status.forNumber(s.status().ordinal())).setStdin(s.stdio().stdin())
                .setStdout(s.stdio().stdout()).setStderr(s.stdio().stderr()).setTerminal(s.stdio().terminal())
                .setExitStatus(s.exitStatus());
        if (s.exitedAt() != null) {
            b.setExitedAt(timestamp(s.exitedAt()));
        }
        return b.build();
    }

}
