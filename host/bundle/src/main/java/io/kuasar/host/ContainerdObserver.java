package io.kuasar.host;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Told what passes between containerd and the node, by the endpoint: every call it answered, once, with the status
 * code containerd saw, and every task event it forwarded or failed to. The node's call metrics and the containerd line
 * of {@code kuasar status}. Called on the thread that answers; returns at once.
 */
@ProviderType
public interface ContainerdObserver {
    /** The two APIs containerd calls the node on. */
    enum Api { CONTROLLER, TASK }

    /**
     * @param api     which API
     * @param method  the method's name as on the wire ({@code Create}, {@code Wait}, ...)
     * @param code    the status code's name ({@code OK}, {@code NOT_FOUND}, ...; gRPC and ttrpc share the codes)
     * @param nanos   from the request's arrival at the endpoint to its answer
     */
    void answered(Api api, String method, String code, long nanos);

    /**
     * The events client's attempt to forward one task event to containerd at {@code address}: {@code problem} null
     * when containerd took it, else why not (it is retried).
     */
    void forwarded(String address, String problem);
}
