package io.kuasar.host.internal;

import static io.kuasar.host.internal.RouterTest.kill;
import static io.kuasar.host.internal.RouterTest.props;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.host.internal.RouterTest.RecordingDriver;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.TypedData;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The router across a driver's absence: the gate, the bound, other drivers, re-asked Wait and exit stages. */
class RouterUpgradeTest {
    private static final Duration BOUND = Duration.ofMillis(400);
    private final List<String> retired = new ArrayList<>();
    private static final Duration DRAIN = Duration.ofMillis(300);
    /** Quiet bound zero: a leaving instance with a call inside drains at once (RouterQuietLeaveTest: before that). */
    private final Router router = new Router(new EventHub(), BOUND, Duration.ZERO, DRAIN,
            (old, by) -> retired.add(old.serviceId() + " by " + by.serviceId()));
    private final RecordingDriver runc = new RecordingDriver("runc");
    private final RecordingDriver wasm = new RecordingDriver("wasm");

    RouterUpgradeTest() throws SandboxException {
        router.bindDriver(runc, props("runc", 1));
        router.bindDriver(wasm, props("wasm", 2));
        router.create("runc", spec("pod1"));
        router.create("wasm", spec("w1"));
    }

    private static SandboxSpec spec(String id) {
        return new SandboxSpec(id, "k8s.io", "", null, null, TypedData.EMPTY, null, null);
    }

    private static RecordingDriver newVersion(String name, String... persisted) {
        RecordingDriver d = new RecordingDriver(name);
        d.persisted.addAll(List.of(persisted));
        return d;
    }

    @Test
    void whileTheDriverIsAwayCallsWaitTheBoundThenFailUnavailableNamingIt() throws Exception {
        router.unbindDriver(runc, props("runc", 1));
        long start = System.nanoTime();
        SandboxException e = assertThrows(SandboxException.class, () -> kill(router, "pod1", "c1"));
        long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(SandboxException.Code.UNAVAILABLE, e.code());
        assertTrue(e.getMessage().contains("\"runc\""), e.getMessage());
        assertTrue(waitedMs >= BOUND.toMillis() - 20, "waited " + waitedMs + " ms");
        assertEquals(SandboxException.Code.UNAVAILABLE,
                assertThrows(SandboxException.class, () -> router.status("runc", "pod1", false)).code());
        assertEquals(SandboxException.Code.UNAVAILABLE,
                assertThrows(SandboxException.class, () -> router.create("runc", spec("pod2"))).code());
    }

    /** Runs {@code call} on another thread. */
    static CompletableFuture<Void> async(Callable<?> call) {
        return CompletableFuture.runAsync(() -> {
            try {
                call.call();
            } catch (Exception e) {
                throw new CompletionException(e);
            }
        });
    }

    /** Kills c1 of pod1 on another thread, the call held inside the runc instance until {@code release}. */
    private CompletableFuture<Void> killHeldInside(CompletableFuture<Void> release) throws InterruptedException {
        CountDownLatch inside = new CountDownLatch(1);
        runc.beforeKill = () -> {
            inside.countDown();
            release.join();
        };
        CompletableFuture<Void> call = async(() -> {
            kill(router, "pod1", "c1");
            return null;
        });
        assertTrue(inside.await(2, TimeUnit.SECONDS), "the call is inside the instance");
        return call;
    }

    @Test
    void aLeavingInstanceFinishesTheCallsInsideItAndNewCallsGoToItsSuccessor() throws Exception {
        CompletableFuture<Void> release = new CompletableFuture<>();
        CompletableFuture<Void> first = killHeldInside(release);
        CompletableFuture<Void> leaving = async(() -> { router.unbindDriver(runc, props("runc", 1)); return null; });
        Thread.sleep(100);
        assertFalse(leaving.isDone(), "the instance does not leave while a call is inside it");
        CompletableFuture<Void> second = async(() -> { kill(router, "pod1", "c2"); return null; });
        Thread.sleep(50);
        assertFalse(second.isDone(), "a new call waits at the gate, not in the leaving instance");
        release.complete(null);
        first.get(2, TimeUnit.SECONDS);
        leaving.get(2, TimeUnit.SECONDS);
        RecordingDriver upgraded = newVersion("runc", "pod1");
        router.bindDriver(upgraded, props("runc", 3));
        second.get(2, TimeUnit.SECONDS);
        assertEquals(List.of("kill c1"), runc.taskCalls, "the call inside finished on the instance it entered");
        assertEquals(List.of("kill c2"), upgraded.taskCalls, "the later call went to the successor");
    }

    @Test
    void aNewcomerArrivingWhileTheOldInstanceDrainsRecoversOnlyAfterIt() throws Exception {
        CompletableFuture<Void> release = new CompletableFuture<>();
        CompletableFuture<Void> first = killHeldInside(release);
        CompletableFuture<Void> leaving = async(() -> { router.unbindDriver(runc, props("runc", 1)); return null; });
        Thread.sleep(50);
        RecordingDriver upgraded = newVersion("runc", "pod1");
        router.bindDriver(upgraded, props("runc", 3)); // arrives while the old one still runs a call
        assertEquals(0, upgraded.recoveries, "no recovery while the old instance is inside a call");
        release.complete(null);
        first.get(2, TimeUnit.SECONDS);
        leaving.get(2, TimeUnit.SECONDS);
        assertEquals(1, upgraded.recoveries, "recovered once, after the old instance finished");
        kill(router, "pod1", "c2");
        assertEquals(List.of("kill c2"), upgraded.taskCalls);
    }

    @Test
    void aCallStuckPastTheDrainBoundDoesNotHoldTheUpgrade() throws Exception {
        CompletableFuture<Void> release = new CompletableFuture<>();
        CompletableFuture<Void> stuck = killHeldInside(release);
        long start = System.nanoTime();
        router.unbindDriver(runc, props("runc", 1));
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(tookMs >= DRAIN.toMillis() - 20 && tookMs < DRAIN.toMillis() + 1000, "left after " + tookMs + " ms");
        router.bindDriver(newVersion("runc", "pod1"), props("runc", 3));
        release.complete(null);
        stuck.get(2, TimeUnit.SECONDS);
    }

    @Test
    void controllerCallsPassTheSameGate() throws Exception {
        CompletableFuture<Void> release = new CompletableFuture<>();
        CompletableFuture<Void> first = killHeldInside(release);
        CompletableFuture<Void> leaving = async(() -> { router.unbindDriver(runc, props("runc", 1)); return null; });
        Thread.sleep(50);
        RecordingDriver upgraded = newVersion("runc", "pod1");
        CompletableFuture<Void> stop = async(() -> { router.stop("runc", "pod1", Duration.ZERO); return null; });
        Thread.sleep(50);
        assertFalse(stop.isDone(), "Stop waits while the leaving instance drains");
        release.complete(null);
        leaving.get(2, TimeUnit.SECONDS);
        router.bindDriver(upgraded, props("runc", 3));
        stop.get(2, TimeUnit.SECONDS);
        first.get(2, TimeUnit.SECONDS);
        assertFalse(runc.calls.contains("stop pod1"));
        assertTrue(upgraded.calls.contains("stop pod1"), "" + upgraded.calls);
    }

    @Test
    void otherDriversAreNotSlowedAndUnknownSandboxersStillFailAtOnce() throws Exception {
        router.unbindDriver(runc, props("runc", 1));
        long start = System.nanoTime();
        kill(router, "w1", "c1");
        router.status("wasm", "w1", false);
        SandboxException e = assertThrows(SandboxException.class, () -> router.create("nope", spec("x")));
        assertEquals(SandboxException.Code.NOT_FOUND, e.code());
        assertTrue(System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(BOUND.toMillis() / 2));
        assertEquals(List.of("kill c1"), wasm.taskCalls);
    }

    @Test
    void aCallWaitingAtTheGateGoesToTheDriverThatComesBack() throws Exception {
        router.unbindDriver(runc, props("runc", 1));
        RecordingDriver upgraded = newVersion("runc", "pod1");
        CompletableFuture<Void> call = async(() -> { kill(router, "pod1", "c1"); return null; });
        Thread.sleep(100);
        assertFalse(call.isDone(), "the call waits for the driver");
        router.bindDriver(upgraded, props("runc", 3));
        call.get(2, TimeUnit.SECONDS);
        assertEquals(List.of("kill c1"), upgraded.taskCalls);
    }

    @Test
    void aPendingWaitIsAskedAgainOfTheNewDriverAndAnswersItsExit() throws Exception {
        CompletableFuture<ExitStatus> wait = router.waitTask("pod1", "c1", "").toCompletableFuture();
        router.unbindDriver(runc, props("runc", 1));
        runc.waitAnswer.complete(new ExitStatus(10, 255, Instant.EPOCH)); // a departed instance's answer: ignored
        assertFalse(wait.isDone());
        RecordingDriver upgraded = newVersion("runc", "pod1");
        router.bindDriver(upgraded, props("runc", 3));
        assertEquals(List.of("wait c1"), upgraded.taskCalls, "asked again after recovery");
        assertFalse(wait.isDone());
        upgraded.waitAnswer.complete(new ExitStatus(10, 7, Instant.EPOCH));
        assertEquals(7, wait.get(1, TimeUnit.SECONDS).code());
    }

    @Test
    void aPendingSandboxExitIsAskedAgainOfTheNewDriver() throws Exception {
        CompletableFuture<ExitStatus> exit = router.exit("runc", "pod1").toCompletableFuture();
        router.unbindDriver(runc, props("runc", 1));
        RecordingDriver upgraded = newVersion("runc", "pod1");
        upgraded.exitAnswer.complete(new ExitStatus(0, 0, Instant.EPOCH));
        router.bindDriver(upgraded, props("runc", 3));
        assertEquals(0, exit.get(1, TimeUnit.SECONDS).code());
        assertTrue(upgraded.calls.contains("exit pod1"), upgraded.calls.toString());
    }

    @Test
    void anAnswerBeforeTheDriverLeavesIsKept() throws Exception {
        CompletableFuture<ExitStatus> wait = router.waitTask("pod1", "c1", "").toCompletableFuture();
        runc.waitAnswer.complete(new ExitStatus(10, 3, Instant.EPOCH));
        router.unbindDriver(runc, props("runc", 1));
        RecordingDriver upgraded = newVersion("runc", "pod1");
        router.bindDriver(upgraded, props("runc", 3));
        assertEquals(3, wait.get(1, TimeUnit.SECONDS).code());
        assertEquals(List.of(), upgraded.taskCalls, "nothing left to ask again");
    }

    @Test
    void aNewerDriverStandsByUntilTheServingOneLeavesThenTakesOver() throws Exception {
        RecordingDriver newer = newVersion("runc", "pod1");
        router.bindDriver(newer, props("runc", 5));
        assertEquals(List.of("1 by 5"), retired, "the outranked serving driver is retired");
        kill(router, "pod1", "c1");
        assertEquals(List.of("kill c1"), runc.taskCalls, "the serving driver serves until it leaves");
        assertEquals(List.of(), newer.calls);
        router.unbindDriver(runc, props("runc", 1));
        kill(router, "pod1", "c2");
        assertEquals(List.of("kill c2"), newer.taskCalls);
    }

    @Test
    void anOlderOrLowerRankedNewcomerDoesNotRetireTheServingDriver() {
        router.bindDriver(newVersion("runc"), java.util.Map.of(io.kuasar.spi.SandboxDriver.SANDBOXER, "runc",
                "service.id", 6L, "service.ranking", -1));
        assertEquals(List.of(), retired);
    }
}
