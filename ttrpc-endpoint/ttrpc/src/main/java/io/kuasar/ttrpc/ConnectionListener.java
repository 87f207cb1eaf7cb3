package io.kuasar.ttrpc;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Told when connections to one listening socket open and close (see {@link TtrpcServer#listen(java.nio.file.Path,
 * ConnectionListener)}). Called on the connection's event loop: keep it short and never block.
 */
@ConsumerType
public interface ConnectionListener {
    ConnectionListener NONE = new ConnectionListener() { };

    default void connectionOpened(ConnectionInfo connection) {
    }

    default void connectionClosed(ConnectionInfo connection) {
    }
}
