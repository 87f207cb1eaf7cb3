package io.kuasar.ttrpc;

/**
 * The gRPC status codes, which ttrpc reuses unchanged (containerd maps its errdefs onto them, e.g. NOT_FOUND,
 * ALREADY_EXISTS, UNIMPLEMENTED). {@link TtrpcStatus} keeps the raw int, so codes beyond this list survive a
 * round trip.
 */
public enum TtrpcCode {
    OK(0),
    CANCELLED(1),
    UNKNOWN(2),
    INVALID_ARGUMENT(3),
    DEADLINE_EXCEEDED(4),
    NOT_FOUND(5),
    ALREADY_EXISTS(6),
    PERMISSION_DENIED(7),
    RESOURCE_EXHAUSTED(8),
    FAILED_PRECONDITION(9),
    ABORTED(10),
    OUT_OF_RANGE(11),
    UNIMPLEMENTED(12),
    INTERNAL(13),
    UNAVAILABLE(14),
    DATA_LOSS(15),
    UNAUTHENTICATED(16);

    private static final TtrpcCode[] BY_VALUE = values();

    private final int value;

    TtrpcCode(int value) {
        this.value = value;
    }

    public int value() {
        return value;
    }

    /** The code for a wire value; values gRPC does not define map to {@link #UNKNOWN}, as in grpc-go. */
    public static TtrpcCode forValue(int value) {
        return value >= 0 && value < BY_VALUE.length ? BY_VALUE[value] : UNKNOWN;
    }
}
