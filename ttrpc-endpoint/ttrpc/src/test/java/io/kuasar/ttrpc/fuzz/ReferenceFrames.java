package io.kuasar.ttrpc.fuzz;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The ttrpc framing as the protocol states it, written plainly as the oracle of the fuzz targets: a 10-byte header
 * (length u32 BE, stream u32 BE, type u8 in 1..3, flags u8), then the payload. A frame over the limit is skipped
 * and reported; an unknown type ends the stream. Each event knows the offset of the byte that completes it.
 */
public final class ReferenceFrames {
    public enum Kind { FRAME, OVERSIZED, CORRUPT }

    /** One thing the decoder must emit; {@code end} is the offset just past the byte that completes it. */
    public record Event(Kind kind, int type, int flags, int streamId, long length, byte[] payload, int end) {
        @Override
        public String toString() {
            return kind + "(type=" + type + ", flags=" + flags + ", stream=" + Integer.toUnsignedString(streamId)
                    + ", length=" + length + ", end=" + end + ")";
        }
    }

    private ReferenceFrames() {
    }

    /** Every event of {@code stream}, up to and including a CORRUPT one. */
    public static List<Event> split(byte[] stream, long maxPayload) {
        List<Event> events = new ArrayList<>();
        int pos = 0;
        while (stream.length - pos >= 10) {
            long length = u32(stream, pos);
            int streamId = (int) u32(stream, pos + 4);
            int type = stream[pos + 8] & 0xFF;
            int flags = stream[pos + 9] & 0xFF;
            if (type < 1 || type > 3) {
                events.add(new Event(Kind.CORRUPT, type, flags, streamId, length, null, pos + 10));
                return events;
            }
            if (length > maxPayload) {
                if (stream.length - pos - 10 < length) {
                    return events; // the rest of it never came
                }
                pos += 10 + (int) length;
                events.add(new Event(Kind.OVERSIZED, type, flags, streamId, length, null, pos));
                continue;
            }
            if (stream.length - pos - 10 < length) {
                return events;
            }
            byte[] payload = Arrays.copyOfRange(stream, pos + 10, pos + 10 + (int) length);
            pos += 10 + (int) length;
            events.add(new Event(Kind.FRAME, type, flags, streamId, length, payload, pos));
        }
        return events;
    }

    public static long u32(byte[] b, int at) {
        return (b[at] & 0xFFL) << 24 | (b[at + 1] & 0xFFL) << 16 | (b[at + 2] & 0xFFL) << 8 | (b[at + 3] & 0xFFL);
    }

    /** A frame as bytes (for seeds and tests). */
    public static byte[] frame(int type, int flags, int streamId, byte[] payload) {
        byte[] f = new byte[10 + payload.length];
        int n = payload.length;
        f[0] = (byte) (n >>> 24);
        f[1] = (byte) (n >>> 16);
        f[2] = (byte) (n >>> 8);
        f[3] = (byte) n;
        f[4] = (byte) (streamId >>> 24);
        f[5] = (byte) (streamId >>> 16);
        f[6] = (byte) (streamId >>> 8);
        f[7] = (byte) streamId;
        f[8] = (byte) type;
        f[9] = (byte) flags;
        System.arraycopy(payload, 0, f, 10, n);
        return f;
    }
}
