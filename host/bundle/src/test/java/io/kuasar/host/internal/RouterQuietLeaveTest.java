package io.kuasar.host.internal;

import static io.kuasar.host.internal.RouterTest.kill;
import static io.kuasar.host.internal.RouterTest.props;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.host.internal.RouterTest.RecordingDriver;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.TypedData;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * A leaving driver instance serves on until a moment with no call inside it, so that no new call waits for a long
 * one (a sandbox Start) to end; when no such moment comes within the quiet bound, it holds new long calls back but
 * answers brief ones (status, exit, Task reads) until the long calls inside have ended.
 */
class RouterQuietLeaveTest {
    private static final Duration QUIET = Duration.ofMillis(1000);
    private static final Duration DRAIN = Duration.ofMillis(2000);
    private final Router router = new Router(new EventHub(), Duration.ofSeconds(3), QUIET, DRAIN, (old, by) -> { });
    private final RecordingDriver runc = new RecordingDriver("runc");
    private final CompletableFuture<Void> release = new CompletableFuture<>();

    RouterQuietLeaveTest() throws SandboxException {
        router.bindDriver(runc, props("runc", 1));
        router.create("runc", new SandboxSpec("pod1", "k8s.io", "", null, null, TypedData.EMPTY, null, null));
    }

    @Test
    void newCallsAreServedByTheLeavingInstanceUntilNoCallIsInsideItThenByItsSuccessor() throws Exception {
        CompletableFuture<Void> first = firstKillHeldInside();
        long start = System.nanoTime();
        CompletableFuture<Void> leaving = async(() -> router.unbindDriver(runc, props("runc", 1)));
        Thread.sleep(100);
        assertFalse(leaving.isDone(), "the instance does not leave while a call is inside it");

        kill(router, "pod1", "c2"); // on this thread: answered at once, by the leaving instance
        assertEquals(List.of("kill c2"), runc.taskCalls, "a new call is served meanwhile, it does not wait");

        release.complete(null);
        first.get(2, TimeUnit.SECONDS);
        leaving.get(2, TimeUnit.SECONDS);
        long leftMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(leftMs < QUIET.toMillis(), "left as soon as no call was inside, after " + leftMs + " ms");

        RecordingDriver upgraded = new RecordingDriver("runc");
        upgraded.persisted.add("pod1");
        router.bindDriver(upgraded, props("runc", 3));
        kill(router, "pod1", "c3");
        assertEquals(List.of("kill c2", "kill c1"), runc.taskCalls);
        assertEquals(List.of("kill c3"), upgraded.taskCalls, "once it left, calls go to the successor");
    }

    @Test
    void pastTheQuietBoundBriefCallsAreStillAnsweredWhileALongCallInsideEnds() throws Exception {
        CompletableFuture<Void> first = firstKillHeldInside();
        CompletableFuture<Void> leaving = async(() -> router.unbindDriver(runc, props("runc", 1)));
        Thread.sleep(QUIET.toMillis() + 200);
        assertFalse(leaving.isDone(), "the long call is still inside");

        CompletableFuture<Void> brief = async(() -> {
            router.status("runc", "pod1", false);
            router.exit("runc", "pod1");
            router.readTask("pod1", t -> t.pids("c1"));
        });
        brief.get(2, TimeUnit.SECONDS); // without the hold, they waited at the closed gate until the long call ended
        assertEquals(List.of("create pod1", "exit pod1"), runc.calls, "answered by the leaving instance");
        assertEquals(List.of("pids c1"), runc.taskCalls, "a Task read too");

        CompletableFuture<Void> held = async(() -> kill(router, "pod1", "c2"));
        Thread.sleep(100);
        assertFalse(held.isDone(), "a new long call does not begin in the leaving instance");
        long released = System.nanoTime();
        release.complete(null);
        first.get(2, TimeUnit.SECONDS);
        leaving.get(1, TimeUnit.SECONDS);
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - released) < DRAIN.toMillis() / 2,
                "it left once the long call ended, not at the drain bound");
        RecordingDriver upgraded = new RecordingDriver("runc");
        upgraded.persisted.add("pod1");
        router.bindDriver(upgraded, props("runc", 3));
        held.get(2, TimeUnit.SECONDS);
        assertEquals(List.of("pids c1", "kill c1"), runc.taskCalls);
        assertEquals(List.of("kill c2"), upgraded.taskCalls, "the held call went to the successor");
    }

    @Test
    void withNoQuietMomentWithinTheBoundNewLongCallsWaitAtTheGateWhileTheCallsInsideEnd() throws Exception {
        CompletableFuture<Void> first = firstKillHeldInside();
        long start = System.nanoTime();
        CompletableFuture<Void> leaving = async(() -> router.unbindDriver(runc, props("runc", 1)));
        Thread.sleep(QUIET.toMillis() + 200);
        assertFalse(leaving.isDone(), "past the quiet bound, it drains the call inside");

        CompletableFuture<Void> second = async(() -> kill(router, "pod1", "c2"));
        Thread.sleep(100);
        assertFalse(second.isDone(), "a new call waits at the gate, not in the leaving instance");

        release.complete(null);
        first.get(2, TimeUnit.SECONDS);
        leaving.get(2, TimeUnit.SECONDS);
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) >= QUIET.toMillis());
        RecordingDriver upgraded = new RecordingDriver("runc");
        upgraded.persisted.add("pod1");
        router.bindDriver(upgraded, props("runc", 3));
        second.get(2, TimeUnit.SECONDS);
        assertEquals(List.of("kill c1"), runc.taskCalls);
        assertEquals(List.of("kill c2"), upgraded.taskCalls);
    }

    /** Kills c1 of pod1 on another thread, held inside the runc instance until {@link #release}; later kills pass. */
    private CompletableFuture<Void> firstKillHeldInside() throws InterruptedException {
        CountDownLatch inside = new CountDownLatch(1);
        AtomicBoolean held = new AtomicBoolean();
        runc.beforeKill = () -> {
            if (held.compareAndSet(false, true)) {
                inside.countDown();
                release.join();
            }
        };
        CompletableFuture<Void> call = async(() -> kill(router, "pod1", "c1"));
        assertTrue(inside.await(2, TimeUnit.SECONDS), "the call is inside the instance");
        return call;
    }

    private interface Step {
        void run() throws Exception;
    }

    private static CompletableFuture<Void> async(Step step) {
        return CompletableFuture.runAsync(() -> {
            try {
                step.run();
            } catch (Exception e) {
                throw new CompletionException(e);
            }
        });
    }
}
