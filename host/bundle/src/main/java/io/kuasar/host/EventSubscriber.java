package io.kuasar.host;

import io.kuasar.spi.TaskEvent;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Receives every task event with the containerd namespace of its sandbox, in publication order. Registered as an
 * OSGi service (the endpoint's event forwarder); events published while none is present are kept for it.
 */
@ConsumerType
public interface EventSubscriber {
    void onEvent(String namespace, TaskEvent event);
}
