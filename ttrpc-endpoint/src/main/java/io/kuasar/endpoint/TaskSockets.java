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
 * so a request's socket tells its sandbox. containerd dials the socket once per container and never reconnects, so
 * keeping every socket and connection here is what a later keeper process will take over.
 */
final class TaskSockets implements SandboxListener {
    private static final Logger LOG = System.getLogger(TaskSockets.class.getName());
    /** The Task API version containerd needs to route containers to a sandbox instead of starting a shim each. */
    static final int TASK_API_VERSION = 3;

    /** A Task API address as containerd takes it. */
    record Address(String uri, int version) {
    }

    private final Path dir;
    private final TtrpcServer server;
    private final Map<String, Path> bySandbox = new ConcurrentHashMap<>();
    private final Map<Path, String> bySocket = new ConcurrentHashMap<>();

    TaskSockets(Path dir, TtrpcServer server) {
        this.dir = dir;
        this.server = server;
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

    private Path open(String sandboxId) throws SandboxException {
        Path existing = bySandbox.get(sandboxId);
        if (existing != null) {
            return existing;
        }
        Path socket = dir.resolve(socketName(sandboxId));
        try {
            server.listen(socket);
        } catch (IOException | RuntimeException e) {
            throw SandboxException.internal("cannot listen on " + socket + " for sandbox " + sandboxId, e);
        }
        bySocket.put(socket, sandboxId);
        bySandbox.put(sandboxId, socket);
        LOG.log(Level.INFO, "sandbox {0}: Task API at {1}", sandboxId, socket);
        return socket;
    }

    @Override
    public void recovered(Collection<SandboxStatus> sandboxes) {
        for (SandboxStatus s : sandboxes) {
            if (s.state() == SandboxStatus.State.READY && s.taskAddress().isEmpty()) {
                try {
                    open(s.id());
                } catch (SandboxException e) {
                    LOG.log(Level.ERROR, "sandbox {0}: {1}", s.id(), e.getMessage());
                }
            }
        }
    }

    @Override
    public void removed(String sandboxId) {
        Path socket = bySandbox.remove(sandboxId);
        if (socket != null) {
            bySocket.remove(socket);
            server.close(socket);
        }
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
