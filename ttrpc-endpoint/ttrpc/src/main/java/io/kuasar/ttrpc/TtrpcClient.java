package io.kuasar.ttrpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.kuasar.ttrpc.proto.KeyValue;
import io.kuasar.ttrpc.proto.Request;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GenericFutureListener;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;

/**
 * A ttrpc client on one Unix socket connection. Thread-safe; any number of calls may be in flight, each on its
 * own stream. Every returned future fails with a {@link TtrpcException}:
 * <ul>
 *   <li>the server's status for a failed call (e.g. NOT_FOUND, UNIMPLEMENTED);</li>
 *   <li>DEADLINE_EXCEEDED when the timeout passes first;</li>
 *   <li>RESOURCE_EXHAUSTED when the request is over 4 MiB (nothing is sent);</li>
 *   <li>UNAVAILABLE when the connection closes before the answer, or is closed already.</li>
 * </ul>
 * The connection is never re-established; {@link #closeFuture()} tells when a new client is needed.
 */
public final class TtrpcClient implements AutoCloseable {
    private final Path socket;
    private final Channel channel;
    private final ClientConnectionHandler handler;
    private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();

    private TtrpcClient(Path socket, Channel channel, ClientConnectionHandler handler) {
        this.socket = socket;
        this.channel = channel;
        this.handler = handler;
        // Notified on Netty's global executor, so it runs even though the loop itself is gone. Removed when the
        // channel closes: the loop outlives its connections, and each listener left on it would keep this client
        // (about 1.6 KB) for as long as the loop lives (a guest agent that keeps dropping its channel).
        GenericFutureListener<Future<Object>> loopTerminated = f -> {
            handler.failPendingAfterTermination();
            closeFuture.complete(null);
        };
        @SuppressWarnings("unchecked")
        Future<Object> termination = (Future<Object>) channel.eventLoop().terminationFuture();
        termination.addListener(loopTerminated);
        channel.closeFuture().addListener(f -> {
            termination.removeListener(loopTerminated);
            closeFuture.complete(null);
        });
    }

    /**
     * Connects using {@link TtrpcEventLoops#shared()}, for tools and tests; code in a bundle passes a group of its
     * own ({@link #connect(Path, EventLoopGroup)}), so no thread outlives the bundle. Blocks until connected.
     */
    public static TtrpcClient connect(Path socket) throws IOException {
        return connect(socket, TtrpcEventLoops.shared());
    }

    /**
     * Connects to the server at {@code socket}; blocks until connected (do not call it on an event loop).
     *
     * @param group an epoll group (see {@link TtrpcEventLoops}); the client does not shut it down
     */
    public static TtrpcClient connect(Path socket, EventLoopGroup group) throws IOException {
        try {
            return connectAsync(socket, group).join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof IOException ? (IOException) e.getCause()
                    : new IOException("cannot connect to " + socket, e.getCause());
        }
    }

    /** Connects without blocking; the future fails with an IOException. */
    public static CompletableFuture<TtrpcClient> connectAsync(Path socket, EventLoopGroup group) {
        Path path = socket.toAbsolutePath();
        ClientConnectionHandler handler = new ClientConnectionHandler(path);
        CompletableFuture<TtrpcClient> connected = new CompletableFuture<>();
        new Bootstrap()
                .group(group)
                .channel(EpollDomainSocketChannel.class)
                .handler(new ChannelInitializer<EpollDomainSocketChannel>() {
                    @Override
                    protected void initChannel(EpollDomainSocketChannel ch) {
                        ch.pipeline().addLast(new FrameDecoder(), new FrameEncoder(), handler);
                    }
                })
                .connect(new DomainSocketAddress(path.toString()))
                .addListener((ChannelFutureListener) f -> {
                    if (f.isSuccess()) {
                        connected.complete(new TtrpcClient(path, f.channel(), handler));
                    } else {
                        connected.completeExceptionally(new IOException("cannot connect to " + path, f.cause()));
                    }
                });
        return connected;
    }

    /**
     * Calls a unary method with an already serialized request.
     *
     * @param metadata sent as request metadata, e.g. {@code containerd-namespace-ttrpc}; may be empty
     * @param timeout  sent to the server as {@code timeout_nano} and enforced here; null or zero for none
     * @return the serialized response message
     */
    public CompletableFuture<ByteString> call(String service, String method, ByteString request,
                                              Map<String, String> metadata, Duration timeout) {
        long timeoutNanos = timeout == null ? 0 : Math.max(timeout.toNanos(), 0);
        Request.Builder envelope = Request.newBuilder()
                .setService(service)
                .setMethod(method)
                .setPayload(request)
                .setTimeoutNano(timeoutNanos);
        if (metadata != null) {
            metadata.forEach((key, value) -> envelope.addMetadata(KeyValue.newBuilder().setKey(key).setValue(value)));
        }
        Request built = envelope.build();
        String name = service + "/" + method;
        int size = built.getSerializedSize();
        if (size > FrameHeader.MAX_PAYLOAD_LENGTH) {
            return CompletableFuture.failedFuture(new TtrpcException(TtrpcCode.RESOURCE_EXHAUSTED,
                    Payloads.tooLarge("request " + name, size)));
        }
        ClientConnectionHandler.PendingCall call =
                new ClientConnectionHandler.PendingCall(name, Payloads.toByteBuf(built), timeoutNanos);
        try {
            channel.eventLoop().execute(() -> handler.start(call));
        } catch (RejectedExecutionException e) {
            call.request.release();
            call.fail(TtrpcStatus.of(TtrpcCode.UNAVAILABLE, "event loop of " + socket + " is shut down"));
        }
        return call.result;
    }

    /** Calls a unary method; the request message is serialized here. */
    public CompletableFuture<ByteString> call(String service, String method, MessageLite request,
                                              Map<String, String> metadata, Duration timeout) {
        return call(service, method, request.toByteString(), metadata, timeout);
    }

    /**
     * Calls a unary method and parses the response with {@code responseParser}; a response that does not parse
     * fails the future with INTERNAL.
     */
    public <T> CompletableFuture<T> call(String service, String method, MessageLite request,
                                         Map<String, String> metadata, Duration timeout, Parser<T> responseParser) {
        return call(service, method, request, metadata, timeout).thenApply(bytes -> {
            try {
                return responseParser.parseFrom(bytes);
            } catch (InvalidProtocolBufferException e) {
                throw new TtrpcException(TtrpcCode.INTERNAL, "cannot parse response of " + service + "/" + method
                        + ": " + e.getMessage(), e);
            }
        });
    }

    public Path socket() {
        return socket;
    }

    public boolean isOpen() {
        return channel.isActive();
    }

    /** Completes once the connection is closed, by either side. */
    public CompletionStage<Void> closeFuture() {
        return closeFuture.minimalCompletionStage();
    }

    /** Closes the connection; pending calls fail with UNAVAILABLE. Idempotent; does not block. */
    @Override
    public void close() {
        channel.close();
    }

    @Override
    public String toString() {
        return "TtrpcClient(" + socket + (isOpen() ? ")" : ", closed)");
    }
}
