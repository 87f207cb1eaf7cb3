package io.kuasar.ttrpc;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;

/**
 * One decoded (or to-be-encoded) ttrpc frame. Reference counted like any Netty {@link io.netty.buffer.ByteBufHolder}:
 * whoever consumes it releases it.
 */
final class Frame extends DefaultByteBufHolder {
    private final FrameType type;
    private final int flags;
    private final int streamId;

    public Frame(FrameType type, int flags, int streamId, ByteBuf payload) {
        super(payload);
        if (type == null) {
            throw new NullPointerException("type");
        }
        this.type = type;
        this.flags = flags;
        this.streamId = streamId;
    }

    public FrameType type() {
        return type;
    }

    public int flags() {
        return flags;
    }

    public boolean hasFlag(int flag) {
        return FrameFlags.isSet(flags, flag);
    }

    /** Unsigned on the wire; see {@link Integer#toUnsignedString(int)}. */
    public int streamId() {
        return streamId;
    }

    /** The header this frame is written with: its length is the payload's readable bytes. */
    public FrameHeader header() {
        return new FrameHeader(content().readableBytes(), streamId, type, flags);
    }

    @Override
    public Frame replace(ByteBuf content) {
        return new Frame(type, flags, streamId, content);
    }

    @Override
    public Frame copy() {
        return replace(content().copy());
    }

    @Override
    public Frame duplicate() {
        return replace(content().duplicate());
    }

    @Override
    public Frame retainedDuplicate() {
        return replace(content().retainedDuplicate());
    }

    @Override
    public Frame retain() {
        super.retain();
        return this;
    }

    @Override
    public Frame retain(int increment) {
        super.retain(increment);
        return this;
    }

    @Override
    public Frame touch() {
        super.touch();
        return this;
    }

    @Override
    public Frame touch(Object hint) {
        super.touch(hint);
        return this;
    }

    @Override
    public String toString() {
        return header().toString();
    }
}
