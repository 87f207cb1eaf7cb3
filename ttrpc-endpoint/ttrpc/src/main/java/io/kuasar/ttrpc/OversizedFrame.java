package io.kuasar.ttrpc;

/**
 * Emitted by {@link FrameDecoder} in place of a frame whose payload exceeded the limit. The payload bytes were
 * skipped, never buffered, so the connection stays in sync; the receiver answers (or fails) that one stream
 * with RESOURCE_EXHAUSTED, as Go's ttrpc does.
 *
 * @param header       the header as received
 * @param maxPayloadLength the limit it broke
 */
record OversizedFrame(FrameHeader header, int maxPayloadLength) {
    public int streamId() {
        return header.streamId();
    }

    /** The status to report for this stream; names both sizes like Go's ttrpc does. */
    public TtrpcStatus toStatus() {
        return TtrpcStatus.of(TtrpcCode.RESOURCE_EXHAUSTED, "message length " + header.payloadLength()
                + " exceeds maximum message size of " + maxPayloadLength);
    }
}
