package io.kuasar.ttrpc;

import java.nio.file.Path;

/**
 * Identifies one accepted connection.
 *
 * @param id      unique within a {@link TtrpcServer}, in accept order
 * @param socket  the listening socket path it arrived on
 * @param peerPid the connecting process (SO_PEERCRED), or -1 when unknown
 * @param peerUid its user id, or -1 when unknown
 */
public record ConnectionInfo(long id, Path socket, int peerPid, int peerUid) {
}
