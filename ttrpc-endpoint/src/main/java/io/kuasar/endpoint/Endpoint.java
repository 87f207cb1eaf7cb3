package io.kuasar.endpoint;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import io.kuasar.host.ContainerdObserver;
import io.kuasar.host.SandboxRouter;
import io.kuasar.spi.HostPaths;
import io.kuasar.ttrpc.ConnectionCap;
import io.kuasar.ttrpc.SocketFiles;
import io.kuasar.ttrpc.TtrpcServer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

/**
 * The node's face to containerd: the gRPC sandbox Controller on the proxy-plugin socket ({@code kuasar.listen},
 * default /run/kuasar/kuasar.sock) and the ttrpc Task API on one socket per sandbox. Task events go back through
 * {@link EventForwarder}.
 */
@Component(service = {}, immediate = true)
public class Endpoint {
    private static final Logger LOG = System.getLogger(Endpoint.class.getName());
    /** Framework or system property naming the keeper's directory; overrides {@link #KEEPER_DIR_ENV}. */
    static final String KEEPER_DIR_PROPERTY = "kuasar.keeper.dir";
    /** Set by kuasar-keeper in the environment of the JVM it runs. */
    static final String KEEPER_DIR_ENV = "KUASAR_KEEPER_DIR";
    /**
     * grpc-java asks every accepted connection for SO_KEEPALIVE, which Unix sockets lack: Netty warns once per
     * connection. Held strongly so the level sticks.
     */
    private static final java.util.logging.Logger BOOTSTRAP_LOG = java.util.logging.Logger.getLogger(
            "io.netty.bootstrap");
    /**
     * grpc-java logs every connection that fails its HTTP/2 handshake at INFO with a stack trace (about 3 KB): a
     * peer sending garbage in a loop made the node's log grow by megabytes a second and its event loop fall behind
     * until the heap ran out. Such a connection is closed anyway; its failure is not worth a line.
     */
    private static final java.util.logging.Logger GRPC_TRANSPORT_LOG = java.util.logging.Logger.getLogger(
            "io.grpc.netty.NettyServerTransport.connections");

    static {
        BOOTSTRAP_LOG.setLevel(java.util.logging.Level.SEVERE);
        GRPC_TRANSPORT_LOG.setLevel(java.util.logging.Level.WARNING);
    }

    /** containerd's Controller requests are a few KiB (a pod's config): 4 MiB is gRPC's usual cap, said here. */
    static final int MAX_CONTROLLER_MESSAGE = 4 * 1024 * 1024;
    /** How long the drivers get to recover their sandboxes before containerd is asked which it still knows. */
    static final Duration ORPHAN_SWEEP_SETTLE = Duration.ofSeconds(3);
    /** containerd keeps one connection to a sandbox plugin; a few more for tools. */
    static final int MAX_CONTROLLER_CONNECTIONS = 32;

    private final SandboxRouter router;
    private final Path listen;
    /**
     * Threads for calls, bounded so no client can make the node start threads without end: the Task API's and
     * the Controller's apart, so a flood on one leaves the other served. Beyond the threads a short queue, beyond
     * that RESOURCE_EXHAUSTED. Idle threads end after a minute.
     */
    private final ExecutorService workers = boundedPool("kuasar-call", 64, 512);
    private final ExecutorService controllerWorkers = boundedPool("kuasar-controller", 32, 256);
    private final EventLoopGroup grpcLoop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    private final TtrpcServer ttrpc;
    private final TaskSockets sockets;
    private final KeeperClient keeper;
    private final Server grpc;
    private final PendingWaits waits = new PendingWaits();
    private final OrphanSandboxes orphans;
    /** Test-only crash points (off unless the e2e tests arm them). */
    private final HaltPoints halts = HaltPoints.fromSystemProperties();
    private final ContainerdObserver observer;

    @Activate
    public Endpoint(@Reference SandboxRouter router, @Reference HostPaths paths, @Reference ContainerdObserver observer,
                    BundleContext context) throws IOException {
        this.router = router;
        this.observer = observer;
        this.listen = Path.of(property(context, "kuasar.listen", "/run/kuasar/kuasar.sock"));
        this.ttrpc = new TtrpcServer(workers);
        this.keeper = keeper(context);
        this.sockets = keeper == null ? new TaskSockets(paths.runDir("task"), ttrpc)
                : new TaskSockets(paths.runDir("task"), paths.runDir("task-backend"), keeper, ttrpc);
        new TaskApi(router, sockets, halts, observer).registerOn(ttrpc);
        router.addListener(sockets);
        sockets.recovered(router.sandboxes());
        this.orphans = new OrphanSandboxes(router, containerdSocket(context), grpcLoop);
        orphans.sweepInBackground(Instant.now(), ORPHAN_SWEEP_SETTLE);
        this.grpc = startGrpc();
        LOG.log(Level.INFO, "serving containerd''s sandbox Controller at {0}\n{1}", listen, containerdConfig());
    }

    /**
     * The keeper's client when the node runs under {@code kuasar-keeper} (which sets {@code KUASAR_KEEPER_DIR} in
     * our environment; {@code kuasar.keeper.dir} overrides it), else null: the host then owns its task sockets.
     */
    static KeeperClient keeper(BundleContext context) {
        String dir = property(context, KEEPER_DIR_PROPERTY, System.getenv(KEEPER_DIR_ENV));
        if (dir == null || dir.isBlank()) {
            return null;
        }
        KeeperClient k = new KeeperClient(Path.of(dir, "control.sock"));
        LOG.log(Level.INFO, "task sockets are kept by the keeper at {0} (answers: {1})", k.control(),
                k.ping() ? "yes" : "not yet");
        return k;
    }

    private Server startGrpc() throws IOException {
        if (!Files.isDirectory(listen.getParent())) {
            Files.createDirectories(listen.getParent(),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        // Bound in a private directory and renamed into place (SocketFiles): the node dir may be open to others, and
        // a socket another live node listens on is refused, not deleted.
        return SocketFiles.bindPrivately(listen, this::grpcServerOn, Server::shutdownNow);
    }

    private Server grpcServerOn(Path path) throws IOException {
        return NettyServerBuilder.forAddress(new DomainSocketAddress(path.toString()))
                .channelFactory(ConnectionCap.serverChannels(MAX_CONTROLLER_CONNECTIONS, 50)::get)
                // a connection that never completes its HTTP/2 handshake is held by grpc-java until this passes
                // (120 s by default): a loop of such connections filled the heap
                .handshakeTimeout(5, TimeUnit.SECONDS)
                .bossEventLoopGroup(grpcLoop).workerEventLoopGroup(grpcLoop).executor(controllerWorkers)
                // containerd's Controller messages are small: a bound keeps a hostile peer from making us buffer more
                .maxInboundMessageSize(MAX_CONTROLLER_MESSAGE).maxInboundMetadataSize(64 * 1024)
                .maxConcurrentCallsPerConnection(256)
                .addService(ServerInterceptors.intercept(new ControllerService(router, sockets, waits, halts),
                        new RequestCheckInterceptor(),
                        new NamespaceInterceptor(),
                        new CallMetricsInterceptor(observer))) // last: outermost, sees every call's status
                .build().start();
    }

    /** What an operator adds to containerd's config to use this node (printed at start). */
    String containerdConfig() {
        return "Add to containerd's config (version 3):\n"
                + "  [proxy_plugins.runc]\n"
                + "    type = 'sandbox'\n"
                + "    address = '" + listen + "'\n"
                + "  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kuasar-runc]\n"
                + "    runtime_type = 'io.containerd.runc.v2'\n"
                + "    sandboxer = 'runc'\n";
    }

    @Deactivate
    void stop() throws InterruptedException {
        orphans.close();
        router.removeListener(sockets);
        waits.closeAll(); // before the shutdown, whose CANCELLED would read to containerd as "sandbox exited"
        // Graceful first: the Waits' UNAVAILABLE answers and short calls in flight get out; new calls are refused.
        grpc.shutdown();
        if (!grpc.awaitTermination(2, TimeUnit.SECONDS)) {
            grpc.shutdownNow();
            grpc.awaitTermination(3, TimeUnit.SECONDS);
        }
        ttrpc.close();
        SocketFiles.deleteQuietly(listen); // renamed into place, so gRPC's own clean-up does not know this path
        if (keeper != null) {
            keeper.close(); // the keeper keeps the public sockets: containerd's connections wait for the next endpoint
        }
        grpcLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownNow();
        controllerWorkers.shutdownNow();
    }

    /**
     * containerd's gRPC socket: {@code kuasar.containerd.address}, else the events address ({@code
     * kuasar.containerd.ttrpc}) without its ".ttrpc", as containerd names its two sockets.
     */
    static Path containerdSocket(BundleContext context) {
        String ttrpc = property(context, "kuasar.containerd.ttrpc", "/run/containerd/containerd.sock.ttrpc");
        return Path.of(property(context, "kuasar.containerd.address", ttrpc.replaceFirst("\\.ttrpc$", "")));
    }

    static String property(BundleContext context, String key, String fallback) {
        String value = context.getProperty(key);
        return value == null || value.isBlank() ? fallback : value;
    }

    /** Up to {@code threads} daemon threads, then a queue of {@code queued} calls, then RejectedExecutionException. */
    static ExecutorService boundedPool(String prefix, int threads, int queued) {
        java.util.concurrent.ThreadPoolExecutor pool = new java.util.concurrent.ThreadPoolExecutor(threads, threads,
                60, TimeUnit.SECONDS, new java.util.concurrent.ArrayBlockingQueue<>(queued), daemonThreads(prefix));
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    static java.util.concurrent.ThreadFactory daemonThreads(String prefix) {
        java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
