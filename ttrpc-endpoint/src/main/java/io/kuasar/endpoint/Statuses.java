package io.kuasar.endpoint;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.kuasar.spi.SandboxException;
import io.kuasar.ttrpc.TtrpcCode;
import io.kuasar.ttrpc.TtrpcException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Turns whatever a driver threw into the status containerd sees: its code and a message naming the problem. */
final class Statuses {
    private static final Logger LOG = System.getLogger(Statuses.class.getName());

    private Statuses() {
    }

    /** The SandboxException behind {@code t}, or an INTERNAL one wrapping an unexpected failure (logged). */
    static SandboxException cause(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof SandboxException e) {
            return e;
        }
        if (t instanceof java.nio.file.InvalidPathException e) { // input no check above caught: still the caller's
            return SandboxException.invalid("invalid path \"" + e.getInput().replace("\0", "\\0") + "\": " + e.getReason());
        }
        LOG.log(Level.ERROR, "unexpected failure", t);
        return SandboxException.internal(t.getClass().getSimpleName(), t);
    }

    static TtrpcException ttrpc(Throwable t) {
        SandboxException e = cause(t);
        return new TtrpcException(TtrpcCode.forValue(e.code().value), e.getMessage());
    }

    static StatusRuntimeException grpc(Throwable t) {
        SandboxException e = cause(t);
        return Status.fromCodeValue(e.code().value).withDescription(e.getMessage()).asRuntimeException();
    }
}
