package io.kuasar.ttrpc;

/** The message type carried in byte 8 of every ttrpc frame header. */
enum FrameType {
    /** Opens a stream: payload is a {@code ttrpc.Request}. Sent by clients only. */
    REQUEST(1),
    /** Closes a stream with its final answer: payload is a {@code ttrpc.Response}. Sent by servers only. */
    RESPONSE(2),
    /** A message inside a streaming call; payload is the raw method message (see {@link FrameFlags}). */
    DATA(3);

    private final int code;

    FrameType(int code) {
        this.code = code;
    }

    /** The value on the wire. */
    public int code() {
        return code;
    }

    /** The type for a wire value, or {@code null} when the peer speaks something this version does not know. */
    public static FrameType fromCode(int code) {
        switch (code) {
            case 1: return REQUEST;
            case 2: return RESPONSE;
            case 3: return DATA;
            default: return null;
        }
    }
}
