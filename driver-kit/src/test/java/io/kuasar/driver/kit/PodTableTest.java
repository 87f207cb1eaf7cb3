package io.kuasar.driver.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class PodTableTest {
    static final class TestPod extends PodRecord<ContainerRecord<ProcessRecord>> {
        TestPod(String id) {
            super(id);
        }

        @Override
        public synchronized SandboxStatus status(boolean verbose) {
            return new SandboxStatus(id, "test", "", state, 0, Instant.EPOCH, exitedAt, "", Map.of());
        }
    }

    /** The persisted state of each pod, by id; {@link #failSave} makes the next saves fail. */
    static final class MemoryRecords implements PodTable.Records<TestPod> {
        final Map<String, SandboxStatus.State> saved = new HashMap<>();
        boolean failSave;

        @Override
        public boolean exists(String id) {
            return saved.containsKey(id);
        }

        @Override
        public void save(TestPod pod) throws SandboxException {
            if (failSave) {
                throw SandboxException.internal("cannot persist sandbox " + pod.id, null);
            }
            saved.put(pod.id, pod.state);
        }

        @Override
        public void remove(String id) {
            saved.remove(id);
        }
    }

    final MemoryRecords records = new MemoryRecords();
    final PodTable<TestPod> pods = new PodTable<>(records);

    private static SandboxStarted started(TestPod pod) {
        synchronized (pod) {
            pod.state = SandboxStatus.State.READY;
        }
        return SandboxStarted.servedByHost(1, Instant.EPOCH);
    }

    @Test
    void createPersistsAndRefusesAKnownId() throws Exception {
        assertEquals(SandboxStatus.State.CREATED, pods.create("p1", TestPod::new).state());
        assertEquals(SandboxStatus.State.CREATED, records.saved.get("p1"));
        SandboxException again = assertThrows(SandboxException.class, () -> pods.create("p1", TestPod::new));
        assertEquals(SandboxException.Code.ALREADY_EXISTS, again.code());
        assertEquals("sandbox p1 already exists", again.getMessage());

        records.saved.put("p2", SandboxStatus.State.READY); // persisted by an earlier instance, not recovered
        assertEquals(SandboxException.Code.ALREADY_EXISTS,
                assertThrows(SandboxException.class, () -> pods.create("p2", TestPod::new)).code());
        assertThrows(SandboxException.class, () -> pods.get("p2"));
    }

    @Test
    void createThatCannotSaveKeepsNothing() {
        records.failSave = true;
        assertThrows(SandboxException.class, () -> pods.create("p1", TestPod::new));
        assertEquals(SandboxException.Code.NOT_FOUND,
                assertThrows(SandboxException.class, () -> pods.get("p1")).code());
    }

    @Test
    void invalidIdIsRefusedBeforeThePodIsMade() {
        assertThrows(SandboxException.class, () -> pods.create("../x", id -> {
            throw new AssertionError("made a pod for an invalid id");
        }));
    }

    @Test
    void stoppedPodCannotStartAgainAndStopIsIdempotent() throws Exception {
        pods.create("p1", TestPod::new);
        pods.start("p1", PodTableTest::started);
        List<Duration> graces = new ArrayList<>();
        pods.stop("p1", null, Duration.ofSeconds(7), (pod, grace) -> graces.add(grace));
        pods.stop("p1", Duration.ofSeconds(1), Duration.ofSeconds(7), (pod, grace) -> graces.add(grace));
        assertEquals(List.of(Duration.ofSeconds(7)), graces, "the second stop does nothing");
        assertEquals(SandboxStatus.State.NOTREADY, records.saved.get("p1"));
        ExitStatus exit = pods.exit("p1").toCompletableFuture().getNow(null);
        assertEquals(0, exit.code());
        assertEquals(exit.exitedAt(), pods.status("p1", false).exitedAt());

        SandboxException e = assertThrows(SandboxException.class, () -> pods.start("p1", PodTableTest::started));
        assertEquals(SandboxException.Code.FAILED_PRECONDITION, e.code());
        assertEquals("sandbox p1 was stopped and cannot be started again", e.getMessage());
    }

    @Test
    void markFirstRecordsTheStopBeforeTheStopperRuns() throws Exception {
        pods.create("p1", TestPod::new);
        pods.start("p1", PodTableTest::started);
        AtomicReference<SandboxStatus> seen = new AtomicReference<>();
        pods.stop("p1", null, Duration.ofSeconds(7), true, (pod, grace) -> seen.set(pod.status(false)));
        assertEquals(SandboxStatus.State.NOTREADY, seen.get().state(), "the stopper sees the pod stopped already");
        ExitStatus exit = pods.exit("p1").toCompletableFuture().getNow(null);
        assertEquals(0, exit.code());
        assertEquals(seen.get().exitedAt(), exit.exitedAt(), "the exit time is taken before the stopper runs");
        assertEquals(SandboxStatus.State.NOTREADY, records.saved.get("p1"));
    }

    @Test
    void addContainerOnlyWhileReadyAndOnce() throws Exception {
        TestPod pod = new TestPod("p1");
        ContainerRecord<ProcessRecord> c = new ContainerRecord<>("c1", java.nio.file.Path.of("/b"), List.of(),
                new ProcessRecord("", new io.kuasar.spi.Stdio("", "", "", false)));
        SandboxException e = assertThrows(SandboxException.class, () -> pod.addContainer(c));
        assertEquals(SandboxException.Code.FAILED_PRECONDITION, e.code());
        assertEquals("sandbox p1 is CREATED, not READY", e.getMessage());
        started(pod);
        pod.addContainer(c);
        assertSame(c, pod.container("c1"));
        e = assertThrows(SandboxException.class, () -> pod.addContainer(c));
        assertEquals(SandboxException.Code.ALREADY_EXISTS, e.code());
        assertEquals("container c1 already exists", e.getMessage());
    }

    @Test
    void exitIsACopy() throws Exception {
        pods.create("p1", TestPod::new);
        pods.exit("p1").toCompletableFuture().complete(new ExitStatus(0, 1, Instant.EPOCH));
        assertFalse(pods.get("p1").exit.isDone());
    }

    @Test
    void shutdownRemovesAndSucceedsAgain() throws Exception {
        pods.create("p1", TestPod::new);
        TestPod pod = pods.get("p1");
        AtomicReference<TestPod> tornDown = new AtomicReference<>();
        pods.shutdown("p1", p -> {
            assertTrue(p.lifecycle.isHeldByCurrentThread());
            tornDown.set(p);
        });
        assertSame(pod, tornDown.get());
        assertNull(records.saved.get("p1"));
        assertTrue(pods.pods().isEmpty());
        assertEquals(0, pod.exit.getNow(null).code());
        pods.shutdown("p1", p -> {
            throw new AssertionError("torn down twice");
        });
        assertEquals(SandboxException.Code.NOT_FOUND,
                assertThrows(SandboxException.class, () -> pods.shutdown("p2", p -> { })).code());

        pods.create("p1", TestPod::new); // the id can be used again, and is then no longer "shut down"
        pods.shutdown("p1", p -> { });
        pods.create("p1", TestPod::new);
        assertEquals(1, pods.pods().size());
    }

    @Test
    void failedShutdownKeepsThePod() throws Exception {
        pods.create("p1", TestPod::new);
        assertThrows(SandboxException.class, () -> pods.shutdown("p1", p -> {
            throw SandboxException.internal("cannot remove", null);
        }));
        assertEquals(SandboxStatus.State.CREATED, pods.status("p1", false).state());
        assertFalse(pods.get("p1").lifecycle.isLocked());
    }

    @Test
    void failedStartIsForgotten() throws Exception {
        pods.create("p1", TestPod::new);
        TestPod pod = pods.get("p1");
        SandboxException e = assertThrows(SandboxException.class, () -> pods.start("p1", p -> {
            try {
                throw SandboxException.internal("boom", null);
            } catch (SandboxException failure) {
                pods.forgetFailed(p, gone -> { });
                throw failure;
            }
        }));
        assertEquals("boom", e.getMessage());
        assertEquals(ExitStatus.UNKNOWN_CODE, pod.exit.getNow(null).code());
        assertFalse(records.exists("p1"));
        pods.shutdown("p1", p -> {
            throw new AssertionError("already removed");
        });
    }

    @Test
    void forgetFailedThatCannotCleanUpOnlyLogs() throws Exception {
        pods.create("p1", TestPod::new);
        pods.forgetFailed(pods.get("p1"), p -> {
            throw SandboxException.internal("busy", null);
        });
        assertEquals(SandboxStatus.State.CREATED, pods.status("p1", false).state());
    }

    @Test
    void recoverRestoresResumesAndAnswersLivePodsAsTheyAre() throws Exception {
        pods.create("live", TestPod::new);
        List<String> resumed = new ArrayList<>();
        List<SandboxStatus> out = pods.recover(List.of("live", "a", "bad", "b"), id -> id, id -> {
            if (id.equals("bad")) {
                throw new IllegalStateException("unreadable");
            }
            return new TestPod(id);
        }, pod -> resumed.add(pod.id));
        assertEquals(List.of("a", "b"), resumed);
        assertEquals(List.of("live", "a", "b"), out.stream().map(SandboxStatus::id).toList());
        assertEquals(3, pods.pods().size());
    }

    @Test
    void podWhoseResumeFailedIsLiveSoItCanBeShutDown() throws Exception {
        List<SandboxStatus> out = pods.recover(List.of("a"), id -> id, TestPod::new, pod -> {
            throw SandboxException.internal("cannot reattach", null);
        });
        assertTrue(out.isEmpty());
        pods.shutdown("a", p -> { });
        assertTrue(pods.pods().isEmpty());
    }
}
