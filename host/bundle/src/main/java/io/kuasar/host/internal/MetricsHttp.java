package io.kuasar.host.internal;

import io.kuasar.host.admin.NodeDirectories;
import java.io.Closeable;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The smallest HTTP/1.1 server a Prometheus scrape needs: {@code GET /metrics} (and {@code HEAD}) answered with the
 * text format, one request per connection, on a TCP address or a Unix socket (mode 0600). Not the client's exporter:
 * that one needs the JDK's {@code com.sun.net.httpserver}, which no Unix socket fits and the framework does not export
 * by default. Two threads serve; a client that has not sent its request head within {@link #REQUEST_TIMEOUT} is closed,
 * and a connection beyond the queue is closed at once, so scrapers cannot make the node start threads or hold memory.
 */
final class MetricsHttp implements Closeable {
    private static final Logger LOG = System.getLogger(MetricsHttp.class.getName());
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);
    /** Longest request head read; a scrape's is a few hundred bytes. */
    static final int MAX_HEAD = 8192;

    /** The body and its content type, made for each scrape. */
    record Page(String contentType, byte[] body) {
    }

    private final ServerSocketChannel server;
    private final Supplier<Page> page;
    private final Path unixSocket;
    private final SocketAddress bound;
    private final ThreadPoolExecutor workers = new ThreadPoolExecutor(2, 2, 60, TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(16), daemonThreads("kuasar-metrics"));
    private final ScheduledExecutorService timeouts = Executors.newSingleThreadScheduledExecutor(
            daemonThreads("kuasar-metrics-timeouts"));
    private final Thread acceptor;
    private volatile boolean closed;

    /** Binds {@code address} (see {@link #address}) and starts serving {@code page}. */
    MetricsHttp(SocketAddress address, Supplier<Page> page) throws IOException {
        this.page = page;
        workers.allowCoreThreadTimeOut(true);
        if (address instanceof UnixDomainSocketAddress unix) {
            this.unixSocket = unix.getPath().toAbsolutePath();
            server = bindUnix(unixSocket);
        } else {
            this.unixSocket = null;
            server = ServerSocketChannel.open();
            server.bind(address);
        }
        bound = server.getLocalAddress();
        acceptor = new Thread(this::acceptLoop, "kuasar-metrics-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /**
     * {@code HOST:PORT} ({@code [::1]:PORT} for IPv6) or {@code unix:PATH}; null for {@code off}. Port 0 takes a free
     * port ({@link #bound} tells which). IllegalArgumentException naming the problem otherwise.
     */
    static SocketAddress address(String value) {
        String v = value.trim();
        if (v.equals("off")) {
            return null;
        }
        if (v.startsWith("unix:")) {
            Path p = Path.of(v.substring("unix:".length()));
            if (!p.isAbsolute()) {
                throw new IllegalArgumentException("kuasar.metrics.listen=" + v + ": the socket path must be absolute");
            }
            return UnixDomainSocketAddress.of(p);
        }
        int colon = v.lastIndexOf(':');
        String host = colon < 0 ? "" : v.substring(0, colon).replaceAll("^\\[|]$", "");
        int port;
        try {
            port = Integer.parseInt(v.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (host.isEmpty() || port < 0 || port > 65535) {
            throw new IllegalArgumentException("kuasar.metrics.listen=" + v
                    + ": expected HOST:PORT (e.g. 127.0.0.1:9469), unix:/PATH or off");
        }
        return new InetSocketAddress(host, port);
    }

    /** Where it listens: {@code 127.0.0.1:9469}, {@code unix:/run/kuasar/metrics.sock}. */
    String describe() {
        if (bound instanceof InetSocketAddress inet) {
            String host = inet.getAddress().getHostAddress();
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + inet.getPort();
        }
        return "unix:" + unixSocket;
    }

    private static ServerSocketChannel bindUnix(Path socket) throws IOException {
        Path dir = socket.getParent();
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        if (Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            if (NodeDirectories.listening(socket)) {
                throw new IOException("another process serves on " + socket + "; not replacing it");
            }
            Files.delete(socket); // a previous node's: nobody listens on it any more
        }
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            s.bind(UnixDomainSocketAddress.of(socket));
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
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
                    LOG.log(Level.WARNING, "metrics: accept failed: {0}", e.toString());
                }
                continue;
            }
            try {
                workers.execute(() -> serve(client));
            } catch (RejectedExecutionException e) {
                closeQuietly(client); // more scrapers at once than a node has: the next scrape gets through
            }
        }
    }

    private void serve(SocketChannel client) {
        ScheduledFuture<?> timeout = timeouts.schedule(() -> closeQuietly(client), REQUEST_TIMEOUT.toMillis(),
                TimeUnit.MILLISECONDS);
        try (client) {
            String head = readHead(client);
            timeout.cancel(false);
            String[] requestLine = head.split("\r?\n", 2)[0].split(" ");
            if (requestLine.length != 3 || !requestLine[2].startsWith("HTTP/1.")) {
                respond(client, "400 Bad Request", "text/plain", "bad request line\n".getBytes(StandardCharsets.UTF_8), true);
                return;
            }
            String method = requestLine[0];
            String path = requestLine[1].split("\\?", 2)[0];
            if (!method.equals("GET") && !method.equals("HEAD")) {
                respond(client, "405 Method Not Allowed", "text/plain", "GET /metrics\n".getBytes(StandardCharsets.UTF_8), true);
            } else if (!path.equals("/metrics")) {
                respond(client, "404 Not Found", "text/plain", "the node's metrics are at /metrics\n"
                        .getBytes(StandardCharsets.UTF_8), method.equals("GET"));
            } else {
                Page p = page.get();
                respond(client, "200 OK", p.contentType(), p.body(), method.equals("GET"));
            }
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "metrics: client gone: {0}", e.toString());
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "metrics: scrape failed", e);
        } finally {
            timeout.cancel(false);
        }
    }

    /** The request line and headers, up to the blank line; a body (none for GET) is not read. */
    private static String readHead(SocketChannel client) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(MAX_HEAD);
        while (buf.hasRemaining()) {
            if (client.read(buf) < 0) {
                break;
            }
            String sofar = new String(buf.array(), 0, buf.position(), StandardCharsets.ISO_8859_1);
            if (sofar.contains("\r\n\r\n") || sofar.contains("\n\n")) {
                return sofar;
            }
        }
        throw new IOException("no complete request head within " + MAX_HEAD + " bytes");
    }

    private static void respond(SocketChannel client, String status, String type, byte[] body, boolean withBody)
            throws IOException {
        String head = "HTTP/1.1 " + status + "\r\nContent-Type: " + type + "\r\nContent-Length: " + body.length
                + "\r\nConnection: close\r\n\r\n";
        writeAll(client, ByteBuffer.wrap(head.getBytes(StandardCharsets.ISO_8859_1)));
        if (withBody) {
            writeAll(client, ByteBuffer.wrap(body));
        }
    }

    private static void writeAll(SocketChannel client, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            client.write(b);
        }
    }

    private static java.util.concurrent.ThreadFactory daemonThreads(String prefix) {
        java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    private static void closeQuietly(SocketChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            // closing a client that took too long: nothing more to do
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        timeouts.shutdownNow();
        workers.shutdownNow();
        try {
            server.close();
        } finally {
            if (unixSocket != null) {
                Files.deleteIfExists(unixSocket);
            }
        }
    }
}
