package io.kuasar.endpoint;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/** Puts containerd's namespace (gRPC metadata {@code containerd-namespace}) into the call's context. */
final class NamespaceInterceptor implements ServerInterceptor {
    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                       ServerCallHandler<Q, A> next) {
        String namespace = headers.get(ControllerService.NAMESPACE);
        Context context = Context.current().withValue(ControllerService.CALL_NAMESPACE,
                namespace == null ? "default" : namespace);
        return Contexts.interceptCall(context, call, headers, next);
    }
}
