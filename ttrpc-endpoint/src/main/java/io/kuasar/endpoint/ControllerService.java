package io.kuasar.endpoint;

import static io.kuasar.endpoint.ProtoMapping.timestamp;
import static io.kuasar.endpoint.ProtoMapping.uint32;

import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.stub.StreamObserver;
import io.kuasar.api.containerd.services.sandbox.v1.*;
import io.kuasar.host.SandboxRouter;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.Platform;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import java.time.Duration;

/**
 * containerd's {@code containerd.services.sandbox.v1.Controller}, served over gRPC: decodes each request, hands it
 * to the router with the request's {@code sandboxer}, encodes the answer. Knows nothing of drivers.
 */
final class ControllerService extends ControllerGrpc.ControllerImplBase {
    /** gRPC metadata key carrying containerd's namespace. */
    static final Metadata.Key<String> NAMESPACE = Metadata.Key.of("containerd-namespace", Metadata.ASCII_STRING_MARSHALLER);
    /** The namespace of the current call, put into the gRPC context by {@link NamespaceInterceptor}. */
    static final Context.Key<String> CALL_NAMESPACE = Context.key("containerd-namespace");

    private final SandboxRouter router;
    private final TaskSockets sockets;
    private final PendingWaits waits;
    private final HaltPoints halts;

    ControllerService(SandboxRouter router, TaskSockets sockets, PendingWaits waits, HaltPoints halts) {
        this.router = router;
        this.sockets = sockets;
        this.waits = waits;
        this.halts = halts;
    }

    /** A call body that may throw a driver's exception. */
    private interface Call<T> {
        T run() throws Exception;
    }

    /** Runs one call; the test-only halt points {@code Sandbox.<Method>:before} and {@code :after} frame it. */
    private <T> void answer(String method, StreamObserver<T> out, Call<T> call) {
        try {
            halts.reached("Sandbox." + method + ":before");
            T value = call.run();
            halts.reached("Sandbox." + method + ":after");
            out.onNext(value);
            out.onCompleted();
        } catch (Throwable t) {
            out.onError(Statuses.grpc(t));
        }
    }

    @Override
    public void create(ControllerCreateRequest r, StreamObserver<ControllerCreateResponse> out) {
        answer("Create", out, () -> {
            String namespace = CALL_NAMESPACE.get();
            SandboxSpec spec = new SandboxSpec(r.getSandboxId(), namespace, r.getNetnsPath(),
                    ProtoMapping.mounts(r.getRootfsList()), ProtoMapping.podConfig(r.getOptions()),
                    ProtoMapping.typed(r.getOptions()), r.getAnnotationsMap(), r.getSandbox().getLabelsMap());
            router.create(r.getSandboxer(), spec);
            return ControllerCreateResponse.newBuilder().setSandboxId(r.getSandboxId()).build();
        });
    }

    @Override
    public void start(ControllerStartRequest r, StreamObserver<ControllerStartResponse> out) {
        answer("Start", out, () -> {
            SandboxStarted started = router.start(r.getSandboxer(), r.getSandboxId());
            TaskSockets.Address address = sockets.addressFor(r.getSandboxId(), started.taskAddress(),
                    started.taskApiVersion());
            return ControllerStartResponse.newBuilder().setSandboxId(r.getSandboxId())
                    .setPid(uint32(started.pid())).setCreatedAt(timestamp(started.createdAt()))
                    .putAllLabels(started.labels()).setAddress(address.uri()).setVersion(address.version()).build();
        });
    }

    @Override
    public void platform(ControllerPlatformRequest r, StreamObserver<ControllerPlatformResponse> out) {
        answer("Platform", out, () -> {
            Platform p = router.platform(r.getSandboxer(), r.getSandboxId());
            return ControllerPlatformResponse.newBuilder().setPlatform(io.kuasar.api.containerd.types.Platform
                    .newBuilder().setOs(p.os()).setArchitecture(p.architecture()).setVariant(p.variant())).build();
        });
    }

    @Override
    public void stop(ControllerStopRequest r, StreamObserver<ControllerStopResponse> out) {
        answer("Stop", out, () -> {
            Duration timeout = r.getTimeoutSecs() == 0 ? Duration.ofSeconds(10)
                    : Duration.ofSeconds(Integer.toUnsignedLong(r.getTimeoutSecs()));
            router.stop(r.getSandboxer(), r.getSandboxId(), timeout);
            return ControllerStopResponse.getDefaultInstance();
        });
    }

    @Override
    public void wait(ControllerWaitRequest r, StreamObserver<ControllerWaitResponse> out) {
        PendingWaits.Pending<ControllerWaitResponse> call = waits.open(out);
        try {
            router.exit(r.getSandboxer(), r.getSandboxId()).whenComplete((ExitStatus exit, Throwable t) -> {
                if (t != null) {
                    call.fail(Statuses.grpc(t));
                    return;
                }
                call.answer(ControllerWaitResponse.newBuilder().setExitStatus(exit.code())
                        .setExitedAt(timestamp(exit.exitedAt())).build());
            });
        } catch (SandboxException | RuntimeException e) {
            call.fail(Statuses.grpc(e));
        }
    }

    @Override
    public void status(ControllerStatusRequest r, StreamObserver<ControllerStatusResponse> out) {
        answer("Status", out, () -> {
            SandboxStatus s = router.status(r.getSandboxer(), r.getSandboxId(), r.getVerbose());
            ControllerStatusResponse.Builder b = ControllerStatusResponse.newBuilder().setSandboxId(s.id())
                    .setPid(uint32(s.pid())).setState(state(s.state())).putAllInfo(s.info())
                    .setCreatedAt(timestamp(s.createdAt()));
            if (s.exitedAt() != null) {
                b.setExitedAt(timestamp(s.exitedAt()));
            }
            TaskSockets.Address address = sockets.existing(s.id(), s.taskAddress());
            if (address != null) {
                b.setAddress(address.uri()).setVersion(address.version());
            }
            return b.build();
        });
    }

    /** containerd's CRI treats exactly "SANDBOX_READY" as ready. */
    private static String state(SandboxStatus.State state) {
        return state == SandboxStatus.State.READY ? "SANDBOX_READY" : "SANDBOX_NOTREADY";
    }

    @Override
    public void shutdown(ControllerShutdownRequest r, StreamObserver<ControllerShutdownResponse> out) {
        answer("Shutdown", out, () -> {
            router.shutdown(r.getSandboxer(), r.getSandboxId());
            return ControllerShutdownResponse.getDefaultInstance();
        });
    }

    @Override
    public void metrics(ControllerMetricsRequest r, StreamObserver<ControllerMetricsResponse> out) {
        answer("Metrics", out, () -> ControllerMetricsResponse.newBuilder().setMetrics(io.kuasar.api.containerd.types.Metric
                .newBuilder().setId(r.getSandboxId()).setTimestamp(timestamp(java.time.Instant.now()))
                .setData(ProtoMapping.any(router.metrics(r.getSandboxer(), r.getSandboxId())))).build());
    }

    @Override
    public void update(ControllerUpdateRequest r, StreamObserver<ControllerUpdateResponse> out) {
        answer("Update", out, () -> {
            router.update(ProtoMapping.updateSandboxer(r), ProtoMapping.updatedSandbox(r, CALL_NAMESPACE.get()),
                    r.getFieldsList());
            return ControllerUpdateResponse.getDefaultInstance();
        });
    }
}
