package io.kuasar.host;

import io.kuasar.spi.SandboxStatus;
import java.util.Collection;
import org.osgi.annotation.versioning.ConsumerType;

/** Told when sandboxes appear (created or recovered by a driver) and disappear, so task sockets follow them. */
@ConsumerType
public interface SandboxListener {
    /** A driver recovered these sandboxes (on its start, or after a host restart). */
    void recovered(Collection<SandboxStatus> sandboxes);

    /** The sandbox was shut down: nothing of it remains. */
    void removed(String sandboxId);
}
