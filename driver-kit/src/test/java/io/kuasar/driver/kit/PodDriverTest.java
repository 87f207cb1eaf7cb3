package io.kuasar.driver.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TypedData;
import java.nio.charset.StandardCharsets;
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
        protected void updateResources(Pod pod, JsonNode resources) {
            steps.add("resources " + pod.id + " " + resources);
        }

        /** Pods named "other..." belong to another sandboxer sharing the store. */
        @Override
        protected boolean ours(Saved persisted) {
            return !persisted.id().startsWith("other");
        }

        @Override
        protected Pod restore(Saved persisted) {
            steps.add("restore " + persisted.id());
            Pod pod = new Pod(persisted.id());
            pod.state = SandboxStatus.State.valueOf(persisted.state());
            pod.pid = persisted.pid();
            return pod;
        }

        @Override
        protected void resume(Pod pod) {
            steps.add("resume " + pod.id);
        }

        @Override
        protected void beforeRecovery() {
            steps.add("before");
        }
    }

    /** A store on {@code dir} holding started pods p1 and p2, and other1 of another sandboxer. */
    private static void persistThree(Path dir) throws Exception {
        Driver first = new Driver(dir);
        for (String id : List.of("p1", "p2", "other1")) {
            first.create(spec(id));
            first.start(id);
            first.store.save(first.pods.get(id)); // a driver's start saves the pod it made READY
        }
    }

    @Test
    void recoverRunsItsOnceStepThenRestoresAndResumesEachPodOfOurs(@TempDir Path dir) throws Exception {
        persistThree(dir);
        Driver d = new Driver(dir);
        Collection<SandboxStatus> recovered = d.recover();
        assertEquals(List.of("p1", "p2"), recovered.stream().map(SandboxStatus::id).sorted().toList());
        assertEquals("before", d.steps.get(0));
        assertTrue(d.steps.containsAll(List.of("restore p1", "resume p1", "restore p2", "resume p2")), d.steps.toString());
        assertEquals(5, d.steps.size(), d.steps.toString());
        assertEquals(SandboxStatus.State.READY, d.status("p1", false).state());
    }

    @Test
    void adoptRestoresAndResumesOnePodAndRefusesOneNotOursOrNotPersisted(@TempDir Path dir) throws Exception {
        persistThree(dir);
        Driver d = new Driver(dir);
        assertEquals(42, d.adopt("p2").pid());
        assertEquals(List.of("restore p2", "resume p2"), d.steps);
        assertEquals(SandboxStatus.State.READY, d.status("p2", false).state());
        for (String id : List.of("other1", "p9")) {
            SandboxException e = assertThrows(SandboxException.class, () -> d.adopt(id));
            assertEquals(SandboxException.Code.NOT_FOUND, e.code(), id);
        }
        assertThrows(SandboxException.class, () -> d.status("p1", false)); // only the adopted pod is live
    }

    @Test
    void aStoreRestoresPodsOnlyWhenGivenHow(@TempDir Path dir) throws Exception {
        PodStore<Pod, Saved> with = new PodStore<>(dir, Saved.class, Saved::id, p -> new Saved(p.id, "READY", 1),
                r -> new Pod(r.id()));
        assertEquals("p1", with.restore(new Saved("p1", "READY", 1)).id);
        PodStore<Pod, Saved> without = new PodStore<>(dir, Saved.class, Saved::id, p -> new Saved(p.id, "READY", 1));
        assertThrows(UnsupportedOperationException.class, () -> without.restore(new Saved("p1", "READY", 1)));
    }

    @Test
    void warmUpRestoresOnePodOfOursAndMakesNothingLive(@TempDir Path dir) throws Exception {
        persistThree(dir);
        Driver d = new Driver(dir);
        Pod warmed = d.warmUp().orElseThrow();
        assertTrue(warmed.id.startsWith("p"), warmed.id);
        assertEquals(List.of("restore " + warmed.id), d.steps);
        assertThrows(SandboxException.class, () -> d.status(warmed.id, false));
        assertTrue(new Driver(dir.resolve("empty")).warmUp().isEmpty());
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

    private static SandboxSpec withSpec(String id, String json) {
        return new SandboxSpec(id, "k8s.io", "", List.of(), null, new TypedData("types.containerd.io/"
                + SandboxUpdate.SPEC_TYPE, json.getBytes(StandardCharsets.UTF_8)), Map.of(), Map.of());
    }

    @Test
    void anUpdateAppliesTheSpecsResourcesOnlyToAReadyPodAndOnlyWhenTheSpecChanged(@TempDir Path dir)
            throws Exception {
        Driver d = new Driver(dir);
        d.create(spec("p1"));
        String json = "{\"linux\":{\"resources\":{\"memory\":{\"limit\":1048576}}}}";
        SandboxException created = assertThrows(SandboxException.class, () -> d.update(withSpec("p1", json),
                List.of("spec")));
        assertEquals(SandboxException.Code.FAILED_PRECONDITION, created.code());
        d.start("p1");
        d.update(withSpec("p1", json), List.of("labels.team", "extensions"));
        d.update(withSpec("p1", json), List.of("spec"));
        d.update(withSpec("p1", json), List.of());
        d.update(withSpec("p1", "{\"annotations\":{\"a\":\"b\"}}"), List.of("spec"));
        assertEquals(List.of("start p1", "resources p1 {\"memory\":{\"limit\":1048576}}",
                "resources p1 {\"memory\":{\"limit\":1048576}}"), d.steps);
    }

    @Test
    void anUpdateNamingABadFieldOrABadSpecChangesNothing(@TempDir Path dir) throws Exception {
        Driver d = new Driver(dir);
        d.create(spec("p1"));
        d.start("p1");
        String json = "{\"linux\":{\"resources\":{}}}";
        assertRefused(d, withSpec("p1", json), List.of("spec", "runtime"), "field runtime cannot change");
        assertRefused(d, withSpec("p1", json), List.of("spec", "color"), "unknown field color");
        assertRefused(d, withSpec("p1", "[1]"), List.of("spec"), "not a JSON object");
        assertRefused(d, withSpec("p1", "{\"linux\":{\"resources\":7}}"), List.of("spec"), "linux.resources");
        assertRefused(d, new SandboxSpec("p1", "k8s.io", "", List.of(), null, new TypedData("x/Other", new byte[1]),
                Map.of(), Map.of()), List.of("spec"), "x/Other is not");
        assertEquals(List.of("start p1"), d.steps);
        SandboxException missing = assertThrows(SandboxException.class, () -> d.update(spec("p9"), List.of()));
        assertEquals(SandboxException.Code.NOT_FOUND, missing.code());
        SandboxException metrics = assertThrows(SandboxException.class, () -> d.metrics("p1"));
        assertEquals(SandboxException.Code.UNIMPLEMENTED, metrics.code());
    }

    private static void assertRefused(Driver d, SandboxSpec spec, List<String> fields, String says) {
        SandboxException e = assertThrows(SandboxException.class, () -> d.update(spec, fields));
        assertEquals(SandboxException.Code.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains(says), e.getMessage());
    }
}
