package io.kuasar.ttrpc;

import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;

/** The file-system side of listening on a Unix socket path. */
final class SocketFiles {
    /** File type bits of st_mode, and the value for a socket. */
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private SocketFiles() {
    }

    /**
     * Makes {@code path} free to bind: deletes a socket file left behind by a process that died, but refuses to
     * touch a socket someone still listens on (deleting it would silently steal their address) or any file that
     * is not a socket.
     */
    static void removeStale(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if ((mode & S_IFMT) != S_IFSOCK) {
            throw new IOException(path + " exists and is not a socket");
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
            throw new IOException(path + " is in use by a live server");
        } catch (ConnectException refused) {
            Files.deleteIfExists(path); // nobody listening: stale
        }
    }

    /** Only the owner (containerd runs as root, like us) may connect. */
    static void restrictToOwner(Path path) throws IOException {
        Files.setPosixFilePermissions(path,
                EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));
    }

    static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // best effort on shutdown; a leftover file is removed by the next listen()
        }
    }
}
