package io.kuasar.ttrpc;

import io.netty.buffer.ByteBuf;

/**
 * The fixed 10-byte header in front of every ttrpc frame: payload length (uint32 BE), stream id (uint32 BE),
 * type (uint8), flags (uint8).
 *
 * <p>Both 32-bit fields are unsigned on the wire. The length is held as a {@code long} so an oversized value
 * can be reported exactly; the stream id stays an {@code int} (compare with {@link Integer#compareUnsigned}).
 *
 * @param payloadLength bytes following the header
 * @param streamId      the call this frame belongs to; clients open streams with odd, increasing ids
 * @param type          the frame type
 * @param flags         {@link FrameFlags} bits
 */
record FrameHeader(long payloadLength, int streamId, FrameType type, int flags) {
    /** Size of the header on the wire. */
    public static final int LENGTH = 10;
    /** Largest payload either side accepts; Go's ttrpc uses the same default (4 &lt;&lt; 20). */
    public static final int MAX_PAYLOAD_LENGTH = 4 << 20;

    public FrameHeader {
        if (payloadLength < 0 || payloadLength > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("payload length out of uint32 range: " + payloadLength);
        }
        if (type == null) {
            throw new NullPointerException("type");
        }
        if ((flags & ~0xFF) != 0) {
            throw new IllegalArgumentException("flags out of uint8 range: " + flags);
        }
    }

    /** Writes the 10 header bytes. */
    public void writeTo(ByteBuf out) {
        out.writeInt((int) payloadLength);
        out.writeInt(streamId);
        out.writeByte(type.code());
        out.writeByte(flags);
    }

    @Override
    public String toString() {
        return type + "(stream=" + Integer.toUnsignedString(streamId) + ", length=" + payloadLength
                + ", flags=0x" + Integer.toHexString(flags) + ")";
    }
}
