package io.kuasar.endpoint;

import com.google.protobuf.MessageOrBuilder;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.kuasar.spi.SandboxException;

/** Refuses a Controller request that fails {@link RequestFields} before the service sees it. */
final class RequestCheckInterceptor implements ServerInterceptor {
    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                       ServerCallHandler<Q, A> next) {
        ServerCall.Listener<Q> delegate = next.startCall(call, headers);
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
            private boolean refused;

            @Override
            public void onMessage(Q message) {
                try {
                    if (message instanceof MessageOrBuilder m) {
                        RequestFields.requireNoNul(m);
                    }
                    super.onMessage(message);
                } catch (SandboxException e) {
                    refused = true;
                    call.close(Statuses.grpc(e).getStatus(), new Metadata());
                }
            }

            @Override
            public void onHalfClose() {
                if (!refused) {
                    super.onHalfClose();
                }
            }
        };
    }
}
