package io.kuasar.driver.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskService;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PodDriverTest {
    record Saved(String id, String state, long pid) {
    }

    static final class Pod extends PodRecord<ContainerRecord<ProcessRecord>> {
        Pod(String id) {
            super(id, "k8s.io", null, "h", Instant.now(), Map.of("a", "b"));
        }

        @Override
        public synchronized SandboxStatus status(boolean verbose) {
            return new SandboxStatus(id, "test", namespace, state, pid, createdAt, exitedAt, "", Map.of());
        }
    }

    /** Records the steps the base calls; a start of a pod named "bad" fails. */
    static final class Driver extends PodDriver<Pod, Saved> {
        final List<String> steps = new ArrayList<>();

        Driver(Path dir) throws Exception {
            super(new PodStore<>(dir, Saved.class, Saved::id, p -> new Saved(p.id, p.state.name(), p.pid)),
                    Duration.ofSeconds(7));
        }

        @Override
        protected Pod newPod(String id, SandboxSpec spec) {
            return new Pod(id);
        }

        @Override
        protected SandboxStarted startPod(Pod pod) throws SandboxException {
            steps.add("start " + pod.id);
            if (pod.id.equals("bad")) {
                throw SandboxException.internal("no such kernel", null);
            }
            synchronized (pod) {
                pod.pid = 42;
                pod.state = SandboxStatus.State.READY;
            }
            return started(pod);
        }

        @Override
        protected void stopPod(Pod pod, Duration grace) {
            steps.add("stop " + pod.id + " " + grace.toSeconds());
        }

        @Override
        protected void removePod(Pod pod) {
            steps.add("remove " + pod.id);
        }

        @Override
        protected TaskService tasksOf(Pod pod) {
            return null;
        }

        @Override
        public Collection<SandboxStatus> recover() {
            return List.of();
        }
    }

    private static SandboxSpec spec(String id) {
        return new SandboxSpec(id, "k8s.io", "", List.of(), null, null, Map.of(), Map.of());
    }

    @Test
    void aReplayedStartGetsTheFirstAnswerAndStopAndShutdownRunTheirStepsOnce(@TempDir Path dir) throws Exception {
        Driver d = new Driver(dir);
        d.create(spec("p1"));
        assertThrows(SandboxException.class, () -> d.create(spec("p1")), "a known id");
        assertEquals(42, d.start("p1").pid());
        assertEquals(42, d.start("p1").pid());
        d.stop("p1", null);
        d.stop("p1", Duration.ofSeconds(1));
        assertEquals(SandboxStatus.State.NOTREADY, d.status("p1", false).state());
        assertTrue(d.exit("p1").toCompletableFuture().isDone());
        d.shutdown("p1");
        d.shutdown("p1");
        assertEquals(List.of("start p1", "stop p1 7", "remove p1"), d.steps);
        assertTrue(Files.notExists(dir.resolve("p1.json")));
    }

    @Test
    void aFailedStartRemovesThePod(@TempDir Path dir) throws Exception {
        Driver d = new Driver(dir);
        d.create(spec("bad"));
        assertThrows(SandboxException.class, () -> d.start("bad"));
        assertEquals(List.of("start bad", "remove bad"), d.steps);
        assertThrows(SandboxException.class, () -> d.status("bad", false));
        d.shutdown("bad"); // containerd may still ask: it succeeds
    }
}
