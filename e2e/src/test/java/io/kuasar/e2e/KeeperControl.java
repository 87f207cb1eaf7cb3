package io.kuasar.e2e;

import com.google.protobuf.StringValue;
import io.kuasar.ttrpc.MethodHandler;
import io.kuasar.ttrpc.TtrpcClient;
import io.kuasar.ttrpc.TtrpcServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/** The keeper (host/keeper) under test, and its line protocol over DIR/control.sock, as the JVM speaks it. */
final class KeeperControl implements AutoCloseable {
    /** The keeper to test: {@code -Dkuasar.keeper.bin} (e.g. a build with -fsanitize=address), else built into tmp. */
    static Path binary(Path tmp) throws IOException, InterruptedException {
        String prebuilt = System.getProperty("kuasar.keeper.bin");
        if (prebuilt != null) {
            return Path.of(prebuilt);
        }
        Path bin = tmp.resolve("kuasar-keeper");
        Path build = NodeEnv.fromEnvironment().repo().resolve("host/keeper/build.sh");
        Process b = new ProcessBuilder("sh", build.toString(), bin.toString()).inheritIO().start();
        if (!b.waitFor(120, TimeUnit.SECONDS) || b.exitValue() != 0) {
            throw new AssertionError("host/keeper/build.sh failed");
        }
        return bin;
    }

    static final String SERVICE = "test.keeper.v1.Echo";
    static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);
    static final Map<String, String> METADATA = Map.of("containerd-namespace-ttrpc", "k8s.io", "x-test", "abc");

    /** A stand-in for the JVM's ttrpc server: Echo answers at once; Hang too, unless hangSeen is given. */
    static TtrpcServer echoBackend(Path back, ExecutorService handlers, String name, CountDownLatch hangSeen)
            throws IOException {
        TtrpcServer server = new TtrpcServer(handlers);
        MethodHandler.Typed<StringValue> answer = (ctx, req) -> CompletableFuture.completedFuture(StringValue.of(
                name + ":" + ctx.metadataValue("containerd-namespace-ttrpc").orElse("-") + ":"
                        + ctx.metadataValue("x-test").orElse("-") + ":" + req.getValue()));
        server.register(SERVICE, "Echo", MethodHandler.of(StringValue.parser(), answer));
        server.register(SERVICE, "Hang", MethodHandler.of(StringValue.parser(), hangSeen == null ? answer
                : (ctx, req) -> {
                    hangSeen.countDown();
                    return new CompletableFuture<StringValue>();
                }));
        server.listen(back);
        return server;
    }

    static CompletableFuture<String> echo(TtrpcClient client, String method, String value) {
        return client.call(SERVICE, method, StringValue.of(value), METADATA, CALL_TIMEOUT, StringValue.parser())
                .thenApply(StringValue::getValue);
    }

    private final SocketChannel channel;
    private final BufferedReader in;

    KeeperControl(Path socket) throws IOException {
        channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
        in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
    }

    /** Sends one command; returns its reply lines (for LIST: the L lines and END). */
    List<String> command(String line) throws IOException {
        ByteBuffer out = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
        while (out.hasRemaining()) channel.write(out);
        List<String> reply = new ArrayList<>();
        String l;
        do {
            l = in.readLine();
            if (l == null) throw new IOException("control socket closed");
            reply.add(l);
        } while (l.startsWith("L "));
        return reply;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
