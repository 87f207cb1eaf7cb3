package io.kuasar.endpoint;

import io.kuasar.host.SandboxListener;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.ttrpc.TtrpcServer;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The one owner of the Task API's listening sockets: one Unix socket per sandbox whose Task API the host serves,
 * so a request's socket tells its sandbox. containerd dials the socket once per container and never reconnects.
 *
 * <p>Without a keeper the host listens on the public socket ({@code <run>/task/<hash>.sock}) itself. With one
 * ({@code KUASAR_KEEPER_DIR} / {@code kuasar.keeper.dir}), the keeper process listens on the public socket and owns
 * containerd's connections, so they outlive this JVM; the host listens on a backend socket
 * ({@code <run>/task-backend/<hash>.sock}) that the keeper relays to, and tells the keeper with {@code LISTEN public
 * backend} (idempotent: re-sent for every recovered sandbox after a restart). The address given to containerd is
 * the public socket either way.
 */
final class TaskSockets implements SandboxListener {
    private static final Logger LOG = System.getLogger(TaskSockets.class.getName());
    /** The Task API version containerd needs to route containers to a sandbox instead of starting a shim each. */
    static final int TASK_API_VERSION = 3;

    /** A Task API address as containerd takes it. */
    record Address(String uri, int version) {
    }

    private final Path dir;
    /** Where the backend sockets live in keeper mode; null without a keeper. */
    private final Path backendDir;
    private final KeeperClient keeper;
    private final TtrpcServer server;
    /** Sandbox id to its public socket (the one containerd dials). */
    private final Map<String, Path> bySandbox = new ConcurrentHashMap<>();
    /** The socket the host listens on (public, or backend in keeper mode) to its sandbox id. */
    private final Map<Path, String> bySocket = new ConcurrentHashMap<>();

    TaskSockets(Path dir, TtrpcServer server) {
        this(dir, null, null, server);
    }

    /** Keeper mode when {@code keeper} is non-null: the host listens in {@code backendDir}. */
    TaskSockets(Path dir, Path backendDir, KeeperClient keeper, TtrpcServer server) {
        this.dir = dir;
        this.backendDir = keeper == null ? null : backendDir;
        this.keeper = keeper;
        this.server = server;
    }

    boolean keeperMode() {
        return keeper != null;
    }

    /** The address containerd must use: the driver's own, or a host socket opened for the sandbox now. */
    Address addressFor(String sandboxId, String driverAddress, int version) throws SandboxException {
        if (!driverAddress.isEmpty()) {
            return new Address(driverAddress, version);
        }
        return new Address(uri(open(sandboxId)), TASK_API_VERSION);
    }

    /** The address of a sandbox already started, or null. */
    Address existing(String sandboxId, String driverAddress) {
        if (!driverAddress.isEmpty()) {
            return new Address(driverAddress, TASK_API_VERSION);
        }
        Path socket = bySandbox.get(sandboxId);
        return socket == null ? null : new Address(uri(socket), TASK_API_VERSION);
    }

    String sandboxOf(Path socket) throws SandboxException {
        String id = bySocket.get(socket);
        if (id == null) {
            throw new SandboxException(SandboxException.Code.NOT_FOUND, "no sandbox is served at " + socket);
        }
        return id;
    }

    /**
     * Synchronized: a Start answered while a driver upgrade hands its sandbox to the successor asks for the socket
     * at the same time as the handoff's {@link #recovered} does; only one may listen.
     */
    private synchronized Path open(String sandboxId) throws SandboxException {
        Path existing = bySandbox.get(sandboxId);
        if (existing != null) {
            return existing;
        }
        Path socket = dir.resolve(socketName(sandboxId));
        Path served = keeper == null ? socket : backendDir.resolve(socketName(sandboxId));
        try {
            server.listen(served);
        } catch (IOException | RuntimeException e) {
            throw SandboxException.internal("cannot listen on " + served + " for sandbox " + sandboxId, e);
        }
        bySocket.put(served.toAbsolutePath(), sandboxId);
        if (keeper != null) {
            try {
                keeper.listen(socket, served);
            } catch (IOException e) {
                bySocket.remove(served.toAbsolutePath());
                server.close(served);
                throw new SandboxException(SandboxException.Code.UNAVAILABLE,
                        "sandbox " + sandboxId + ": the keeper cannot listen on " + socket + ": " + e.getMessage());
            }
        }
        bySandbox.put(sandboxId, socket);
        LOG.log(Level.INFO, "sandbox {0}: Task API at {1}{2}", sandboxId, socket,
                keeper == null ? "" : " (kept by the keeper, served at " + served + ")");
        return socket;
    }

    @Override
    public void recovered(Collection<SandboxStatus> sandboxes) {
        for (SandboxStatus s : sandboxes) {
            // a sandbox handed to a driver's successor has its socket already: asked without the lock, which another
            // sandbox's open holds through a round trip to the keeper while this sandbox's calls wait
            if (s.state() == SandboxStatus.State.READY && s.taskAddress().isEmpty() && !bySandbox.containsKey(s.id())) {
                try {
                    open(s.id());
                } catch (SandboxException e) {
                    LOG.log(Level.ERROR, "sandbox {0}: {1}", s.id(), e.getMessage());
                }
            }
        }
    }

    @Override
    public synchronized void removed(String sandboxId) {
        Path socket = bySandbox.remove(sandboxId);
        if (socket == null) {
            return;
        }
        Path served = keeper == null ? socket : backendDir.resolve(socket.getFileName());
        bySocket.remove(served.toAbsolutePath());
        if (keeper != null) {
            try {
                keeper.close(socket);
            } catch (IOException e) {
                LOG.log(Level.WARNING, "sandbox {0}: the keeper did not close {1}: {2}", sandboxId, socket,
                        e.getMessage());
            }
        }
        server.close(served);
    }

    private static String uri(Path socket) {
        return "ttrpc+unix://" + socket;
    }

    /** Socket paths are bounded (108 bytes): name each by a digest of the sandbox id, not the id itself. */
    static String socketName(String sandboxId) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(sandboxId.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8) + ".sock";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
