package io.kuasar.endpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Empty;
import io.kuasar.api.containerd.events.TaskExit;
import io.kuasar.api.containerd.services.events.ttrpc.v1.ForwardRequest;
import io.kuasar.api.containerd.types.Envelope;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.TaskEvent;
import io.kuasar.ttrpc.MethodHandler;
import io.kuasar.ttrpc.TtrpcServer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EventForwarderTest {
    @TempDir
    Path dir;

    @Test
    void exitEventCarriesContainerdsTopicTypeUrlAndNamespace() throws Exception {
        Instant at = Instant.parse("2026-11-29T10:00:00.5Z");
        Envelope e = EventForwarder.envelope("k8s.io",
                new TaskEvent.Exited("pod", "ctr", "", new ExitStatus(42, 3, at)), Instant.now());
        assertEquals("/tasks/exit", e.getTopic());
        assertEquals("k8s.io", e.getNamespace());
        assertEquals("containerd.events.TaskExit", e.getEvent().getTypeUrl());
        TaskExit exit = TaskExit.parseFrom(e.getEvent().getValue());
        assertEquals("ctr", exit.getContainerId());
        assertEquals("ctr", exit.getId(), "the init process is named by its container id");
        assertEquals(3, exit.getExitStatus());
        assertEquals(42, exit.getPid());
        assertEquals(500_000_000, exit.getExitedAt().getNanos());
    }

    @Test
    void execEventsNameTheExec() throws Exception {
        Envelope e = EventForwarder.envelope("ns", new TaskEvent.ExecStarted("pod", "ctr", "exec1", 7), Instant.now());
        assertEquals("/tasks/exec-started", e.getTopic());
        assertEquals("containerd.events.TaskExecStarted", e.getEvent().getTypeUrl());
    }

    @Test
    void eventsWaitForContainerdAndArriveInOrder() throws Exception {
        Path socket = dir.resolve("containerd.sock.ttrpc");
        BlockingQueue<Envelope> received = new LinkedBlockingQueue<>();
        try (EventForwarder forwarder = new EventForwarder(socket)) {
            // containerd is not there yet: the events must wait, not vanish.
            for (int i = 0; i < 5; i++) {
                forwarder.onEvent("k8s.io", new TaskEvent.Started("pod", "c" + i, i));
            }
            Thread.sleep(300);
            try (TtrpcServer containerd = new TtrpcServer(Executors.newCachedThreadPool())) {
                containerd.register(EventForwarder.SERVICE, "Forward",
                        MethodHandler.of(ForwardRequest.parser(), (ctx, request) -> {
                            received.add(request.getEnvelope());
                            return CompletableFuture.completedFuture(Empty.getDefaultInstance());
                        }));
                containerd.listen(socket);
                for (int i = 0; i < 5; i++) {
                    Envelope e = received.poll(15, TimeUnit.SECONDS);
                    assertEquals("/tasks/start", e == null ? "nothing" : e.getTopic());
                    assertEquals("c" + i, io.kuasar.api.containerd.events.TaskStart.parseFrom(e.getEvent().getValue())
                            .getContainerId());
                }
            }
        }
    }
}
