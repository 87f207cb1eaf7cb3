package io.kuasar.ttrpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.kuasar.ttrpc.proto.Response;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A peer on a channel that outlives its connections (a guest agent on a VM's virtio-serial port, which may miss a
 * quick reconnect of the host) still answers calls the previous connection made. Those answers must not complete
 * the new connection's calls: they came with the stream ids a fresh connection used to start from.
 */
@Timeout(30)
class TtrpcClientStaleAnswersTest {
    private static final int TYPE_RESPONSE = 2;

    @TempDir
    Path dir;

    @Test
    void answersForThePreviousConnectionsCallsDoNotCompleteThisOnesCalls() throws Exception {
        Path socket = dir.resolve("agent.sock");
        EventLoopGroup loop = TtrpcEventLoops.newGroup(1, "stale-client");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            CompletableFuture<Integer> served = CompletableFuture.supplyAsync(() -> servePreviousThenReal(server));
            try (TtrpcClient client = TtrpcClient.connect(socket, loop)) {
                for (int call = 0; call < 3; call++) {
                    ByteString answer = client.call("agent.v1.Agent", "Wait", ByteString.EMPTY, Map.of(), null)
                            .get(10, TimeUnit.SECONDS);
                    assertEquals("fresh", answer.toStringUtf8(), "call " + call + " got its own answer");
                }
            }
            int firstId = served.get(10, TimeUnit.SECONDS);
            assertTrue(firstId > 21, "the first stream id " + firstId + " is past the previous connection's");
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /**
     * Once the client's first call waits, answers stream ids 1..21, as the previous connection's parked calls; then
     * each request of this connection with its own id. Returns the first id the client used.
     */
    private static int servePreviousThenReal(ServerSocketChannel server) {
        try (SocketChannel peer = server.accept()) {
            int first = -1;
            for (int call = 0; call < 3; call++) {
                ByteBuffer header = read(peer, 10);
                int length = header.getInt(0);
                int stream = header.getInt(4);
                read(peer, length);
                if (first < 0) {
                    first = stream;
                    for (int stale = 1; stale <= 21; stale += 2) {
                        write(peer, stale, "stale");
                    }
                }
                write(peer, stream, "fresh");
            }
            return first;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void write(SocketChannel peer, int stream, String payload) throws IOException {
        byte[] body = Response.newBuilder().setPayload(ByteString.copyFrom(payload, StandardCharsets.UTF_8)).build()
                .toByteArray();
        ByteBuffer frame = ByteBuffer.allocate(10 + body.length).putInt(body.length).putInt(stream)
                .put((byte) TYPE_RESPONSE).put((byte) 0).put(body).flip();
        while (frame.hasRemaining()) {
            peer.write(frame);
        }
    }

    private static ByteBuffer read(SocketChannel peer, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (peer.read(b) < 0) {
                throw new IOException("client closed");
            }
        }
        return b.flip();
    }
}
