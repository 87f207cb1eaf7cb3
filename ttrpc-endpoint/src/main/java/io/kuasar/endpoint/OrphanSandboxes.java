package io.kuasar.endpoint;

import io.grpc.LoadBalancerRegistry;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.internal.PickFirstLoadBalancerProvider;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.kuasar.api.containerd.services.sandbox.v1.StoreGetRequest;
import io.kuasar.api.containerd.services.sandbox.v1.StoreGrpc;
import io.kuasar.host.SandboxRouter;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStatus;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Shuts down the sandboxes this node recovered that containerd no longer has a record of.
 *
 * <p>containerd records a sandbox in its metadata store before it asks us to create it, and deletes the record when
 * our Create or Start fails; it never asks us to stop such a sandbox. A Start that succeeded here but whose answer
 * was lost when the node's JVM died (the keeper relays Task calls, not Controller calls) reads to containerd as a
 * failure: it forgets the sandbox, kubelet retries with a new one, and ours would run on, nobody's. So after a
 * restart the node asks containerd's sandbox Store (gRPC, on containerd's own socket) about each sandbox it
 * recovered; one containerd does not know is stopped and shut down. While containerd cannot be asked, nothing is
 * removed and the question is asked again later.
 */
final class OrphanSandboxes implements AutoCloseable {
    private static final Logger LOG = System.getLogger(OrphanSandboxes.class.getName());
    /** containerd is asked again this often while it cannot be reached (it may be restarting too). */
    private static final Duration RETRY = Duration.ofSeconds(5);
    /** ... for at most this long: a containerd that long away is not coming back for these sandboxes. */
    private static final Duration GIVE_UP = Duration.ofMinutes(10);
    private static final Duration CALL_DEADLINE = Duration.ofSeconds(10);

    private final SandboxRouter router;
    private final Path containerd;
    private final EventLoopGroup loop;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Endpoint.daemonThreads("kuasar-orphan-sandboxes"));

    static {
        // grpc-java finds its load balancers through ServiceLoader, which sees nothing inside a bundle: a client
        // channel then fails every call with "Could not find policy 'pick_first'". Ours needs only that one.
        LoadBalancerRegistry.getDefaultRegistry().register(new PickFirstLoadBalancerProvider());
    }

    OrphanSandboxes(SandboxRouter router, Path containerdSocket, EventLoopGroup loop) {
        this.router = router;
        this.containerd = containerdSocket;
        this.loop = loop;
    }

    /**
     * Checks, in the background, the sandboxes made before {@code started} (by a previous JVM), once the drivers had
     * {@code settle} to recover them, then again while containerd cannot be reached. Later ones are left alone: they
     * are this JVM's, and a client of our Controller other than containerd may make them.
     */
    void sweepInBackground(Instant started, Duration settle) {
        long giveUp = System.nanoTime() + GIVE_UP.toNanos();
        Runnable attempt = new Runnable() {
            private boolean told;

            @Override
            public void run() {
                List<SandboxStatus> todo = router.sandboxes().stream()
                        .filter(s -> s.createdAt() != null && s.createdAt().isBefore(started)).toList();
                if (todo.isEmpty()) {
                    return; // nothing from before this start: nothing to ask containerd
                }
                try {
                    List<String> removed = sweep(todo);
                    LOG.log(Level.INFO, "asked containerd about the {0} sandbox(es) made before this start: {1}"
                            + " unknown to it, removed", todo.size(), removed.size());
                } catch (StatusRuntimeException e) {
                    if (!told) {
                        told = true;
                        LOG.log(Level.INFO, "containerd at {0} cannot be asked yet which sandboxes it still has ({1});"
                                + " asking again every {2} s", containerd, e.getStatus(), RETRY.toSeconds());
                    }
                    if (System.nanoTime() < giveUp) {
                        timer.schedule(this, RETRY.toMillis(), TimeUnit.MILLISECONDS);
                    } else {
                        LOG.log(Level.WARNING, "containerd at {0} could not be asked about the recovered sandboxes"
                                + " for {1}; any it gave up keep running: {2}", containerd, GIVE_UP, e.getStatus());
                    }
                } catch (RuntimeException | LinkageError e) {
                    LOG.log(Level.WARNING, "cannot ask containerd at " + containerd + " which sandboxes it still has", e);
                }
            }
        };
        timer.schedule(attempt, settle.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Shuts down each of {@code sandboxes} containerd has no record of; returns their ids.
     *
     * @throws StatusRuntimeException when containerd cannot be asked (then nothing was removed for that reason)
     */
    List<String> sweep(Collection<SandboxStatus> sandboxes) {
        List<SandboxStatus> unknown = new ArrayList<>();
        if (sandboxes.isEmpty()) {
            return List.of();
        }
        ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(containerd.toString()))
                .eventLoopGroup(loop).channelType(EpollDomainSocketChannel.class).usePlaintext()
                .overrideAuthority("localhost").maxInboundMessageSize(Endpoint.MAX_CONTROLLER_MESSAGE).build();
        try {
            for (SandboxStatus s : sandboxes) {
                if (!knownToContainerd(channel, s)) {
                    unknown.add(s);
                }
            }
        } finally {
            channel.shutdownNow();
        }
        List<String> removed = new ArrayList<>();
        for (SandboxStatus s : unknown) {
            LOG.log(Level.WARNING, "sandbox {0} ({1}, namespace {2}) is unknown to containerd, which gave it up (a"
                    + " Start whose answer a crash lost?): stopping and removing it", s.id(), s.sandboxer(), s.namespace());
            try {
                router.stop(s.sandboxer(), s.id(), Duration.ZERO);
                router.shutdown(s.sandboxer(), s.id());
                removed.add(s.id());
            } catch (SandboxException e) {
                if (e.code() != SandboxException.Code.NOT_FOUND) { // removed meanwhile: what was wanted
                    LOG.log(Level.WARNING, "cannot remove sandbox " + s.id() + " that containerd gave up", e);
                }
            }
        }
        return removed;
    }

    private static boolean knownToContainerd(ManagedChannel channel, SandboxStatus s) {
        Metadata namespace = new Metadata();
        namespace.put(ControllerService.NAMESPACE, s.namespace());
        try {
            StoreGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(namespace))
                    .withDeadlineAfter(CALL_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
                    .get(StoreGetRequest.newBuilder().setSandboxId(s.id()).build());
            return true;
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
                return false;
            }
            throw e;
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
