package io.kuasar.host.internal;

import static io.kuasar.host.internal.RouterTest.kill;
import static io.kuasar.host.internal.RouterUpgradeTest.async;
import static io.kuasar.host.internal.RouterTest.props;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.host.SandboxListener;
import io.kuasar.host.internal.RouterTest.RecordingDriver;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxHandover;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TypedData;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** An upgrade of a driver whose instances hand sandboxes over one at a time ({@link SandboxHandoff}). */
class SandboxHandoffTest {
    private final Router router = new Router(new EventHub(), Duration.ofSeconds(2), Duration.ofSeconds(2),
            Duration.ofSeconds(2), (old, by) -> { });
    private final HandingDriver v1 = new HandingDriver();
    private final HandingDriver v2 = new HandingDriver();

    /** A recording driver that hands over: what it holds, and the releases and adoptions asked of it. */
    static final class HandingDriver extends RecordingDriver implements SandboxHandover {
        final Set<String> held = ConcurrentHashMap.newKeySet();
        final List<String> handovers = new CopyOnWriteArrayList<>();

        HandingDriver() {
            super("runc");
        }

        @Override
        public SandboxStatus create(SandboxSpec spec) throws SandboxException {
            held.add(spec.id());
            return super.create(spec);
        }

        @Override
        public void release(String id) throws SandboxException {
            if (!held.remove(id)) {
                throw SandboxException.notFound("sandbox", id);
            }
            handovers.add("release " + id);
        }

        @Override
        public SandboxStatus adopt(String id) {
            held.add(id);
            handovers.add("adopt " + id);
            return status(id);
        }
    }

    SandboxHandoffTest() throws SandboxException {
        router.bindDriver(v1, props("runc", 1));
        router.create("runc", spec("pod1"));
        router.create("runc", spec("pod2"));
        router.bindDriver(v2, props("runc", 2)); // stands by: the newer service, taking over when v1 leaves
    }

    private static SandboxSpec spec(String id) {
        return new SandboxSpec(id, "k8s.io", "", null, null, TypedData.EMPTY, null, null);
    }

    /** A Kill on pod1 held inside v1 until {@code release}, and v1 leaving (on another thread) meanwhile. */
    private record BusyUpgrade(CompletableFuture<Void> busy, CompletableFuture<Void> leaving) {
    }

    /** Starts a Kill on pod1 that stays inside v1 until {@code release}, then v1's leaving; returns once pod2 is adopted. */
    private BusyUpgrade upgradeWhilePod1IsBusy(CompletableFuture<Void> release) throws Exception {
        CountDownLatch inside = new CountDownLatch(1);
        v1.beforeKill = () -> {
            inside.countDown();
            release.join();
        };
        CompletableFuture<Void> busy = async(() -> { kill(router, "pod1", "busy"); return null; });
        assertTrue(inside.await(2, TimeUnit.SECONDS));
        v1.beforeKill = null; // later kills on pod1 go straight through
        CompletableFuture<Void> leaving = async(() -> { router.unbindDriver(v1, props("runc", 1)); return null; });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (!v2.handovers.contains("adopt pod2") && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        return new BusyUpgrade(busy, leaving);
    }

    @Test
    void eachSandboxIsReleasedThenAdoptedAndTheSuccessorNeverRecovers() throws Exception {
        router.unbindDriver(v1, props("runc", 1));
        assertEquals(List.of("release pod1", "release pod2"), v1.handovers);
        assertEquals(List.of("adopt pod1", "adopt pod2"), v2.handovers);
        assertEquals(0, v2.recoveries, "a successor that adopts is not asked to recover");
        kill(router, "pod1", "c1");
        router.create("runc", spec("pod3"));
        assertEquals(List.of("kill c1"), v2.taskCalls);
        assertTrue(v2.calls.contains("create pod3"), v2.calls.toString());
        assertEquals(Set.of("pod1", "pod2", "pod3"), router.owners().keySet());
    }

    @Test
    void aCallInsideOneSandboxHoldsUpOnlyThatSandbox() throws Exception {
        CompletableFuture<Void> release = new CompletableFuture<>();
        BusyUpgrade up = upgradeWhilePod1IsBusy(release);
        assertEquals(List.of("adopt pod2"), v2.handovers, "the quiet sandbox changed hands while pod1 was busy");
        kill(router, "pod2", "other");
        router.create("runc", spec("pod3"));
        assertEquals(List.of("kill other"), v2.taskCalls, "calls on the other sandboxes went to the successor");
        // the busy sandbox stays with the leaving instance until a moment with no call inside: a call on it meanwhile
        // is served there at once rather than waiting for the busy one
        kill(router, "pod1", "meanwhile");
        Thread.sleep(50);
        assertFalse(up.leaving().isDone(), "pod1 is not handed over while a call is inside it");
        release.complete(null);
        up.busy().get(2, TimeUnit.SECONDS);
        up.leaving().get(2, TimeUnit.SECONDS);
        kill(router, "pod1", "after");
        assertEquals(List.of("kill meanwhile", "kill busy"), v1.taskCalls, "pod1's calls until the handover");
        assertEquals(List.of("kill other", "kill after"), v2.taskCalls, "pod1's calls after it went to the adopter");
        assertEquals(List.of("adopt pod2", "adopt pod1"), v2.handovers);
    }

    @Test
    void aSandboxAdoptedAndShutDownWhileAnotherIsStillBusyGetsNoTaskSocketAgain() throws Exception {
        List<String> told = new CopyOnWriteArrayList<>();
        router.addListener(new SandboxListener() {
            @Override
            public void recovered(Collection<SandboxStatus> sandboxes) {
                sandboxes.forEach(s -> told.add("serve " + s.id()));
            }

            @Override
            public void removed(String sandboxId) {
                told.add("removed " + sandboxId);
            }
        });
        CompletableFuture<Void> release = new CompletableFuture<>();
        BusyUpgrade up = upgradeWhilePod1IsBusy(release);
        router.shutdown("runc", "pod2");
        release.complete(null);
        up.busy().get(2, TimeUnit.SECONDS);
        up.leaving().get(2, TimeUnit.SECONDS);
        assertEquals(List.of("serve pod2", "removed pod2", "serve pod1"), told,
                "each adopted sandbox's socket is kept when it is adopted, never after it was removed");
    }

    @Test
    void aWaitAskedOfTheLeavingInstanceIsAskedAgainOfTheAdopterAndAnsweredByIt() throws Exception {
        CompletionStage<ExitStatus> waiting = router.waitTask("pod1", "c1", "");
        router.unbindDriver(v1, props("runc", 1));
        assertEquals(List.of("wait c1"), v2.taskCalls, "the Wait was asked again of the adopter");
        v1.waitAnswer.complete(new ExitStatus(1, 255, Instant.EPOCH)); // the leaving instance's answer does not count
        v2.waitAnswer.complete(new ExitStatus(1, 7, Instant.EPOCH));
        assertEquals(7, waiting.toCompletableFuture().get(2, TimeUnit.SECONDS).code());
    }

    @Test
    void aSandboxGoneBeforeItsTurnIsNotAdoptedAndItsPendingWaitIsAnsweredByTheSuccessor() throws Exception {
        CompletionStage<ExitStatus> waiting = router.waitTask("pod2", "c1", "");
        v1.held.remove("pod2"); // as if shut down inside the instance while the router still listed it
        router.unbindDriver(v1, props("runc", 1));
        assertEquals(List.of("adopt pod1"), v2.handovers);
        assertEquals(List.of("wait c1"), v2.taskCalls, "the orphaned Wait was asked of the successor, not left hanging");
        v2.waitAnswer.complete(new ExitStatus(1, 3, Instant.EPOCH));
        assertEquals(3, waiting.toCompletableFuture().get(2, TimeUnit.SECONDS).code());
    }

    @Test
    void aSuccessorThatCannotAdoptRecoversEverythingAfterTheInstanceLeft() throws Exception {
        Router plain = new Router(new EventHub(), Duration.ofSeconds(2), Duration.ZERO, Duration.ofSeconds(2),
                (old, by) -> { });
        HandingDriver old = new HandingDriver();
        plain.bindDriver(old, props("runc", 1));
        plain.create("runc", spec("pod1"));
        RecordingDriver older = new RecordingDriver("runc"); // an earlier driver version, without SandboxHandover
        older.persisted.add("pod1");
        plain.bindDriver(older, props("runc", 2));
        plain.unbindDriver(old, props("runc", 1));
        assertEquals(List.of(), old.handovers);
        assertEquals(1, older.recoveries, "the successor recovered, as before handovers");
        kill(plain, "pod1", "c1");
        assertEquals(List.of("kill c1"), older.taskCalls);
    }
}
