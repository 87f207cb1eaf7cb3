package io.kuasar.endpoint;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The Controller's Wait calls that have no answer yet. containerd keeps one open per sandbox for as long as the
 * sandbox lives, and its remote sandbox controller calls Wait again only when the error is UNAVAILABLE; any other
 * error (CANCELLED is what a gRPC server shutdown gives in-flight calls) makes CRI record the sandbox as exited and
 * the pod NOTREADY although it runs. So when the endpoint stops (bundle update, node shutdown), every pending Wait
 * is answered UNAVAILABLE first, and Waits that arrive from then on too.
 */
final class PendingWaits {
    private final Set<Pending<?>> pending = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /** One Wait call: answered once, by the sandbox's exit or by {@link #closeAll}, whichever comes first. */
    final class Pending<T> {
        private final StreamObserver<T> out;
        private final AtomicBoolean done = new AtomicBoolean();

        private Pending(StreamObserver<T> out) {
            this.out = out;
        }

        void answer(T value) {
            if (done.compareAndSet(false, true)) {
                pending.remove(this);
                out.onNext(value);
                out.onCompleted();
            }
        }

        void fail(Throwable error) {
            if (done.compareAndSet(false, true)) {
                pending.remove(this);
                out.onError(error);
            }
        }
    }

    /** Registers a Wait call; once closed, it is failed at once. */
    <T> Pending<T> open(StreamObserver<T> out) {
        Pending<T> p = new Pending<>(out);
        pending.add(p);
        if (closed) {
            p.fail(restarting());
        }
        return p;
    }

    /** Fails every pending and every later Wait with UNAVAILABLE. */
    void closeAll() {
        closed = true;
        for (Pending<?> p : pending) {
            p.fail(restarting());
        }
    }

    int size() {
        return pending.size();
    }

    private static Throwable restarting() {
        return Status.UNAVAILABLE.withDescription("the node's sandbox endpoint is stopping; wait again").asException();
    }
}
