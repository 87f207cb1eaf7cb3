package io.kuasar.ttrpc;

import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * The file-system side of listening on a Unix socket path. A socket is never reachable by others, not even for an
 * instant: it is bound in a directory only the owner can enter and made 0600 there, either where it lives (task
 * sockets: their directory is 0700, {@link #requirePrivateDirectory}) or, for a socket in a directory others may
 * enter, in a fresh 0700 directory beside it and then renamed into place ({@link #bindPrivately}). Java cannot set
 * the process umask, and a umask would be process-wide anyway; rename(2) keeps the bound socket working.
 */
public final class SocketFiles {
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
    public static void removeStale(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if ((mode & S_IFMT) != S_IFSOCK) {
            throw new IOException(path + " exists and is not a socket");
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
            throw new IOException(path + " is in use by a live server: another node serves there");
        } catch (ConnectException refused) {
            Files.deleteIfExists(path); // nobody listening: stale
        }
    }

    /** Binds a server; the path it is given is the temporary one. */
    @ConsumerType
    @FunctionalInterface
    public interface Binder<T> {
        T bind(Path temporary) throws IOException;
    }

    /**
     * Binds {@code target} through a private directory: {@code bind} listens on a path in a fresh 0700 directory
     * beside {@code target}, the socket is made 0600 there, then renamed to {@code target}. A stale socket at
     * {@code target} is replaced; a live one is refused ({@link #removeStale}). {@code close} undoes the bind when
     * the rename fails.
     */
    public static <T> T bindPrivately(Path target, Binder<T> bind, java.util.function.Consumer<T> close)
            throws IOException {
        Path path = target.toAbsolutePath();
        removeStale(path);
        Path dir = Files.createTempDirectory(path.getParent(), ".b",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path temporary = dir.resolve("s"); // short: sun_path holds 108 bytes
        try {
            T server = bind.bind(temporary);
            try {
                restrictToOwner(temporary);
                Files.move(temporary, path, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException | RuntimeException e) {
                close.accept(server);
                throw e;
            }
            return server;
        } finally {
            deleteQuietly(temporary);
            Files.deleteIfExists(dir);
        }
    }

    /** Refuses a directory group or others may enter: a socket bound there is open in the moment before chmod. */
    static void requirePrivateDirectory(Path socket) throws IOException {
        Path dir = socket.toAbsolutePath().getParent();
        int mode = (Integer) Files.getAttribute(dir, "unix:mode");
        if ((mode & 077) != 0) {
            throw new IOException("refusing to listen on " + socket + ": its directory " + dir + " is open to others"
                    + " (mode " + String.format("%04o", mode & 07777) + "); it must be 0700");
        }
    }

    /** Only the owner (containerd runs as root, like us) may connect. */
    static void restrictToOwner(Path path) throws IOException {
        Files.setPosixFilePermissions(path,
                EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));
    }

    public static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // best effort on shutdown; a leftover file is removed by the next listen()
        }
    }
}
