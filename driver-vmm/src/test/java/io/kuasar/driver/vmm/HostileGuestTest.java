package io.kuasar.driver.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.driver.vmm.agent.proto.PingResponse;
import io.kuasar.spi.SandboxException;
import io.kuasar.ttrpc.TtrpcEventLoops;
import io.kuasar.ttrpc.TtrpcServer;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A VM's guest is untrusted: whatever it puts on the agent channel (garbage, a frame announcing gigabytes, an
 * endless flood of answers to calls never made, or nothing at all) fails only that VM's calls, quickly, and leaves
 * the agent calls of other VMs (on the same client event loop) answering at their usual latency. The hostile guests
 * here are plain sockets standing in for QEMU's agent socket; the good one is a real ttrpc server.
 */
@Timeout(120)
class HostileGuestTest {
    /** The clients' event loop, for the whole test class (the driver's own comes from its Vmm). */
    private static final EventLoopGroup LOOP = TtrpcEventLoops.newGroup(1, "test-agent-client");

    @TempDir
    Path tmp;
    private final ExecutorService guests = Executors.newCachedThreadPool();
    private final List<AutoCloseable> open = new ArrayList<>();
    private volatile boolean stop;

    @AfterEach
    void close() throws Exception {
        stop = true;
        for (AutoCloseable c : open) {
            c.close();
        }
        guests.shutdownNow();
    }

    @Test
    void aHostileGuestFailsOnlyItsOwnCallsAndOthersStayFast() throws Exception {
        AgentClient good = goodGuest();
        long baseline = medianPingMicros(good, 200);

        AgentClient garbage = hostile("garbage", out -> {
            Random r = new Random(1);
            byte[] junk = new byte[64 * 1024];
            while (!stop) {
                r.nextBytes(junk);
                write(out, junk);
            }
        });
        AgentClient huge = hostile("huge", out -> write(out, new byte[] {0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff,
                0, 0, 0, 1, 2, 0})); // a response for stream 1 announcing 2 GiB, then nothing
        AgentClient flood = hostile("flood", out -> {
            byte[] answer = {0, 0, 0, 0, 0x7f, 0, 0, 1, 2, 0}; // empty responses for a stream never called, forever
            ByteBuffer many = ByteBuffer.allocate(answer.length * 4096);
            while (many.hasRemaining()) {
                many.put(answer);
            }
            while (!stop) {
                write(out, many.array());
            }
        });
        AgentClient silent = hostile("silent", out -> { });

        Duration shortWait = Duration.ofSeconds(2);
        List<CompletableFuture<SandboxException>> bad = new ArrayList<>();
        for (AgentClient a : List.of(garbage, huge, flood, silent)) {
            bad.add(CompletableFuture.supplyAsync(() -> assertThrows(SandboxException.class, () -> a.awaitReady(shortWait))));
        }
        long during = medianPingMicros(good, 200);
        for (CompletableFuture<SandboxException> f : bad) {
            SandboxException e = f.get(30, TimeUnit.SECONDS); // each hostile call ends: no hang
            assertTrue(List.of(SandboxException.Code.DEADLINE_EXCEEDED, SandboxException.Code.UNAVAILABLE,
                    SandboxException.Code.RESOURCE_EXHAUSTED, SandboxException.Code.INTERNAL).contains(e.code()),
                    e::getMessage);
        }
        System.out.printf("agent Ping median: %d us alone, %d us beside 4 hostile guests%n", baseline, during);
        assertTrue(during < Math.max(10 * baseline, 5_000), "Ping of a good guest slowed from " + baseline + " us to "
                + during + " us by hostile guests");
        assertEquals("good", good.ping().getVersion(), "the good guest still answers");
    }

    private AgentClient goodGuest() throws IOException {
        TtrpcServer server = new TtrpcServer(guests);
        open.add(server::close);
        server.register(AgentClient.SERVICE, "Ping", (ctx, payload) ->
                CompletableFuture.completedFuture(PingResponse.newBuilder().setVersion("good").build()));
        Path dir = privateDir("good");
        server.listen(dir.resolve("agent.sock"));
        AgentClient a = AgentClient.connect(dir.resolve("agent.sock"), LOOP);
        open.add(a);
        return a;
    }

    /** A guest whose side of the channel runs {@code behaviour} after reading whatever the host sends. */
    private AgentClient hostile(String name, Consumer<SocketChannel> behaviour) throws IOException {
        Path sock = privateDir(name).resolve("agent.sock");
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(sock));
        open.add(server);
        guests.submit(() -> {
            try (SocketChannel ch = server.accept()) {
                guests.submit(() -> drain(ch));
                behaviour.accept(ch);
                while (!stop) {
                    Thread.sleep(50);
                }
            } catch (IOException | InterruptedException e) {
                // the host closed its side: this guest is done
            }
            return null;
        });
        AgentClient a = AgentClient.connect(sock, LOOP);
        open.add(a);
        return a;
    }

    private Path privateDir(String name) throws IOException {
        return Files.createDirectory(tmp.resolve(name),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }

    private static long medianPingMicros(AgentClient a, int n) throws SandboxException {
        List<Long> t = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            a.ping();
            t.add((System.nanoTime() - t0) / 1000);
        }
        Collections.sort(t);
        return t.get(n / 2);
    }

    private void drain(SocketChannel ch) {
        ByteBuffer sink = ByteBuffer.allocate(8192);
        try {
            while (!stop && ch.read(sink.clear()) >= 0) {
                Thread.onSpinWait();
            }
        } catch (IOException closed) {
            // done
        }
    }

    private static void write(SocketChannel out, byte[] bytes) {
        try {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                out.write(b);
            }
        } catch (IOException closed) {
            throw new IllegalStateException(closed);
        }
    }
}
