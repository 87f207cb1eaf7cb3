package io.kuasar.ttrpc;

import com.google.protobuf.ByteString;
import io.netty.channel.EventLoopGroup;
import java.lang.ref.WeakReference;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * A closed client is garbage: the event loop it ran on outlives it (the node's shared loop lives as long as the
 * node) and must keep nothing of it. A guest agent that drops its channel over and over makes the node connect
 * again each time; anything a connection leaves behind grows without end (the vmm-agent-client fuzz target found
 * exactly that: a listener per connection on the loop's termination future).
 */
@Timeout(60)
class TtrpcClientLifetimeTest {
    @TempDir
    Path dir;
    ExecutorService handlers;
    TtrpcServer server;
    EventLoopGroup clientLoop;
    Path socket;

    @BeforeEach
    void start() throws Exception {
        handlers = Executors.newCachedThreadPool();
        server = new TtrpcServer(handlers);
        server.register("test.v1.Echo", "Echo", (ctx, payload) -> CompletableFuture.completedFuture(payload));
        socket = dir.resolve("ttrpc.sock");
        server.listen(socket);
        clientLoop = TtrpcEventLoops.newGroup(1, "lifetime-client");
    }

    @AfterEach
    void stop() {
        server.close();
        clientLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        handlers.shutdownNow();
    }

    @Test
    void theLoopKeepsNothingOfAClosedClient() throws Exception {
        WeakReference<TtrpcClient> closed = connectCallClose();
        for (int i = 0; i < 50 && closed.get() != null; i++) {
            System.gc();
            Thread.sleep(20);
        }
        assertNull(closed.get(), "a closed client is still reachable (from its event loop?)");
    }

    private WeakReference<TtrpcClient> connectCallClose() throws Exception {
        TtrpcClient client = TtrpcClient.connect(socket, clientLoop);
        ByteString answer = client.call("test.v1.Echo", "Echo", ByteString.copyFromUtf8("hi"), Map.of(),
                Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS);
        assertEquals("hi", answer.toStringUtf8());
        client.close();
        client.closeFuture().toCompletableFuture().get(5, TimeUnit.SECONDS);
        return new WeakReference<>(client);
    }
}
