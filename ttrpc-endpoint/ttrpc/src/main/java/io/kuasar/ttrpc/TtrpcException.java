package io.kuasar.ttrpc;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * A failed call, carrying the {@link TtrpcStatus} that travels on the wire.
 *
 * <p>Handlers throw (or complete exceptionally with) this to choose the code the caller sees; any other exception
 * becomes INTERNAL. Every future returned by {@link TtrpcClient} fails with this type.
 */
public class TtrpcException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient TtrpcStatus status;

    public TtrpcException(TtrpcStatus status) {
        this(status, null);
    }

    public TtrpcException(TtrpcStatus status, Throwable cause) {
        super(status.toString(), cause);
        if (status.isOk()) {
            throw new IllegalArgumentException("a TtrpcException needs a non-OK status");
        }
        this.status = status;
    }

    public TtrpcException(TtrpcCode code, String message) {
        this(TtrpcStatus.of(code, message));
    }

    public TtrpcException(TtrpcCode code, String message, Throwable cause) {
        this(TtrpcStatus.of(code, message), cause);
    }

    public TtrpcStatus status() {
        return status;
    }

    public TtrpcCode code() {
        return status.grpcCode();
    }

    /**
     * The status a failure is reported with: a {@link TtrpcException}'s own, otherwise INTERNAL with the
     * exception's message. Wrappers added by futures ({@link CompletionException}, {@link ExecutionException})
     * are looked through.
     */
    public static TtrpcStatus statusOf(Throwable failure) {
        Throwable t = failure;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof TtrpcException) {
            return ((TtrpcException) t).status();
        }
        String message = t.getMessage();
        return TtrpcStatus.of(TtrpcCode.INTERNAL, message != null ? message : t.getClass().getName());
    }

    /** {@code failure} itself when it already is a TtrpcException (after unwrapping), else one built by {@link #statusOf}. */
    public static TtrpcException from(Throwable failure) {
        Throwable t = failure;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t instanceof TtrpcException ? (TtrpcException) t : new TtrpcException(statusOf(t), t);
    }
}
