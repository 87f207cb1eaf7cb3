package io.kuasar.spi;

import java.nio.file.Path;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Where a driver keeps things, an OSGi service of the host. State that must survive a driver upgrade or a host
 * restart goes under {@link #stateDir(String)}, written atomically; sockets and mounts under {@link #runDir(String)}.
 * Both are created with mode 0700.
 */
@ProviderType
public interface HostPaths {
    Path stateDir(String driver);

    Path runDir(String driver);
}
