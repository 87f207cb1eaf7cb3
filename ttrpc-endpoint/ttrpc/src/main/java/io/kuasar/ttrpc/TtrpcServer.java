package io.kuasar.ttrpc;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.PeerCredentials;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static java.lang.System.Logger.Level.DEBUG;
import static java.lang.System.Logger.Level.INFO;

/**
 * A ttrpc server: one dispatch table and one event loop group, serving any number of Unix sockets.
 *
 * <p>This class owns the sockets (files, listening channels, accepted connections) and
 * {@link ServerConnectionHandler} owns what happens on a connection. Handlers run on the executor given here,
 * never on the event loop.
 *
 * <pre>{@code
 * TtrpcServer server = new TtrpcServer(executor);
 * server.register("containerd.task.v3.Task", "Connect", MethodHandler.of(ConnectRequest.parser(), this::connect));
 * server.listen(Path.of("/run/kuasar/pod1.sock"));
 * }</pre>
 */
public final class TtrpcServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(TtrpcServer.class.getName());

    private final EventLoopGroup group;
    /**
     * Connections one socket holds at once: containerd opens one per container of
     * the sandbox, the keeper one per connection containerd opened to it. See {@link ConnectionCap}.
     */
    static final int MAX_CONNECTIONS = 128;
    /** New connections one socket takes a second (burst as many): containerd opens one per container it starts. */
    static final int NEW_CONNECTIONS_PER_SECOND = 200;
    /** Unread answers a connection may hold before its requests stop being read (see ServerConnectionHandler). */
    static final WriteBufferWaterMark ANSWER_BUFFER = new WriteBufferWaterMark(256 * 1024, 1024 * 1024);

    private final Executor handlerExecutor;
    private final MethodRegistry registry = new MethodRegistry();
    private final Map<Path, Listening> sockets = new ConcurrentHashMap<>();
    private final AtomicLong connectionIds = new AtomicLong();
    private volatile boolean closed;

    /** A listening socket and what was accepted on it. */
    private static final class Listening {
        final Set<Channel> connections = ConcurrentHashMap.newKeySet();
        volatile Channel serverChannel;
    }

    /** A server with a single event loop thread, plenty for the I/O of a sandboxer. */
    public TtrpcServer(Executor handlerExecutor) {
        this(handlerExecutor, 1);
    }

    public TtrpcServer(Executor handlerExecutor, int eventLoopThreads) {
        if (handlerExecutor == null) {
            throw new NullPointerException("handlerExecutor");
        }
        this.handlerExecutor = handlerExecutor;
        this.group = TtrpcEventLoops.newGroup(eventLoopThreads, "ttrpc-server");
    }

    /**
     * Adds a unary method. May be called while serving; a request for a method not (yet) registered is answered
     * UNIMPLEMENTED.
     *
     * @throws IllegalStateException when the method already has a handler
     */
    public TtrpcServer register(String service, String method, MethodHandler handler) {
        registry.register(service, method, handler);
        return this;
    }

    /** The methods of {@code service} registered so far: what a request may call without UNIMPLEMENTED. */
    public Set<String> methods(String service) {
        return registry.methods(service);
    }

    /** Listens on {@code socket} with no connection listener. */
    public void listen(Path socket) throws IOException {
        listen(socket, ConnectionListener.NONE);
    }

    /**
     * Binds a Unix socket at {@code socket}, replacing a stale socket file, and makes it accessible to its owner
     * only (mode 0600). Returns once the socket accepts connections.
     *
     * @param listener told about connections opened and closed on this socket
     * @throws IOException when the path is in use, is not a socket, or cannot be bound
     */
    public void listen(Path socket, ConnectionListener listener) throws IOException {
        Path path = socket.toAbsolutePath();
        if (closed) {
            throw new IllegalStateException("server is closed");
        }
        if (sockets.containsKey(path)) {
            throw new IOException("already listening on " + path);
        }
        SocketFiles.requirePrivateDirectory(path);
        SocketFiles.removeStale(path);
        Listening listening = new Listening(); // created first: connections may arrive as soon as bind completes
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channelFactory(ConnectionCap.serverChannels(MAX_CONNECTIONS, NEW_CONNECTIONS_PER_SECOND)::get)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, ANSWER_BUFFER)
                .childHandler(new ChannelInitializer<EpollDomainSocketChannel>() {
                    @Override
                    protected void initChannel(EpollDomainSocketChannel ch) {
                        listening.connections.add(ch);
                        ch.closeFuture().addListener(f -> listening.connections.remove(ch));
                        ch.pipeline().addLast(new FrameDecoder(), new FrameEncoder(),
                                new ServerConnectionHandler(connectionInfo(path, ch), registry, handlerExecutor,
                                        listener));
                    }
                });
        ChannelFuture bound = bootstrap.bind(new DomainSocketAddress(path.toString()))
                .awaitUninterruptibly();
        if (!bound.isSuccess()) {
            throw new IOException("cannot listen on " + path, bound.cause());
        }
        listening.serverChannel = bound.channel();
        // Between bind and chmod the socket briefly has the umask's mode, so the directory holding it is the real
        // guard: it was checked above to be one only we can enter.
        try {
            SocketFiles.restrictToOwner(path);
        } catch (IOException e) {
            bound.channel().close().awaitUninterruptibly();
            SocketFiles.deleteQuietly(path);
            throw e;
        }
        sockets.put(path, listening);
        if (closed) { // close() raced with us: do not leave this socket behind
            close(path);
            throw new IllegalStateException("server is closed");
        }
        LOG.log(INFO, "ttrpc server listening on {0}", path);
    }

    /** The sockets currently listened on. */
    public Set<Path> sockets() {
        return Set.copyOf(sockets.keySet());
    }

    /**
     * Stops listening on {@code socket}, closes the connections accepted on it and deletes the socket file.
     * Does nothing for a socket not listened on.
     */
    public void close(Path socket) {
        Path path = socket.toAbsolutePath();
        Listening listening = sockets.remove(path);
        if (listening == null) {
            return;
        }
        listening.serverChannel.close().awaitUninterruptibly();
        for (Channel connection : new ArrayList<>(listening.connections)) {
            connection.close().awaitUninterruptibly();
        }
        SocketFiles.deleteQuietly(path);
        LOG.log(DEBUG, "ttrpc server stopped listening on {0}", path);
    }

    /**
     * The event loop group of this server. Clients in the same process (e.g. to containerd's events service)
     * may share it; it stops with {@link #close()}.
     */
    public EventLoopGroup eventLoopGroup() {
        return group;
    }

    /** Closes every socket and connection and stops the event loop. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<Path> paths = new ArrayList<>(sockets.keySet());
        for (Path path : paths) {
            close(path);
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    private ConnectionInfo connectionInfo(Path socket, EpollDomainSocketChannel ch) {
        int pid = -1;
        int uid = -1;
        try {
            PeerCredentials credentials = ch.peerCredentials();
            pid = credentials.pid();
            uid = credentials.uid();
        } catch (IOException e) {
            LOG.log(DEBUG, "no peer credentials for a connection on " + socket, e);
        }
        return new ConnectionInfo(connectionIds.incrementAndGet(), socket, pid, uid);
    }
}
