package io.kuasar.spi;

/** A failure with a gRPC-style status code, reported to containerd as that code and this message. */
public class SandboxException extends Exception {
    private static final long serialVersionUID = 1L;

    /** The subset of gRPC status codes drivers use; the names and numbers are gRPC's. */
    public enum Code {
        CANCELLED(1), UNKNOWN(2), INVALID_ARGUMENT(3), DEADLINE_EXCEEDED(4), NOT_FOUND(5), ALREADY_EXISTS(6),
        PERMISSION_DENIED(7), RESOURCE_EXHAUSTED(8), FAILED_PRECONDITION(9), ABORTED(10), UNIMPLEMENTED(12),
        INTERNAL(13), UNAVAILABLE(14);

        public final int value;

        Code(int value) {
            this.value = value;
        }
    }

    private final Code code;

    public SandboxException(Code code, String message) {
        super(message);
        this.code = code;
    }

    public SandboxException(Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public Code code() {
        return code;
    }

    public static SandboxException notFound(String what, String id) {
        return new SandboxException(Code.NOT_FOUND, what + " " + id + " not found");
    }

    public static SandboxException invalid(String message) {
        return new SandboxException(Code.INVALID_ARGUMENT, message);
    }

    public static SandboxException unimplemented(String operation) {
        return new SandboxException(Code.UNIMPLEMENTED, operation + " is not implemented by this driver");
    }

    public static SandboxException internal(String message, Throwable cause) {
        return new SandboxException(Code.INTERNAL, message + (cause == null ? "" : ": " + cause.getMessage()), cause);
    }
}
