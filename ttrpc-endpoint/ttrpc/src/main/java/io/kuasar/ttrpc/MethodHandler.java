package io.kuasar.ttrpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Serves one unary method. Called on the server's handler executor, never on an event loop, so it may block,
 * though returning a stage that completes later is kinder to the executor.
 *
 * <p>The stage may complete with a {@link MessageLite} (serialized as the response), a {@link ByteString}
 * (sent as is) or {@code null} (an empty payload, which is how an empty message such as
 * {@code google.protobuf.Empty} looks on the wire). A {@link TtrpcException}, thrown or as the stage's failure,
 * is answered with its status; any other failure with INTERNAL and the exception's message.
 */
@ConsumerType
@FunctionalInterface
public interface MethodHandler {

    CompletionStage<?> handle(RequestContext context, ByteString payload) throws Exception;

    /** The typed form of a handler: receives the parsed request message. */
    @ConsumerType
    @FunctionalInterface
    interface Typed<Q> {
        CompletionStage<? extends MessageLite> handle(RequestContext context, Q request) throws Exception;
    }

    /**
     * Adapts a typed handler: parses the payload with {@code requestParser}, answering INVALID_ARGUMENT when it
     * is not a valid message.
     */
    static <Q> MethodHandler of(Parser<Q> requestParser, Typed<Q> handler) {
        return (context, payload) -> {
            Q request;
            try {
                request = requestParser.parseFrom(payload);
            } catch (InvalidProtocolBufferException e) {
                return CompletableFuture.failedFuture(new TtrpcException(TtrpcCode.INVALID_ARGUMENT,
                        "cannot parse request of " + context.service() + "/" + context.method() + ": "
                                + e.getMessage()));
            }
            return handler.handle(context, request);
        };
    }
}
