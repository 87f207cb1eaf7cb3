package io.kuasar.host.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kuasar.spi.TaskEvent;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class EventHubTest {
    private final EventHub hub = new EventHub();
    private final List<String> seen = new CopyOnWriteArrayList<>();

    EventHubTest() {
        hub.bindSubscriber((namespace, e) -> seen.add(namespace + " " + e.containerId()));
    }

    @AfterEach
    void close() {
        hub.close();
    }

    @Test
    void eventsOfAKnownSandboxGoToItsNamespace() {
        hub.remember("pod", "k8s.io");
        hub.publish(new TaskEvent.Started("pod", "c1", 42));
        assertEquals(List.of("k8s.io c1"), seen);
    }

    @Test
    void eventsPublishedBeforeTheNamespaceIsKnownWaitForItInOrder() {
        // A driver reporting exits from inside recover(): the router learns the namespace from recover's answer.
        hub.publish(new TaskEvent.Started("pod", "c1", 42));
        hub.publish(new TaskEvent.OutOfMemory("pod", "c2"));
        assertEquals(List.of(), seen);
        hub.remember("pod", "k8s.io");
        hub.publish(new TaskEvent.Started("pod", "c3", 43));
        assertEquals(List.of("k8s.io c1", "k8s.io c2", "k8s.io c3"), seen);
    }

    @Test
    void eventsOfASandboxNeverToldGoToDefaultAfterTheWait() throws Exception {
        hub.unplacedWaitMs = 50;
        hub.publish(new TaskEvent.Started("ghost", "c1", 42));
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (seen.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(List.of("default c1"), seen);
    }
}
