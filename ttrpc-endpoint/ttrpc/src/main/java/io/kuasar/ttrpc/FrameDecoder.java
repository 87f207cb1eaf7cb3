package io.kuasar.ttrpc;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.CorruptedFrameException;

import java.util.List;

/**
 * Splits the byte stream into {@link Frame}s.
 *
 * <p>Emits, in arrival order:
 * <ul>
 *   <li>a {@link Frame} whose payload is a retained slice of the input (no copy);</li>
 *   <li>an {@link OversizedFrame} for a frame whose declared length exceeds the limit. Its payload is skipped as
 *       it streams in, never accumulated, so a peer cannot make us buffer more than the limit, and the connection
 *       stays usable (Go's ttrpc discards such a message the same way).</li>
 * </ul>
 *
 * <p>A header with an unknown frame type means we no longer understand the peer: the decoder throws a
 * {@link CorruptedFrameException} once and then ignores all further input, so the pipeline's exception handler
 * can close the connection without being fed misaligned frames in the meantime.
 *
 * <p>Not {@code @Sharable}: it holds per-connection state.
 */
final class FrameDecoder extends ByteToMessageDecoder {
    private final int maxPayloadLength;

    /** Header of the oversized frame being skipped, or null. */
    private FrameHeader skippedHeader;
    /** Payload bytes of {@link #skippedHeader} not yet seen. */
    private long bytesLeftToSkip;
    /** Set after a protocol error: everything that follows is dropped. */
    private boolean corrupted;

    public FrameDecoder() {
        this(FrameHeader.MAX_PAYLOAD_LENGTH);
    }

    /** A smaller limit is for tests, so oversized frames can be exercised without megabytes of input. */
    public FrameDecoder(int maxPayloadLength) {
        if (maxPayloadLength < 0) {
            throw new IllegalArgumentException("maxPayloadLength: " + maxPayloadLength);
        }
        this.maxPayloadLength = maxPayloadLength;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        // ByteToMessageDecoder calls us again as long as we consume input or produce output, so each call
        // handles at most one step and returns.
        if (corrupted) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (skippedHeader != null) {
            skipOversizedPayload(in, out);
            return;
        }
        if (in.readableBytes() < FrameHeader.LENGTH) {
            return;
        }
        int start = in.readerIndex();
        long length = in.getUnsignedInt(start);
        int streamId = in.getInt(start + 4);
        int typeCode = in.getUnsignedByte(start + 8);
        int flags = in.getUnsignedByte(start + 9);

        FrameType type = FrameType.fromCode(typeCode);
        if (type == null) {
            corrupted = true;
            in.skipBytes(in.readableBytes());
            throw new CorruptedFrameException("unknown ttrpc frame type " + typeCode + " on stream "
                    + Integer.toUnsignedString(streamId));
        }
        if (length > maxPayloadLength) {
            in.skipBytes(FrameHeader.LENGTH);
            skippedHeader = new FrameHeader(length, streamId, type, flags);
            bytesLeftToSkip = length;
            skipOversizedPayload(in, out);
            return;
        }
        if (in.readableBytes() < FrameHeader.LENGTH + length) {
            return; // wait for the whole payload
        }
        in.skipBytes(FrameHeader.LENGTH);
        out.add(new Frame(type, flags, streamId, in.readRetainedSlice((int) length)));
    }

    private void skipOversizedPayload(ByteBuf in, List<Object> out) {
        int n = (int) Math.min(bytesLeftToSkip, in.readableBytes());
        in.skipBytes(n);
        bytesLeftToSkip -= n;
        if (bytesLeftToSkip == 0) {
            out.add(new OversizedFrame(skippedHeader, maxPayloadLength));
            skippedHeader = null;
        }
    }
}
