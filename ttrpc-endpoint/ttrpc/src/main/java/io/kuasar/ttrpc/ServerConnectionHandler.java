package io.kuasar.ttrpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.kuasar.ttrpc.proto.KeyValue;
import io.kuasar.ttrpc.proto.Request;
import io.kuasar.ttrpc.proto.Response;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.collection.IntObjectMap;
import io.netty.util.concurrent.ScheduledFuture;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import static java.lang.System.Logger.Level.DEBUG;
import static java.lang.System.Logger.Level.WARNING;

/**
 * The server side of one connection: checks stream ids, decodes requests, runs handlers on the executor and
 * writes their answers in completion order.
 *
 * <p>All fields are touched only on the channel's event loop; handler results hop back onto it through
 * {@link #answerLater}. That single thread is what makes "answer once" simple: whoever removes the stream from
 * {@link #inFlight} first (the handler's result, its deadline, or a protocol error) answers, and the other is
 * dropped.
 */
final class ServerConnectionHandler extends ChannelInboundHandlerAdapter {
    private static final System.Logger LOG = System.getLogger(ServerConnectionHandler.class.getName());
    /** Calls one connection may have in flight; containerd has a few per container (a Wait, a State, a Kill). */
    static final int MAX_IN_FLIGHT = 256;
    /** Protocol errors are a peer's doing: one line a second at most, whatever it sends. */
    private static final LogLimit PEER_ERRORS = new LogLimit(1000);

    private final ConnectionInfo connection;
    private final MethodRegistry registry;
    private final Executor handlerExecutor;
    private final ConnectionListener listener;
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    /** Requests whose answer is still owed, by stream id. The value is the deadline timer, or null. */
    private final IntObjectMap<ScheduledFuture<?>> inFlight = new IntObjectHashMap<>();
    /** Highest request stream id seen (unsigned); Go's client and server require ids to increase. */
    private long lastRequestStreamId;
    private ChannelHandlerContext ctx;

    ServerConnectionHandler(ConnectionInfo connection, MethodRegistry registry, Executor handlerExecutor,
                            ConnectionListener listener) {
        this.connection = connection;
        this.registry = registry;
        this.handlerExecutor = handlerExecutor;
        this.listener = listener;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        LOG.log(DEBUG, "ttrpc connection {0} opened on {1} (peer pid {2})",
                connection.id(), connection.socket(), connection.peerPid());
        notifyListener(true);
        super.channelActive(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        for (ScheduledFuture<?> timer : inFlight.values()) {
            if (timer != null) {
                timer.cancel(false);
            }
        }
        inFlight.clear(); // answers still running are dropped when they arrive
        closed.complete(null);
        LOG.log(DEBUG, "ttrpc connection {0} on {1} closed", connection.id(), connection.socket());
        notifyListener(false);
        super.channelInactive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof Frame) {
                onFrame((Frame) msg);
            } else if (msg instanceof OversizedFrame) {
                OversizedFrame oversized = (OversizedFrame) msg;
                String more = PEER_ERRORS.allow();
                if (more != null) {
                    LOG.log(WARNING, "ttrpc connection {0} on {1}: discarded {2}{3}",
                            connection.id(), connection.socket(), oversized.header(), more);
                }
                writeResponse(oversized.streamId(), oversized.toStatus(), ByteString.EMPTY);
            } else {
                ctx.fireChannelRead(ReferenceCountUtil.retain(msg));
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    /**
     * Backpressure: while the answers to this peer pile up unread (the channel is above its write-buffer high
     * water mark), its requests are not read either, so a peer that never reads cannot make the node buffer more.
     */
    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        boolean writable = ctx.channel().isWritable();
        ctx.channel().config().setAutoRead(writable);
        if (writable) {
            ctx.read();
        } else {
            LOG.log(DEBUG, "ttrpc connection {0} on {1}: answers unread by the peer; reading paused",
                    connection.id(), connection.socket());
        }
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            LOG.log(DEBUG, "ttrpc connection " + connection.id() + " on " + connection.socket() + ": I/O error", cause);
        } else {
            String more = PEER_ERRORS.allow();
            if (more != null) {
                LOG.log(WARNING, "ttrpc connection " + connection.id() + " on " + connection.socket()
                        + ": protocol error, closing it: " + cause + more);
            }
        }
        ctx.close();
    }

    private void onFrame(Frame frame) {
        switch (frame.type()) {
            case REQUEST:
                onRequest(frame);
                break;
            case DATA:
                onData(frame);
                break;
            default:
                // A server never receives responses. Go's server ignores them; ignored, a peer could send them
                // without end and fill the node's log with this line, so the connection is closed instead.
                String more = PEER_ERRORS.allow();
                if (more != null) {
                    LOG.log(WARNING, "ttrpc connection {0} on {1}: a client sent {2}; closing the connection{3}",
                            connection.id(), connection.socket(), frame, more);
                }
                ctx.close();
        }
    }

    private void onRequest(Frame frame) {
        int streamId = frame.streamId();
        long unsignedId = Integer.toUnsignedLong(streamId);
        if ((unsignedId & 1) == 0) {
            writeResponse(streamId, TtrpcStatus.of(TtrpcCode.INVALID_ARGUMENT,
                    "stream id " + unsignedId + " is even; client-initiated streams must be odd"), ByteString.EMPTY);
            return;
        }
        if (unsignedId <= lastRequestStreamId) {
            writeResponse(streamId, TtrpcStatus.of(TtrpcCode.INVALID_ARGUMENT, "stream id " + unsignedId
                    + " is not above the last one (" + lastRequestStreamId + "); ids cannot be reused"), ByteString.EMPTY);
            return;
        }
        lastRequestStreamId = unsignedId;

        Request request;
        try {
            request = Payloads.parse(Request.parser(), frame.content());
        } catch (InvalidProtocolBufferException e) {
            // The framing was fine but the content is not ttrpc: we cannot trust anything else this peer sends.
            String more = PEER_ERRORS.allow();
            if (more != null) {
                LOG.log(WARNING, "ttrpc connection " + connection.id() + " on " + connection.socket() + ": stream "
                        + unsignedId + " carries no valid request, closing the connection: " + e.getMessage() + more);
            }
            ctx.close();
            return;
        }
        if (frame.hasFlag(FrameFlags.REMOTE_OPEN)) {
            writeResponse(streamId, TtrpcStatus.of(TtrpcCode.UNIMPLEMENTED, "client streaming (" + request.getService()
                    + "/" + request.getMethod() + ") is not supported by this server"), ByteString.EMPTY);
            return;
        }
        MethodHandler handler;
        try {
            handler = registry.lookup(request.getService(), request.getMethod());
        } catch (TtrpcException e) {
            writeResponse(streamId, e.status(), ByteString.EMPTY);
            return;
        }
        long timeoutNanos = request.getTimeoutNano();
        if (timeoutNanos < 0) { // the caller's deadline passed before it sent the request
            writeResponse(streamId, deadlineExceeded(request), ByteString.EMPTY);
            return;
        }
        if (inFlight.size() >= MAX_IN_FLIGHT) {
            // A peer that only sends (calls it never lets finish, or answers it never reads) would otherwise make
            // this node hold an unbounded number of calls for it.
            writeResponse(streamId, TtrpcStatus.of(TtrpcCode.RESOURCE_EXHAUSTED, "connection " + connection.id()
                    + " has " + MAX_IN_FLIGHT + " calls in flight already; " + request.getMethod() + " refused"),
                    ByteString.EMPTY);
            return;
        }
        dispatch(streamId, request, handler, timeoutNanos);
    }

    private void dispatch(int streamId, Request request, MethodHandler handler, long timeoutNanos) {
        RequestContext context = new RequestContext(request.getService(), request.getMethod(), streamId,
                metadataOf(request), timeoutNanos, connection, closed);
        ScheduledFuture<?> timer = null;
        if (timeoutNanos > 0) {
            TtrpcStatus expired = deadlineExceeded(request);
            timer = ctx.executor().schedule(() -> answer(streamId, expired, ByteString.EMPTY),
                    timeoutNanos, TimeUnit.NANOSECONDS);
        }
        inFlight.put(streamId, timer);
        ByteString payload = request.getPayload();
        try {
            handlerExecutor.execute(() -> invoke(handler, context, payload));
        } catch (RejectedExecutionException e) {
            boolean stopping = handlerExecutor instanceof java.util.concurrent.ExecutorService es && es.isShutdown();
            answer(streamId, stopping ? TtrpcStatus.of(TtrpcCode.UNAVAILABLE, "server is not accepting requests")
                    : TtrpcStatus.of(TtrpcCode.RESOURCE_EXHAUSTED, "the node is running as many calls as it"
                            + " takes; " + request.getMethod() + " refused, try again"), ByteString.EMPTY);
        }
    }

    /** Runs on the handler executor. */
    private void invoke(MethodHandler handler, RequestContext context, ByteString payload) {
        long begun = System.nanoTime();
        LOG.log(DEBUG, () -> "ttrpc connection " + connection.id() + " stream "
                + Integer.toUnsignedString(context.streamId()) + ": " + context.method() + " begins");
        CompletionStage<?> stage;
        try {
            stage = handler.handle(context, payload);
        } catch (Throwable t) {
            logEnd(context, begun, t);
            answerLater(context.streamId(), TtrpcException.statusOf(t), ByteString.EMPTY);
            return;
        }
        if (stage == null) {
            answerLater(context.streamId(), TtrpcStatus.of(TtrpcCode.INTERNAL,
                    "handler of " + context.service() + "/" + context.method() + " returned no stage"), ByteString.EMPTY);
            return;
        }
        stage.whenComplete((result, failure) -> {
            logEnd(context, begun, failure);
            if (failure != null) {
                answerLater(context.streamId(), TtrpcException.statusOf(failure), ByteString.EMPTY);
                return;
            }
            try {
                answerLater(context.streamId(), TtrpcStatus.ok(), Payloads.fromHandlerResult(result));
            } catch (TtrpcException e) {
                answerLater(context.streamId(), e.status(), ByteString.EMPTY);
            }
        });
    }

    private void logEnd(RequestContext context, long begun, Throwable failure) {
        LOG.log(DEBUG, () -> "ttrpc connection " + connection.id() + " stream "
                + Integer.toUnsignedString(context.streamId()) + ": " + context.method() + " ends after "
                + (System.nanoTime() - begun) / 1_000_000 + " ms: "
                + (failure == null ? "OK" : TtrpcException.statusOf(failure)));
    }

    /** Any thread: serializes the answer here, off the event loop, then hands it to the loop. */
    private void answerLater(int streamId, TtrpcStatus status, ByteString payload) {
        ByteBuf response = encodeResponse(streamId, status, payload);
        try {
            ctx.executor().execute(() -> {
                if (inFlight.containsKey(streamId)) {
                    finish(streamId);
                    write(streamId, response);
                } else {
                    response.release(); // deadline already answered, or connection gone
                }
            });
        } catch (RejectedExecutionException e) {
            response.release(); // the event loop is shutting down with the server
        }
    }

    /** Event loop: answers a stream still in flight; a stream answered already stays answered. */
    private void answer(int streamId, TtrpcStatus status, ByteString payload) {
        if (inFlight.containsKey(streamId)) {
            finish(streamId);
            writeResponse(streamId, status, payload);
        }
    }

    private void finish(int streamId) {
        ScheduledFuture<?> timer = inFlight.remove(streamId);
        if (timer != null) {
            timer.cancel(false);
        }
    }

    private void onData(Frame frame) {
        // Streaming is not implemented: answer the stream with an error so the peer does not hang, and drop the
        // unary call it may belong to (its handler's answer would no longer make sense to the peer).
        int streamId = frame.streamId();
        if (inFlight.containsKey(streamId)) {
            answer(streamId, TtrpcStatus.of(TtrpcCode.UNIMPLEMENTED,
                    "data frames (streaming) are not supported by this server"), ByteString.EMPTY);
        } else {
            writeResponse(streamId, TtrpcStatus.of(TtrpcCode.INVALID_ARGUMENT,
                    "stream " + Integer.toUnsignedString(streamId) + " is not active"), ByteString.EMPTY);
        }
    }

    private void writeResponse(int streamId, TtrpcStatus status, ByteString payload) {
        write(streamId, encodeResponse(streamId, status, payload));
    }

    private void write(int streamId, ByteBuf response) {
        if (!ctx.channel().isActive()) {
            response.release(); // the client is gone; nobody to tell
            return;
        }
        ctx.writeAndFlush(new Frame(FrameType.RESPONSE, 0, streamId, response))
                .addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
    }

    private ByteBuf encodeResponse(int streamId, TtrpcStatus status, ByteString payload) {
        Response response = Response.newBuilder().setStatus(status.toProto()).setPayload(payload).build();
        int size = response.getSerializedSize();
        if (size > FrameHeader.MAX_PAYLOAD_LENGTH) {
            // The client would discard it anyway; tell it why instead of dropping the connection.
            LOG.log(WARNING, "ttrpc connection {0}: response on stream {1} is {2} bytes, over the limit",
                    connection.id(), Integer.toUnsignedString(streamId), size);
            response = Response.newBuilder().setStatus(TtrpcStatus.of(TtrpcCode.RESOURCE_EXHAUSTED,
                    Payloads.tooLarge("response", size)).toProto()).build();
        }
        return Payloads.toByteBuf(response);
    }

    private static TtrpcStatus deadlineExceeded(Request request) {
        return TtrpcStatus.of(TtrpcCode.DEADLINE_EXCEEDED, request.getService() + "/" + request.getMethod()
                + " did not complete within its timeout of " + request.getTimeoutNano() + " ns");
    }

    private static Map<String, List<String>> metadataOf(Request request) {
        if (request.getMetadataCount() == 0) {
            return Map.of();
        }
        Map<String, List<String>> metadata = new LinkedHashMap<>();
        for (KeyValue kv : request.getMetadataList()) {
            metadata.computeIfAbsent(kv.getKey(), k -> new ArrayList<>(1)).add(kv.getValue());
        }
        metadata.replaceAll((k, values) -> Collections.unmodifiableList(values));
        return Collections.unmodifiableMap(metadata);
    }

    private void notifyListener(boolean opened) {
        try {
            if (opened) {
                listener.connectionOpened(connection);
            } else {
                listener.connectionClosed(connection);
            }
        } catch (RuntimeException e) {
            LOG.log(WARNING, "ttrpc connection listener failed", e);
        }
    }
}
