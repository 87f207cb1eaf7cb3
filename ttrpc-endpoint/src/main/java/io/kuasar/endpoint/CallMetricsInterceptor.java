package io.kuasar.endpoint;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.kuasar.host.ContainerdObserver;

/**
 * Tells the observer of every Controller call's status as it is closed, and how long since it arrived. Outermost of
 * the Controller's interceptors, so requests they refuse are counted too.
 */
final class CallMetricsInterceptor implements ServerInterceptor {
    /** For tests and tools that construct the endpoint's parts without a host. */
    static final ContainerdObserver NOT_OBSERVED = new ContainerdObserver() {
        @Override
        public void answered(Api api, String method, String code, long nanos) {
        }

        @Override
        public void forwarded(String address, String problem) {
        }
    };

    private final ContainerdObserver observer;

    CallMetricsInterceptor(ContainerdObserver observer) {
        this.observer = observer;
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                       ServerCallHandler<Q, A> next) {
        long start = System.nanoTime();
        String method = call.getMethodDescriptor().getBareMethodName();
        return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                observer.answered(ContainerdObserver.Api.CONTROLLER, method, status.getCode().name(),
                        System.nanoTime() - start);
                super.close(status, trailers);
            }
        }, headers);
    }
}
