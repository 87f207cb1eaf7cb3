package io.kuasar.ttrpc;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Empty;
import com.google.protobuf.StringValue;
import io.kuasar.ttrpc.proto.Request;
import io.kuasar.ttrpc.proto.Response;
import io.netty.channel.EventLoopGroup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A ttrpc server with test methods (Echo, Upper, After, Never, NotFound, Broken) on a real Unix socket and a client
 * on its own event loop, for the server tests; {@link RawConnection} sends what a normal client cannot.
 */
@Timeout(60)
abstract class EchoServerFixture {
    static final String SERVICE = "test.v1.Echo";
    static final Duration SHORT = Duration.ofSeconds(5);

    @TempDir
    Path dir;
    Path socket;
    ExecutorService handlerExecutor;
    ScheduledExecutorService timers;
    TtrpcServer server;
    TtrpcClient client;
    EventLoopGroup clientGroup;
    final AtomicReference<RequestContext> lastContext = new AtomicReference<>();
    final AtomicInteger echoCalls = new AtomicInteger();

    @BeforeEach
    void start() throws Exception {
        handlerExecutor = Executors.newCachedThreadPool();
        timers = Executors.newSingleThreadScheduledExecutor();
        server = new TtrpcServer(handlerExecutor);
        server.register(SERVICE, "Echo", (ctx, payload) -> {
            echoCalls.incrementAndGet();
            lastContext.set(ctx);
            return CompletableFuture.completedFuture(payload);
        });
        server.register(SERVICE, "Upper", MethodHandler.of(StringValue.parser(), (ctx, request) ->
                CompletableFuture.completedFuture(StringValue.of(request.getValue().toUpperCase()))));
        server.register(SERVICE, "After", (ctx, payload) -> { // answers its payload after that many ms
            long millis = Long.parseLong(payload.toStringUtf8().split(":")[0]);
            CompletableFuture<ByteString> answer = new CompletableFuture<>();
            timers.schedule(() -> answer.complete(payload), millis, TimeUnit.MILLISECONDS);
            return answer;
        });
        server.register(SERVICE, "Never", (ctx, payload) -> {
            lastContext.set(ctx);
            return new CompletableFuture<Empty>();
        });
        server.register(SERVICE, "NotFound", (ctx, payload) -> {
            throw new TtrpcException(new TtrpcStatus(TtrpcCode.NOT_FOUND.value(), "no such container",
                    List.of(Any.pack(StringValue.of("c1")))));
        });
        server.register(SERVICE, "Broken", (ctx, payload) ->
                CompletableFuture.failedFuture(new IllegalStateException("disk on fire")));
        socket = dir.resolve("ttrpc.sock");
        server.listen(socket);
        clientGroup = TtrpcEventLoops.newGroup(1, "test-client");
        client = TtrpcClient.connect(socket, clientGroup); // its own loop, like containerd in another process
    }

    @AfterEach
    void stop() {
        client.close();
        server.close();
        clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        handlerExecutor.shutdownNow();
        timers.shutdownNow();
    }

    static TtrpcException failure(CompletableFuture<?> future) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> future.get(10, TimeUnit.SECONDS));
        return assertInstanceOf(TtrpcException.class, e.getCause());
    }

    static ByteString utf8(String s) {
        return ByteString.copyFromUtf8(s);
    }

    static byte[] request(String method, String payload, long timeoutNanos) {
        return Request.newBuilder().setService(SERVICE).setMethod(method).setPayload(utf8(payload))
                .setTimeoutNano(timeoutNanos).build().toByteArray();
    }

    static Response response(RawConnection.RawFrame frame) throws Exception {
        assertEquals(2, frame.type(), "a response frame");
        assertEquals(0, frame.flags());
        return Response.parseFrom(frame.payload());
    }

    RequestContext awaitContext(String method) throws InterruptedException {
        long deadline = System.nanoTime() + SHORT.toNanos();
        while (System.nanoTime() < deadline) {
            RequestContext ctx = lastContext.get();
            if (ctx != null && ctx.method().equals(method)) {
                return ctx;
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no " + method + " call arrived");
    }
}
