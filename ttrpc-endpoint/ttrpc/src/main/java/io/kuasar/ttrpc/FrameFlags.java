package io.kuasar.ttrpc;

/**
 * Bits of byte 9 of the frame header. Only streaming calls use them: a plain unary request is sent with no
 * flags, and Go's server answers with none.
 */
final class FrameFlags {
    /** The sender will send nothing more on this stream. */
    public static final int REMOTE_CLOSED = 0x1;
    /** The sender will keep sending data frames (a client-streaming request). */
    public static final int REMOTE_OPEN = 0x2;
    /** The frame is empty on purpose (e.g. a bare close), as opposed to carrying an empty message. */
    public static final int NO_DATA = 0x4;

    private FrameFlags() {
    }

    public static boolean isSet(int flags, int flag) {
        return (flags & flag) == flag;
    }
}
