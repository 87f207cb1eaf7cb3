package io.kuasar.endpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.ttrpc.TtrpcServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TaskSockets in keeper mode, against a stand-in keeper speaking the control line protocol. */
class TaskSocketsKeeperTest {
    @TempDir
    Path dir;
    private TtrpcServer server;
    private FakeKeeper keeper;
    private TaskSockets sockets;

    @BeforeEach
    void start() throws Exception {
        server = new TtrpcServer(Executors.newCachedThreadPool());
        keeper = new FakeKeeper(dir.resolve("control.sock"));
        // the node's run directories are private: TtrpcServer refuses to listen in one open to others
        var privateDir = java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        Files.createDirectories(dir.resolve("task"), privateDir);
        Files.createDirectories(dir.resolve("backend"), privateDir);
        sockets = new TaskSockets(dir.resolve("task"), dir.resolve("backend"),
                new KeeperClient(dir.resolve("control.sock")), server);
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
        keeper.close();
    }

    @Test
    void theHostServesTheBackendAndContainerdGetsThePublicSocket() throws Exception {
        String uri = sockets.addressFor("pod1", "", 3).uri();
        String name = TaskSockets.socketName("pod1");
        assertEquals("ttrpc+unix://" + dir.resolve("task").resolve(name), uri);
        Path backend = dir.resolve("backend").resolve(name).toAbsolutePath();
        assertEquals(java.util.Set.of(backend), server.sockets());
        assertEquals(backend.toString(), keeper.listening.get(dir.resolve("task").resolve(name).toString()));
        assertEquals("pod1", sockets.sandboxOf(backend));
        // Start again (containerd retries): same address, nothing new
        assertEquals(uri, sockets.addressFor("pod1", "", 3).uri());
        assertEquals(1, keeper.requests.stream().filter(r -> r.startsWith("LISTEN")).count());
    }

    @Test
    void removalClosesBothEnds() throws Exception {
        sockets.addressFor("pod1", "", 3);
        sockets.removed("pod1");
        assertTrue(server.sockets().isEmpty());
        assertTrue(keeper.listening.isEmpty(), "keeper still listens: " + keeper.listening);
    }

    @Test
    void recoveredSandboxesAreListenedAgainAfterARestartOfTheKeepersConnection() throws Exception {
        sockets.addressFor("pod1", "", 3);
        keeper.dropConnections(); // the client reconnects on its next call
        SandboxStatus s = new SandboxStatus("pod2", "runc", "ns", SandboxStatus.State.READY, 1, Instant.now(), null,
                "", Map.of());
        sockets.recovered(List.of(s));
        assertEquals(2, keeper.listening.size());
        assertEquals("pod2", sockets.sandboxOf(dir.resolve("backend").resolve(TaskSockets.socketName("pod2"))
                .toAbsolutePath()));
    }

    /**
     * A sandbox handed to a driver's successor already has its socket: telling the endpoint of it does not wait for
     * the lock another sandbox's open holds through its round trip to the keeper (the sandbox's calls wait meanwhile).
     */
    @Test
    void aHandedOverSandboxIsNotHeldUpWhileAnotherSandboxsSocketOpens() throws Exception {
        sockets.addressFor("pod1", "", 3);
        SandboxStatus ready = new SandboxStatus("pod1", "runc", "ns", SandboxStatus.State.READY, 1, Instant.now(),
                null, "", Map.of());
        java.util.concurrent.CountDownLatch holding = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        Thread opener = new Thread(() -> {
            synchronized (sockets) { // as open() of another sandbox does, waiting for the keeper
                holding.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        opener.start();
        try {
            holding.await();
            var told = java.util.concurrent.CompletableFuture.runAsync(() -> sockets.recovered(List.of(ready)));
            told.get(5, java.util.concurrent.TimeUnit.SECONDS);
        } finally {
            release.countDown();
            opener.join();
        }
        assertEquals(1, keeper.requests.stream().filter(r -> r.startsWith("LISTEN")).count());
    }

    /**
     * A Start answered while a driver upgrade hands its sandbox over asks for the socket as the handoff's
     * recovered() does: whichever comes second gets the same socket, not a failure to listen twice.
     */
    @Test
    void aStartAndAHandoffOfTheSameSandboxAtOnceShareOneSocket() throws Exception {
        SandboxStatus ready = new SandboxStatus("pod1", "runc", "ns", SandboxStatus.State.READY, 1, Instant.now(),
                null, "", Map.of());
        for (int round = 0; round < 20; round++) {
            java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(2);
            var start = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    together.await();
                    return sockets.addressFor("pod1", "", 3).uri();
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            together.await();
            sockets.recovered(List.of(ready));
            assertEquals("ttrpc+unix://" + dir.resolve("task").resolve(TaskSockets.socketName("pod1")),
                    start.get(10, java.util.concurrent.TimeUnit.SECONDS));
            assertEquals(1, server.sockets().size());
            sockets.removed("pod1");
        }
        assertEquals(20, keeper.requests.stream().filter(r -> r.startsWith("LISTEN")).count());
    }

    @Test
    void aKeeperRefusalFailsStartAndLeavesNothingServed() throws Exception {
        keeper.refuse = true;
        SandboxException e = assertThrows(SandboxException.class, () -> sockets.addressFor("pod1", "", 3));
        assertEquals(SandboxException.Code.UNAVAILABLE, e.code());
        assertTrue(server.sockets().isEmpty());
        assertTrue(sockets.existing("pod1", "") == null);
    }

    /** Answers the control protocol from a thread per connection, remembering what it listens on. */
    static final class FakeKeeper implements AutoCloseable {
        final Map<String, String> listening = new ConcurrentHashMap<>();
        final List<String> requests = new CopyOnWriteArrayList<>();
        final List<SocketChannel> connections = new CopyOnWriteArrayList<>();
        volatile boolean refuse;
        private final ServerSocketChannel server;

        FakeKeeper(Path control) throws IOException {
            server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(control));
            Thread t = new Thread(this::accept, "fake-keeper");
            t.setDaemon(true);
            t.start();
        }

        private void accept() {
            try {
                while (true) {
                    SocketChannel c = server.accept();
                    connections.add(c);
                    Thread t = new Thread(() -> serve(c), "fake-keeper-conn");
                    t.setDaemon(true);
                    t.start();
                }
            } catch (IOException closed) {
                // done
            }
        }

        private void serve(SocketChannel c) {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c),
                    StandardCharsets.UTF_8)); OutputStream out = Channels.newOutputStream(c)) {
                String line;
                while ((line = in.readLine()) != null) {
                    requests.add(line);
                    String[] f = line.split(" ");
                    StringBuilder a = new StringBuilder();
                    switch (f[0]) {
                        case "LISTEN" -> {
                            if (refuse) {
                                a.append("ERR refused\n");
                            } else {
                                listening.put(f[1], f[2]);
                                a.append("OK\n");
                            }
                        }
                        case "CLOSE" -> {
                            listening.remove(f[1]);
                            a.append("OK\n");
                        }
                        case "LIST" -> {
                            listening.forEach((k, v) -> a.append("L ").append(k).append(' ').append(v).append('\n'));
                            a.append("END\n");
                        }
                        case "PING" -> a.append("PONG\n");
                        default -> a.append("ERR unknown\n");
                    }
                    out.write(a.toString().getBytes(StandardCharsets.UTF_8));
                    out.flush();
                }
            } catch (IOException closed) {
                // connection dropped
            }
        }

        void dropConnections() throws IOException {
            for (SocketChannel c : connections) {
                c.close();
            }
            connections.clear();
        }

        @Override
        public void close() throws IOException {
            server.close();
            dropConnections();
        }
    }
}
