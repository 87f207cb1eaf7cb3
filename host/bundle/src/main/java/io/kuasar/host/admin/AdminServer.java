package io.kuasar.host.admin;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.SocketOption;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * The node's admin socket: a Unix socket (mode 0600, in a 0700 directory) that answers {@link AdminProtocol}
 * requests with a {@link Handler}, one daemon thread per client. Only peers the {@code allowed} test accepts (by
 * their {@code SO_PEERCRED} credentials; by default root and the node's own user) are served; others get
 * {@code ERR} and are closed. A client that has not sent its request line within {@link #REQUEST_TIMEOUT} is
 * closed, so an idle connection cannot pin a thread. Plain Java, no OSGi.
 */
public final class AdminServer implements Closeable {
    private static final Logger LOG = System.getLogger(AdminServer.class.getName());
    /** How long a connected client may take to send its request line. */
    public static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);

    /** Does the work of one request: the text lines to answer; an exception's message becomes {@code ERR ...}. */
    @FunctionalInterface
    public interface Handler {
        List<String> handle(AdminProtocol.Request request) throws Exception;
    }

    private final Path socket;
    private final Handler handler;
    private final Predicate<UserPrincipal> allowed;
    private final ServerSocketChannel server;
    /** Clients served at once; an operator runs one command at a time, a script a few. */
    static final int MAX_CLIENTS = 32;
    private final java.util.concurrent.atomic.AtomicLong refused = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong lastRefusalLog =
            new java.util.concurrent.atomic.AtomicLong(System.nanoTime() - 20_000_000_000L);
    private final Set<SocketChannel> clients = ConcurrentHashMap.newKeySet();
    private final AtomicInteger clientNumbers = new AtomicInteger();
    private final Thread acceptor;
    private final Duration requestTimeout;
    private final ScheduledExecutorService timeouts;
    private volatile boolean closed;

    /**
     * Binds {@code socket} (replacing a stale socket file, never one a live process listens on), mode 0600, and
     * starts accepting. A missing directory is made 0700; an existing one open to group or others is refused, so
     * nobody else can reach the socket in the moment between bind and chmod.
     */
    public AdminServer(Path socket, Handler handler, Predicate<UserPrincipal> allowed) throws IOException {
        this(socket, handler, allowed, REQUEST_TIMEOUT);
    }

    /** As above, with another time allowed for the request line (tests). */
    public AdminServer(Path socket, Handler handler, Predicate<UserPrincipal> allowed, Duration requestTimeout)
            throws IOException {
        this.requestTimeout = requestTimeout;
        this.socket = socket.toAbsolutePath();
        this.handler = handler;
        this.allowed = allowed;
        Path dir = this.socket.getParent();
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        }
        // Never loosen nor tighten a directory we did not make: one open to others is refused.
        if (!PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)).endsWith("------")) {
            throw new IOException("the admin socket's directory " + dir + " is open to other users ("
                    + PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)) + "); it must be 0700");
        }
        if (Files.exists(this.socket, LinkOption.NOFOLLOW_LINKS)) {
            if (Files.isDirectory(this.socket, LinkOption.NOFOLLOW_LINKS)) {
                throw new IOException("admin socket path " + this.socket + " is a directory");
            }
            if (NodeDirectories.listening(this.socket)) { // never take the address of a node that runs
                throw new IOException("another node serves on " + this.socket + "; not replacing its admin socket");
            }
            Files.delete(this.socket); // a previous node's socket: nobody listens on it any more
        }
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(this.socket));
            // The directory is 0700, so nobody else could reach the socket in the moment before this.
            Files.setPosixFilePermissions(this.socket, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        timeouts = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "kuasar-admin-timeouts");
            t.setDaemon(true);
            return t;
        });
        acceptor = new Thread(this::acceptLoop, "kuasar-admin");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public Path socket() {
        return socket;
    }

    /**
     * Root (uid 0) and the user the node runs as: both already own the node. Anyone else is refused, also if the
     * socket's mode were loosened.
     */
    public static Predicate<UserPrincipal> rootOrSelf() {
        UserPrincipal root = lookup("root");
        UserPrincipal self = processOwner(); // by uid: user.name is "?" for a uid without a passwd entry
        return peer -> peer != null && (peer.equals(root) || peer.equals(self) || "root".equals(peer.getName()));
    }

    /** The node's own user: the owner of /proc/self is the process's effective uid (principals compare by uid). */
    private static UserPrincipal processOwner() {
        try {
            return java.nio.file.Files.getOwner(java.nio.file.Path.of("/proc/self"));
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    private static UserPrincipal lookup(String name) {
        try {
            return name == null ? null : FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByName(name);
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    /**
     * The peer's user from its credentials ({@code jdk.net.ExtendedSocketOptions.SO_PEERCRED}, a
     * {@code jdk.net.UnixDomainPrincipal}), or null when the platform does not give them. Reached through the
     * platform class loader and reflection: {@code jdk.net} is no package the framework exports to bundles.
     */
    static UserPrincipal peer(SocketChannel channel) {
        try {
            Class<?> options = ClassLoader.getPlatformClassLoader().loadClass("jdk.net.ExtendedSocketOptions");
            SocketOption<?> peerCred = (SocketOption<?>) options.getField("SO_PEERCRED").get(null);
            Object principal = channel.getOption(peerCred);
            return principal == null ? null : (UserPrincipal) principal.getClass().getMethod("user").invoke(principal);
        } catch (ReflectiveOperationException | IOException | UnsupportedOperationException | ClassCastException e) {
            LOG.log(Level.WARNING, "cannot read the admin client's credentials: {0}", e.toString());
            return null;
        }
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel client;
            try {
                client = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closed) {
                    LOG.log(Level.WARNING, "admin socket accept failed: {0}", e.toString());
                }
                continue;
            }
            if (clients.size() >= MAX_CLIENTS) {
                // One thread per client: a peer that opens connections without end must not make the node start
                // threads without end. The operator's next try gets through once the others are served or timed out.
                long refusals = refused.incrementAndGet();
                long now = System.nanoTime();
                long last = lastRefusalLog.get();
                if (now - last > 10_000_000_000L && lastRefusalLog.compareAndSet(last, now)) { // a line per 10 s
                    LOG.log(Level.WARNING, "admin socket: {0} clients connected already; {1} refused so far",
                            new Object[] {MAX_CLIENTS, refusals});
                }
                closeQuietly(client);
                continue;
            }
            clients.add(client);
            Thread t = new Thread(() -> serve(client), "kuasar-admin-" + clientNumbers.incrementAndGet());
            t.setDaemon(true);
            t.start();
        }
    }

    private void serve(SocketChannel client) {
        try (client; Writer out = new BufferedWriter(new OutputStreamWriter(Channels.newOutputStream(client),
                StandardCharsets.UTF_8))) {
            UserPrincipal peer = peer(client);
            if (!allowed.test(peer)) {
                LOG.log(Level.WARNING, "admin socket: refused a client running as {0}",
                        peer == null ? "(unknown)" : peer.getName());
                send(out, AdminProtocol.error("permission denied: only root may use the admin socket"));
                // Closing with the request unread would reset the connection before the client reads the answer.
                client.shutdownOutput();
                readLine(client);
                return;
            }
            String line;
            ScheduledFuture<?> timeout = timeouts.schedule(() -> closeQuietly(client), requestTimeout.toMillis(),
                    TimeUnit.MILLISECONDS);
            try {
                line = readLine(client);
            } finally {
                timeout.cancel(false);
            }
            if (!client.isOpen()) {
                LOG.log(Level.WARNING, "admin socket: closed a client that sent no request within {0} ms",
                        requestTimeout.toMillis());
                return;
            }
            AdminProtocol.Request request;
            try {
                request = AdminProtocol.parse(line);
            } catch (IllegalArgumentException e) {
                send(out, AdminProtocol.error(e.getMessage()));
                return;
            }
            String status;
            List<String> text = List.of();
            try {
                text = handler.handle(request);
                status = AdminProtocol.OK;
                if (request.command().equals("shell")) { // the shell's output can be long: the line is enough
                    LOG.log(Level.INFO, "admin: {0}: {1} line(s) of output", request.toLine(), text.size());
                } else if (!Set.of("status", "drivers", "sandboxes").contains(request.command())) {
                    LOG.log(Level.INFO, "admin: {0}: {1}", request.toLine(), String.join("; ", text));
                }
            } catch (Exception e) {
                String message = e.getMessage() == null ? e.toString() : e.getMessage();
                LOG.log(Level.WARNING, "admin: {0} failed: {1}", request.toLine(), message);
                status = AdminProtocol.error(message);
            }
            for (String t : text) {
                out.write(AdminProtocol.textLine(t));
                out.write('\n');
            }
            send(out, status);
        } catch (IOException e) {
            if (!closed) {
                LOG.log(Level.DEBUG, "admin client gone: {0}", e.toString());
            }
        } finally {
            clients.remove(client);
        }
    }

    private static void closeQuietly(SocketChannel client) {
        try {
            client.close();
        } catch (IOException e) {
            // closing on a timeout: nothing more to do
        }
    }

    private static void send(Writer out, String line) throws IOException {
        out.write(line);
        out.write('\n');
        out.flush();
    }

    /** The request line, at most {@link AdminProtocol#MAX_REQUEST} bytes. */
    private static String readLine(SocketChannel client) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(client),
                StandardCharsets.UTF_8));
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (line.length() >= AdminProtocol.MAX_REQUEST) {
                throw new IOException("request line longer than " + AdminProtocol.MAX_REQUEST);
            }
            line.append((char) c);
        }
        if (line.length() > 0 && line.charAt(line.length() - 1) == '\r') {
            line.setLength(line.length() - 1);
        }
        return line.toString();
    }

    @Override
    public void close() throws IOException {
        closed = true;
        timeouts.shutdownNow();
        try {
            server.close();
            for (SocketChannel c : clients) {
                c.close();
            }
        } finally {
            Files.deleteIfExists(socket);
        }
    }
}
