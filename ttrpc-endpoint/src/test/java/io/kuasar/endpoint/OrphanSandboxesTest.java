package io.kuasar.endpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.kuasar.api.containerd.services.sandbox.v1.StoreGetRequest;
import io.kuasar.api.containerd.services.sandbox.v1.StoreGetResponse;
import io.kuasar.api.containerd.services.sandbox.v1.StoreGrpc;
import io.kuasar.host.SandboxRouter;
import io.kuasar.spi.SandboxStatus;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which recovered sandboxes are shut down: those containerd's Store answers NOT_FOUND for, in their own namespace;
 * none when containerd cannot be asked.
 */
class OrphanSandboxesTest {
    @TempDir
    Path dir;
    private final EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    private final List<String> routerCalls = new CopyOnWriteArrayList<>();
    private final List<String> asked = new CopyOnWriteArrayList<>();
    private Server containerd;

    @AfterEach
    void close() {
        if (containerd != null) {
            containerd.shutdownNow();
        }
        loop.shutdownGracefully();
    }

    /** containerd's Store as far as Get goes: it knows "kept" in namespace k8s.io only. */
    private Path startContainerd() throws Exception {
        Path sock = dir.resolve("containerd.sock");
        containerd = NettyServerBuilder.forAddress(new DomainSocketAddress(sock.toString()))
                .bossEventLoopGroup(loop).workerEventLoopGroup(loop).channelType(EpollServerDomainSocketChannel.class)
                .addService(io.grpc.ServerInterceptors.intercept(new StoreGrpc.StoreImplBase() {
                    @Override
                    public void get(StoreGetRequest r, StreamObserver<StoreGetResponse> out) {
                        String ns = NamespaceCapture.CURRENT.get();
                        asked.add(ns + "/" + r.getSandboxId());
                        if (r.getSandboxId().equals("kept") && "k8s.io".equals(ns)) {
                            out.onNext(StoreGetResponse.getDefaultInstance());
                            out.onCompleted();
                        } else {
                            out.onError(Status.NOT_FOUND.withDescription("sandbox " + r.getSandboxId()).asException());
                        }
                    }
                }, new NamespaceCapture())).build().start();
        return sock;
    }

    private SandboxRouter router() {
        return (SandboxRouter) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {SandboxRouter.class},
                (proxy, m, args) -> {
                    routerCalls.add(m.getName() + " " + args[0] + " " + args[1]);
                    return null;
                });
    }

    private static SandboxStatus sandbox(String id, String namespace) {
        return new SandboxStatus(id, "runc", namespace, SandboxStatus.State.READY, 1, Instant.EPOCH, null, "", Map.of());
    }

    @Test
    void onlySandboxesContainerdHasNoRecordOfAreStoppedAndShutDown() throws Exception {
        OrphanSandboxes o = new OrphanSandboxes(router(), startContainerd(), loop);
        List<String> removed = o.sweep(List.of(sandbox("kept", "k8s.io"), sandbox("gone", "k8s.io"),
                sandbox("kept", "other")));
        o.close();
        assertEquals(List.of("gone", "kept"), removed, "the second 'kept' is in a namespace containerd has not");
        assertEquals(List.of("k8s.io/kept", "k8s.io/gone", "other/kept"), asked, "each asked in its namespace");
        assertEquals(List.of("stop runc gone", "shutdown runc gone", "stop runc kept", "shutdown runc kept"),
                routerCalls);
    }

    @Test
    void nothingIsRemovedWhenContainerdCannotBeAsked() {
        OrphanSandboxes o = new OrphanSandboxes(router(), dir.resolve("no-containerd.sock"), loop);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> o.sweep(List.of(sandbox("gone", "k8s.io"))));
        o.close();
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
        assertEquals(List.of(), routerCalls);
    }

    /** Puts the call's containerd namespace header where the fake Store reads it. */
    private static final class NamespaceCapture implements io.grpc.ServerInterceptor {
        static final io.grpc.Context.Key<String> CURRENT = io.grpc.Context.key("ns");

        @Override
        public <Q, A> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, A> call,
                io.grpc.Metadata headers, io.grpc.ServerCallHandler<Q, A> next) {
            io.grpc.Context ctx = io.grpc.Context.current().withValue(CURRENT, headers.get(ControllerService.NAMESPACE));
            return io.grpc.Contexts.interceptCall(ctx, call, headers, next);
        }
    }
}
