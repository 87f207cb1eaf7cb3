package io.kuasar.ttrpc;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** What a {@link MethodHandler} knows about the call it serves. Immutable apart from the connection state. */
public final class RequestContext {
    private final String service;
    private final String method;
    private final int streamId;
    private final Map<String, List<String>> metadata;
    private final Duration timeout;
    private final Instant deadline;
    private final long deadlineNanoTime;
    private final ConnectionInfo connection;
    private final CompletableFuture<Void> connectionClosed;

    RequestContext(String service, String method, int streamId, Map<String, List<String>> metadata,
                   long timeoutNanos, ConnectionInfo connection, CompletableFuture<Void> connectionClosed) {
        this.service = service;
        this.method = method;
        this.streamId = streamId;
        this.metadata = metadata;
        this.connection = connection;
        this.connectionClosed = connectionClosed;
        if (timeoutNanos > 0) {
            this.timeout = Duration.ofNanos(timeoutNanos);
            this.deadline = Instant.now().plus(timeout);
            this.deadlineNanoTime = System.nanoTime() + timeoutNanos;
        } else {
            this.timeout = null;
            this.deadline = null;
            this.deadlineNanoTime = 0;
        }
    }

    public String service() {
        return service;
    }

    public String method() {
        return method;
    }

    /** The stream (call) id chosen by the client; unsigned. */
    public int streamId() {
        return streamId;
    }

    /**
     * All metadata sent with the request: key to values in the order received. Keys are as the client sent them
     * (containerd sends lower case, e.g. {@code containerd-namespace-ttrpc}).
     */
    public Map<String, List<String>> metadata() {
        return metadata;
    }

    /** The first value sent for {@code key}, like Go's {@code ttrpc.GetMetadataValue}. */
    public Optional<String> metadataValue(String key) {
        List<String> values = metadata.get(key);
        return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.get(0));
    }

    /** The timeout the client set ({@code timeout_nano}); empty when it set none. */
    public Optional<Duration> timeout() {
        return Optional.ofNullable(timeout);
    }

    /** When the server stops waiting for this handler and answers DEADLINE_EXCEEDED; empty without a timeout. */
    public Optional<Instant> deadline() {
        return Optional.ofNullable(deadline);
    }

    /** True once the deadline has passed: the answer would be dropped, so a handler may give up early. */
    public boolean isExpired() {
        return timeout != null && System.nanoTime() - deadlineNanoTime >= 0;
    }

    /** The listening socket the request arrived on. */
    public Path socket() {
        return connection.socket();
    }

    public ConnectionInfo connection() {
        return connection;
    }

    public boolean isConnectionClosed() {
        return connectionClosed.isDone();
    }

    /** Completes when the connection closes; an answer after that is dropped. */
    public CompletionStage<Void> connectionClosed() {
        return connectionClosed.minimalCompletionStage();
    }

    @Override
    public String toString() {
        return service + "/" + method + " (stream " + Integer.toUnsignedString(streamId) + " on " + socket() + ")";
    }
}
