package io.kuasar.spi;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The host's event sink, an OSGi service drivers reference. Events are forwarded to containerd in order; the host
 * keeps them while containerd is unreachable.
 */
@ProviderType
public interface TaskEvents {
    void publish(TaskEvent event);
}
