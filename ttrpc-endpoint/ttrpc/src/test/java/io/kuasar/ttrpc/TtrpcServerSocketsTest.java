package io.kuasar.ttrpc;

import com.google.protobuf.ByteString;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Ownership of socket files and listening sockets by {@link TtrpcServer}. */
@Timeout(60)
class TtrpcServerSocketsTest {
    @TempDir
    Path dir;
    ExecutorService executor;
    TtrpcServer server;

    @BeforeEach
    void start() {
        executor = Executors.newCachedThreadPool();
        server = new TtrpcServer(executor);
        server.register("test.v1.Where", "Socket", (ctx, payload) ->
                CompletableFuture.completedFuture(ByteString.copyFromUtf8(ctx.socket().toString())));
    }

    @AfterEach
    void stop() {
        server.close();
        executor.shutdownNow();
    }

    private static String where(TtrpcClient client) throws Exception {
        return client.call("test.v1.Where", "Socket", ByteString.EMPTY, Map.of(), null).get(5, TimeUnit.SECONDS)
                .toStringUtf8();
    }

    @Test
    void socketIsOwnerOnly() throws Exception {
        Path socket = dir.resolve("a.sock");
        server.listen(socket);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        assertEquals(Set.of(socket), server.sockets());
    }

    @Test
    void oneServerServesManySocketsAndTellsWhichOne() throws Exception {
        Path a = dir.resolve("a.sock");
        Path b = dir.resolve("b.sock");
        List<String> events = new CopyOnWriteArrayList<>();
        ConnectionListener listener = new ConnectionListener() {
            @Override
            public void connectionOpened(ConnectionInfo c) {
                events.add("opened " + c.socket().getFileName() + " #" + c.id());
            }

            @Override
            public void connectionClosed(ConnectionInfo c) {
                events.add("closed " + c.socket().getFileName() + " #" + c.id());
            }
        };
        server.listen(a, listener);
        server.listen(b);
        try (TtrpcClient ca = TtrpcClient.connect(a, server.eventLoopGroup());
             TtrpcClient cb = TtrpcClient.connect(b, server.eventLoopGroup())) {
            assertEquals(a.toString(), where(ca));
            assertEquals(b.toString(), where(cb));
            ca.close();
            ca.closeFuture().toCompletableFuture().get(5, TimeUnit.SECONDS);
        }
        awaitSize(events, 2);
        assertEquals(List.of("opened a.sock #1", "closed a.sock #1"), events, "b's connection is not reported");
    }

    @Test
    void closingOneSocketLeavesTheOthersServing() throws Exception {
        Path a = dir.resolve("a.sock");
        Path b = dir.resolve("b.sock");
        server.listen(a);
        server.listen(b);
        TtrpcClient ca = TtrpcClient.connect(a, server.eventLoopGroup());
        try (TtrpcClient cb = TtrpcClient.connect(b, server.eventLoopGroup())) {
            server.close(a);
            ca.closeFuture().toCompletableFuture().get(5, TimeUnit.SECONDS);
            assertFalse(Files.exists(a), "socket file removed");
            assertThrows(IOException.class, () -> TtrpcClient.connect(a, server.eventLoopGroup()));
            assertEquals(b.toString(), where(cb));
            assertEquals(Set.of(b), server.sockets());
            server.close(a); // again: no-op
        }
    }

    @Test
    void staleSocketFileIsReplaced() throws Exception {
        Path socket = dir.resolve("stale.sock");
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(socket));
        } // closed without unlinking: the file stays, nobody listens
        assertTrue(Files.exists(socket));
        server.listen(socket);
        try (TtrpcClient client = TtrpcClient.connect(socket, server.eventLoopGroup())) {
            assertEquals(socket.toString(), where(client));
        }
    }

    @Test
    void refusesALiveSocketOrARegularFile() throws Exception {
        Path live = dir.resolve("live.sock");
        try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            other.bind(UnixDomainSocketAddress.of(live));
            IOException e = assertThrows(IOException.class, () -> server.listen(live));
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
        }
        Path file = Files.writeString(dir.resolve("file"), "keep me");
        IOException e = assertThrows(IOException.class, () -> server.listen(file));
        assertTrue(e.getMessage().contains("not a socket"), e.getMessage());
        assertEquals("keep me", Files.readString(file));
    }

    @Test
    void listenAfterCloseIsRefused() {
        server.close();
        server.close();
        assertThrows(IllegalStateException.class, () -> server.listen(dir.resolve("late.sock")));
    }

    private static void awaitSize(List<?> list, int size) throws InterruptedException {
        for (int i = 0; i < 500 && list.size() < size; i++) {
            Thread.sleep(10);
        }
    }
}
