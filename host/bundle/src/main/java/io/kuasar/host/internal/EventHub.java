package io.kuasar.host.internal;

import io.kuasar.host.EventSubscriber;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TaskEvents;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The {@link TaskEvents} drivers publish to. Tags each event with its sandbox's containerd namespace and hands it
 * to the subscriber (the endpoint's forwarder to containerd); while there is none, events wait here, bounded, and
 * an overflow is logged with what was dropped rather than lost silently.
 *
 * <p>An event for a sandbox whose namespace the router has not told yet (a driver reporting exits from inside
 * {@code recover()}, before the router has its answer) waits for {@link #remember}, up to
 * {@link #UNPLACED_WAIT_MS}, then goes to namespace {@code default} with a warning. Events of one sandbox keep
 * their order either way.
 */
@Component(service = {TaskEvents.class, EventHub.class})
public class EventHub implements TaskEvents {
    private static final Logger LOG = System.getLogger(EventHub.class.getName());
    static final int MAX_PENDING = 10_000;
    static final long UNPLACED_WAIT_MS = 10_000;

    private final Map<String, String> namespaces = new ConcurrentHashMap<>();
    /** Guards delivery order: events waiting for a subscriber, and those waiting for their namespace. */
    private final Deque<Object[]> pending = new ArrayDeque<>();
    private final Map<String, List<TaskEvent>> unplaced = new HashMap<>();
    private final ScheduledExecutorService later = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kuasar-event-hub");
        t.setDaemon(true);
        return t;
    });
    long unplacedWaitMs = UNPLACED_WAIT_MS; // shorter in tests
    private volatile EventSubscriber subscriber;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindSubscriber(EventSubscriber s) {
        synchronized (pending) {
            subscriber = s;
            for (Object[] e; (e = pending.poll()) != null; ) {
                s.onEvent((String) e[0], (TaskEvent) e[1]);
            }
        }
    }

    void unbindSubscriber(EventSubscriber s) {
        synchronized (pending) {
            if (subscriber == s) {
                subscriber = null;
            }
        }
    }

    @Override
    public void publish(TaskEvent event) {
        String id = event.sandboxId();
        synchronized (pending) {
            String namespace = namespaces.get(id);
            if (namespace != null) {
                deliver(namespace, event);
                return;
            }
            List<TaskEvent> waiting = unplaced.get(id);
            if (waiting == null) {
                unplaced.put(id, waiting = new ArrayList<>());
                later.schedule(() -> placeInDefault(id), unplacedWaitMs, TimeUnit.MILLISECONDS);
            }
            waiting.add(event);
        }
    }

    /** To the subscriber, or queued until there is one; the caller holds the {@code pending} lock. */
    private void deliver(String namespace, TaskEvent event) {
        EventSubscriber s = subscriber;
        if (s != null) {
            s.onEvent(namespace, event);
            return;
        }
        if (pending.size() >= MAX_PENDING) {
            Object[] dropped = pending.poll();
            LOG.log(Level.ERROR, "no event forwarder for {0} events: dropped {1}", MAX_PENDING, dropped[1]);
        }
        pending.add(new Object[] {namespace, event});
    }

    private void placeInDefault(String sandboxId) {
        synchronized (pending) {
            List<TaskEvent> waiting = unplaced.remove(sandboxId);
            if (waiting != null) {
                LOG.log(Level.WARNING, "{0} event(s) for unknown sandbox {1}: sent to namespace default",
                        waiting.size(), sandboxId);
                waiting.forEach(e -> deliver("default", e));
            }
        }
    }

    /** The router tells each sandbox's namespace when it learns of the sandbox (create or recovery). */
    void remember(String sandboxId, String namespace) {
        String ns = namespace.isEmpty() ? "default" : namespace;
        synchronized (pending) {
            namespaces.put(sandboxId, ns);
            List<TaskEvent> waiting = unplaced.remove(sandboxId);
            if (waiting != null) {
                waiting.forEach(e -> deliver(ns, e));
            }
        }
    }

    void forget(String sandboxId) {
        namespaces.remove(sandboxId);
    }

    @Deactivate
    void close() {
        later.shutdownNow();
    }
}
