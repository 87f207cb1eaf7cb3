package io.kuasar.endpoint;

import static io.kuasar.endpoint.ProtoMapping.timestamp;
import static io.kuasar.endpoint.ProtoMapping.uint32;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.kuasar.api.containerd.events.*;
import io.kuasar.api.containerd.services.events.ttrpc.v1.ForwardRequest;
import io.kuasar.api.containerd.types.Envelope;
import io.kuasar.host.ContainerdObserver;
import io.kuasar.host.EventSubscriber;
import io.kuasar.spi.TaskEvent;
import io.kuasar.ttrpc.TtrpcClient;
import io.kuasar.ttrpc.TtrpcEventLoops;
import io.netty.channel.EventLoopGroup;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/**
 * Sends task events to containerd's ttrpc events service ({@code Forward}) at {@code kuasar.containerd.ttrpc}
 * (default /run/containerd/containerd.sock.ttrpc), in order, from one thread. When
 * containerd is unreachable the events wait and are retried with back-off; nothing is dropped without a log line.
 */
@Component(service = EventSubscriber.class)
public final class EventForwarder implements EventSubscriber, AutoCloseable {
    private static final Logger LOG = System.getLogger(EventForwarder.class.getName());
    static final String SERVICE = "containerd.services.events.ttrpc.v1.Events";
    static final int MAX_QUEUED = 100_000;

    private final Path address;
    private final BlockingQueue<Envelope> queue = new LinkedBlockingQueue<>(MAX_QUEUED);
    private final Thread sender;
    /** The client's event loop, this component's own: nothing of it outlives the bundle. */
    private final EventLoopGroup loop = TtrpcEventLoops.newGroup(1, "kuasar-events");
    private volatile boolean closed;
    private TtrpcClient client;
    /** Told of each attempt (kuasar status, metrics); optional so that events flow whatever else is there. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile ContainerdObserver observer;

    @Activate
    public EventForwarder(BundleContext context) {
        this(Path.of(Endpoint.property(context, "kuasar.containerd.ttrpc", "/run/containerd/containerd.sock.ttrpc")));
    }

    EventForwarder(Path address) {
        this.address = address;
        this.sender = new Thread(this::run, "kuasar-event-forwarder");
        sender.setDaemon(true);
        sender.start();
    }

    @Override
    public void onEvent(String namespace, TaskEvent event) {
        Envelope envelope = envelope(namespace, event, Instant.now());
        if (!queue.offer(envelope)) {
            LOG.log(Level.ERROR, "event queue full ({0}): dropped {1} {2}", MAX_QUEUED, envelope.getTopic(), event);
        }
    }

    private void run() {
        long backoffMillis = 100;
        Envelope next = null;
        while (!closed) {
            try {
                if (next == null) {
                    next = queue.take();
                }
                if (client == null) {
                    client = TtrpcClient.connect(address, loop);
                }
                client.call(SERVICE, "Forward", ForwardRequest.newBuilder().setEnvelope(next).build(), Map.of(),
                        Duration.ofSeconds(10)).get();
                observed(null);
                next = null;
                backoffMillis = 100;
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                LOG.log(Level.WARNING, "cannot forward {0} to containerd at {1}, will retry: {2}",
                        next == null ? "event" : next.getTopic(), address, e.getMessage());
                observed(String.valueOf(e.getMessage()));
                closeClient();
                sleep(backoffMillis);
                backoffMillis = Math.min(backoffMillis * 2, 5000);
            }
        }
    }

    private void observed(String problem) {
        ContainerdObserver o = observer;
        if (o != null) {
            o.forwarded(address.toString(), problem);
        }
    }

    private void closeClient() {
        if (client != null) {
            client.close();
            client = null;
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    @Deactivate
    public void close() {
        closed = true;
        sender.interrupt();
        closeClient();
        loop.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
    }

    /** containerd's envelope: its topic and the event packed with containerd's bare type URL (no type.googleapis.com). */
    static Envelope envelope(String namespace, TaskEvent event, Instant now) {
        Message body = body(event);
        Any packed = Any.newBuilder().setTypeUrl(body.getDescriptorForType().getFullName())
                .setValue(body.toByteString()).build();
        return Envelope.newBuilder().setTimestamp(timestamp(now)).setNamespace(namespace).setTopic(topic(event))
                .setEvent(packed).build();
    }

    /** containerd's topic for each event type. */
    static String topic(TaskEvent event) {
        if (event instanceof TaskEvent.Created) return "/tasks/create";
        if (event instanceof TaskEvent.Started) return "/tasks/start";
        if (event instanceof TaskEvent.Exited) return "/tasks/exit";
        if (event instanceof TaskEvent.Deleted) return "/tasks/delete";
        if (event instanceof TaskEvent.ExecAdded) return "/tasks/exec-added";
        if (event instanceof TaskEvent.ExecStarted) return "/tasks/exec-started";
        if (event instanceof TaskEvent.Paused) return "/tasks/paused";
        if (event instanceof TaskEvent.Resumed) return "/tasks/resumed";
        if (event instanceof TaskEvent.OutOfMemory) return "/tasks/oom";
        return "/tasks/checkpointed";
    }

    private static Message body(TaskEvent event) {
        if (event instanceof TaskEvent.Created e) {
            return TaskCreate.newBuilder().setContainerId(e.containerId()).setBundle(e.bundle())
                    .addAllRootfs(ProtoMapping.protoMounts(e.rootfs())).setIo(TaskIO.newBuilder()
                            .setStdin(e.stdio().stdin()).setStdout(e.stdio().stdout())
                            .setStderr(e.stdio().stderr()).setTerminal(e.stdio().terminal()))
                    .setCheckpoint(e.checkpoint()).setPid(uint32(e.pid())).build();
        }
        if (event instanceof TaskEvent.Started e) {
            return TaskStart.newBuilder().setContainerId(e.containerId()).setPid(uint32(e.pid())).build();
        }
        if (event instanceof TaskEvent.Exited e) {
            return TaskExit.newBuilder().setContainerId(e.containerId()).setId(processId(e.containerId(), e.execId()))
                    .setPid(uint32(e.exit().pid())).setExitStatus(e.exit().code())
                    .setExitedAt(timestamp(e.exit().exitedAt())).build();
        }
        if (event instanceof TaskEvent.Deleted e) {
            return TaskDelete.newBuilder().setContainerId(e.containerId()).setId(processId(e.containerId(), e.execId()))
                    .setPid(uint32(e.exit().pid())).setExitStatus(e.exit().code())
                    .setExitedAt(timestamp(e.exit().exitedAt())).build();
        }
        if (event instanceof TaskEvent.ExecAdded e) {
            return TaskExecAdded.newBuilder().setContainerId(e.containerId()).setExecId(e.execId()).build();
        }
        if (event instanceof TaskEvent.ExecStarted e) {
            return TaskExecStarted.newBuilder().setContainerId(e.containerId()).setExecId(e.execId())
                    .setPid(uint32(e.pid())).build();
        }
        if (event instanceof TaskEvent.Paused e) {
            return TaskPaused.newBuilder().setContainerId(e.containerId()).build();
        }
        if (event instanceof TaskEvent.Resumed e) {
            return TaskResumed.newBuilder().setContainerId(e.containerId()).build();
        }
        if (event instanceof TaskEvent.OutOfMemory e) {
            return TaskOOM.newBuilder().setContainerId(e.containerId()).build();
        }
        TaskEvent.Checkpointed e = (TaskEvent.Checkpointed) event;
        return TaskCheckpointed.newBuilder().setContainerId(e.containerId()).setCheckpoint(e.checkpoint()).build();
    }

    /** containerd names the init process by its container id. */
    private static String processId(String containerId, String execId) {
        return execId.isEmpty() ? containerId : execId;
    }
}
