package io.kuasar.ttrpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.kuasar.ttrpc.proto.Response;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.collection.IntObjectMap;
import io.netty.util.concurrent.ScheduledFuture;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static java.lang.System.Logger.Level.DEBUG;
import static java.lang.System.Logger.Level.WARNING;

/**
 * The client side of one connection: numbers calls with odd, increasing stream ids, matches responses to
 * them, and fails what is pending when the connection goes away.
 *
 * <p>Everything here runs on the channel's event loop. Allocating the stream id and writing the frame in the
 * same event-loop task is what keeps ids increasing on the wire, which Go's server insists on.
 */
final class ClientConnectionHandler extends ChannelInboundHandlerAdapter {
    private static final System.Logger LOG = System.getLogger(ClientConnectionHandler.class.getName());
    private static final long MAX_STREAM_ID = 0xFFFF_FFFFL;

    /** A call waiting for its response. */
    static final class PendingCall {
        final String name;
        final ByteBuf request;
        final long timeoutNanos;
        final CompletableFuture<ByteString> result = new CompletableFuture<>();
        ScheduledFuture<?> timer;

        PendingCall(String name, ByteBuf request, long timeoutNanos) {
            this.name = name;
            this.request = request;
            this.timeoutNanos = timeoutNanos;
        }

        void fail(TtrpcStatus status) {
            result.completeExceptionally(status.asException());
        }
    }

    private final Path socket;
    /** Answers to calls not waiting that a connection tolerates (see {@link #expected}). */
    private static final int MAX_STRAY_ANSWERS = 1024;
    private final IntObjectMap<PendingCall> pending = new IntObjectHashMap<>();
    private int strayAnswers;
    private long nextStreamId = firstStreamId();
    private boolean inactive;
    private ChannelHandlerContext ctx;

    /**
     * Where a connection's stream ids start: a random odd number below 2^31, leaving over 10^9 calls before they run
     * out. On a channel that outlives its connections (a VM's virtio-serial port, whose far end may miss a quick
     * reconnect), the peer may still answer calls of the previous connection; from 1 on, those answers went to this
     * connection's calls of the same numbers (a guest agent's answer to an old exec's Wait completed a new Wait of
     * another process: a container reported exited while it ran).
     */
    static long firstStreamId() {
        return 1 + 2L * ThreadLocalRandom.current().nextInt(1 << 30);
    }

    ClientConnectionHandler(Path socket) {
        this.socket = socket;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /** Event loop: sends the call, or fails it at once when that is no longer possible. */
    void start(PendingCall call) {
        if (inactive || !ctx.channel().isActive()) {
            call.request.release();
            call.fail(TtrpcStatus.of(TtrpcCode.UNAVAILABLE, "ttrpc connection to " + socket + " is closed"));
            return;
        }
        if (nextStreamId > MAX_STREAM_ID) {
            call.request.release();
            call.fail(TtrpcStatus.of(TtrpcCode.UNAVAILABLE, "ttrpc connection to " + socket
                    + " has used up its stream ids; reconnect"));
            return;
        }
        int streamId = (int) nextStreamId;
        nextStreamId += 2;
        pending.put(streamId, call);
        if (call.timeoutNanos > 0) {
            call.timer = ctx.executor().schedule(() -> expire(streamId), call.timeoutNanos, TimeUnit.NANOSECONDS);
        }
        ctx.writeAndFlush(new Frame(FrameType.REQUEST, 0, streamId, call.request)).addListener(written -> {
            if (!written.isSuccess()) {
                complete(streamId, TtrpcStatus.of(TtrpcCode.UNAVAILABLE, "cannot send " + call.name + " to "
                        + socket + ": " + written.cause()), ByteString.EMPTY);
            }
        });
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof Frame) {
                Frame frame = (Frame) msg;
                if (expected(frame.streamId(), frame.type().toString())) {
                    onFrame(frame);
                }
            } else if (msg instanceof OversizedFrame) {
                OversizedFrame oversized = (OversizedFrame) msg;
                if (expected(oversized.streamId(), "an oversized frame")) {
                    complete(oversized.streamId(), oversized.toStatus(), ByteString.EMPTY);
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    /**
     * False, having closed the connection, once the peer has sent more than {@link #MAX_STRAY_ANSWERS} answers to
     * calls that are not waiting: a peer flooding answers (a hostile guest agent) would otherwise keep the event loop
     * it shares with other connections busy for ever. A few are normal: answers to calls that timed out here, and,
     * on a channel that outlives its connections (a VM's virtio-serial port), answers the peer wrote for the
     * previous connection, whose stream ids this one may not have reached yet.
     */
    private boolean expected(int streamId, String what) {
        if (!pending.containsKey(streamId) && ++strayAnswers > MAX_STRAY_ANSWERS) {
            LOG.log(WARNING, "ttrpc connection to {0}: more than {1} answers to calls not waiting (the last, {2} for"
                    + " stream {3}); closing", socket, MAX_STRAY_ANSWERS, what, Integer.toUnsignedString(streamId));
            ctx.close();
            return false;
        }
        return true;
    }

    private void onFrame(Frame frame) {
        int streamId = frame.streamId();
        switch (frame.type()) {
            case RESPONSE:
                Response response;
                try {
                    response = Payloads.parse(Response.parser(), frame.content());
                } catch (InvalidProtocolBufferException e) {
                    // Not a ttrpc server, or a corrupted stream: nothing after this can be trusted.
                    LOG.log(WARNING, "ttrpc connection to " + socket + ": invalid response on stream "
                            + Integer.toUnsignedString(streamId) + ", closing", e);
                    complete(streamId, TtrpcStatus.of(TtrpcCode.INTERNAL, "invalid ttrpc response: "
                            + e.getMessage()), ByteString.EMPTY);
                    ctx.close();
                    return;
                }
                // Go's server always sets a status; a missing one reads as the default, OK, as in Go's client.
                complete(streamId, TtrpcStatus.fromProto(response.getStatus()), response.getPayload());
                break;
            case DATA:
                complete(streamId, TtrpcStatus.of(TtrpcCode.UNIMPLEMENTED,
                        "server sent a data frame; streaming responses are not supported"), ByteString.EMPTY);
                break;
            default:
                LOG.log(WARNING, "ttrpc connection to {0}: ignoring unexpected {1}", socket, frame);
        }
    }

    private void expire(int streamId) {
        PendingCall call = pending.get(streamId);
        if (call != null) {
            complete(streamId, TtrpcStatus.of(TtrpcCode.DEADLINE_EXCEEDED, call.name + " timed out after "
                    + call.timeoutNanos / 1_000_000 + " ms"), ByteString.EMPTY);
        }
    }

    private void complete(int streamId, TtrpcStatus status, ByteString payload) {
        PendingCall call = pending.remove(streamId);
        if (call == null) {
            // Typically the answer to a call that already timed out here.
            LOG.log(DEBUG, "ttrpc connection to {0}: {1} for inactive stream {2} dropped",
                    socket, status, Integer.toUnsignedString(streamId));
            return;
        }
        if (call.timer != null) {
            call.timer.cancel(false);
        }
        if (status.isOk()) {
            call.result.complete(payload);
        } else {
            call.fail(status);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        inactive = true;
        List<Integer> streams = new ArrayList<>(pending.keySet());
        TtrpcStatus closed = TtrpcStatus.of(TtrpcCode.UNAVAILABLE, "ttrpc connection to " + socket + " closed");
        for (int streamId : streams) {
            complete(streamId, closed, ByteString.EMPTY);
        }
        super.channelInactive(ctx);
    }

    /**
     * Fails what is still pending once the event loop has terminated. Needed when the group is shut down under a
     * live connection (e.g. a client sharing {@link TtrpcServer#eventLoopGroup()} when the server closes): Netty
     * then closes the channel but can no longer run {@link #channelInactive}. Runs on another thread, which is safe
     * only because the loop thread that owned this state has ended.
     */
    void failPendingAfterTermination() {
        inactive = true;
        TtrpcStatus closed = TtrpcStatus.of(TtrpcCode.UNAVAILABLE, "ttrpc connection to " + socket
                + " closed: its event loop was shut down");
        for (PendingCall call : new ArrayList<>(pending.values())) {
            call.fail(closed);
        }
        pending.clear();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            LOG.log(DEBUG, "ttrpc connection to " + socket + ": I/O error", cause);
        } else {
            LOG.log(WARNING, "ttrpc connection to " + socket + ": protocol error, closing it", cause);
        }
        ctx.close();
    }
}
