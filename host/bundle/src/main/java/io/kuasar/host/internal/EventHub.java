package io.kuasar.host.internal;

import io.kuasar.host.EventSubscriber;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TaskEvents;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The {@link TaskEvents} drivers publish to. Tags each event with its sandbox's containerd namespace and hands it
 * to the subscriber (the endpoint's forwarder to containerd); while there is none, events wait here, bounded, and
 * an overflow is logged with what was dropped rather than lost silently.
 */
@Component(service = {TaskEvents.class, EventHub.class})
public class EventHub implements TaskEvents {
    private static final Logger LOG = System.getLogger(EventHub.class.getName());
    static final int MAX_PENDING = 10_000;

    private final Map<String, String> namespaces = new ConcurrentHashMap<>();
    private final Deque<Object[]> pending = new ArrayDeque<>();
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
        String namespace = namespaceOf(event.sandboxId());
        synchronized (pending) {
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
    }

    /** The router tells each sandbox's namespace when it learns of the sandbox (create or recovery). */
    void remember(String sandboxId, String namespace) {
        namespaces.put(sandboxId, namespace.isEmpty() ? "default" : namespace);
    }

    void forget(String sandboxId) {
        namespaces.remove(sandboxId);
    }

    private String namespaceOf(String sandboxId) {
        String ns = namespaces.get(sandboxId);
        if (ns == null) {
            LOG.log(Level.WARNING, "event for unknown sandbox {0}: sent to namespace default", sandboxId);
            return "default";
        }
        return ns;
    }
}
