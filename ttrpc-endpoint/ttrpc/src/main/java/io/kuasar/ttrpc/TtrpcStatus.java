package io.kuasar.ttrpc;

import com.google.protobuf.Any;
import io.kuasar.ttrpc.proto.Status;

import java.util.List;

/**
 * The outcome of a call: a gRPC code, a message and optional details, as carried in {@code Response.status}.
 *
 * @param code    the raw code (see {@link TtrpcCode}); kept as an int so unknown codes pass through intact
 * @param message human-readable, never null
 * @param details extra error payloads, as in google.rpc.Status; never null
 */
public record TtrpcStatus(int code, String message, List<Any> details) {
    private static final TtrpcStatus OK = new TtrpcStatus(0, "", List.of());

    public TtrpcStatus {
        message = message == null ? "" : message;
        details = details == null ? List.of() : List.copyOf(details);
    }

    public static TtrpcStatus ok() {
        return OK;
    }

    public static TtrpcStatus of(TtrpcCode code, String message) {
        return new TtrpcStatus(code.value(), message, List.of());
    }

    // The envelope's Status stays inside the bundle (io.kuasar.ttrpc.proto is not exported): the API speaks in
    // TtrpcStatus, so regenerating the envelope with another protoc changes no exported signature.
    static TtrpcStatus fromProto(Status status) {
        return new TtrpcStatus(status.getCode(), status.getMessage(), status.getDetailsList());
    }

    Status toProto() {
        return Status.newBuilder().setCode(code).setMessage(message).addAllDetails(details).build();
    }

    /** The code as an enum; {@link TtrpcCode#UNKNOWN} for values outside gRPC's list. */
    public TtrpcCode grpcCode() {
        return TtrpcCode.forValue(code);
    }

    public boolean isOk() {
        return code == 0;
    }

    public TtrpcException asException() {
        return new TtrpcException(this);
    }

    @Override
    public String toString() {
        String name = code >= 0 && code <= 16 ? grpcCode().name() : "CODE_" + code;
        return message.isEmpty() ? name : name + ": " + message;
    }
}
