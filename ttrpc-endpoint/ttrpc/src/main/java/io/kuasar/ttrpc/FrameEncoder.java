package io.kuasar.ttrpc;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import io.netty.handler.codec.TooLongFrameException;

import java.util.List;

/**
 * Writes a {@link Frame} as its 10-byte header followed by the payload buffer itself (no copy: the channel
 * gathers both in one writev).
 *
 * <p>A payload over the limit is refused: the write fails with an {@link io.netty.handler.codec.EncoderException}
 * caused by a {@link TooLongFrameException}, and nothing reaches the wire, because the peer would only discard it.
 * Callers that want to answer RESOURCE_EXHAUSTED instead check the size before writing.
 */
@ChannelHandler.Sharable
final class FrameEncoder extends MessageToMessageEncoder<Frame> {
    private final int maxPayloadLength;

    public FrameEncoder() {
        this(FrameHeader.MAX_PAYLOAD_LENGTH);
    }

    public FrameEncoder(int maxPayloadLength) {
        super(Frame.class);
        this.maxPayloadLength = maxPayloadLength;
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Frame frame, List<Object> out) throws TooLongFrameException {
        ByteBuf payload = frame.content();
        int length = payload.readableBytes();
        if (length > maxPayloadLength) {
            throw new TooLongFrameException("ttrpc " + frame.type() + " payload of " + length
                    + " bytes exceeds the maximum of " + maxPayloadLength + " (stream "
                    + Integer.toUnsignedString(frame.streamId()) + ")");
        }
        ByteBuf header = ctx.alloc().buffer(FrameHeader.LENGTH);
        frame.header().writeTo(header);
        out.add(header);
        if (length > 0) {
            out.add(payload.retain()); // the encoder releases the frame after this method
        }
    }
}
