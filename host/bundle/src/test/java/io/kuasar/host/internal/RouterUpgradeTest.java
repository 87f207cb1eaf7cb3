package io.kuasar.host.internal;

import static io.kuasar.host.internal.RouterTest.props;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.host.internal.RouterTest.RecordingDriver;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TypedData;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The router across a driver's absence: the gate, the bound, other drivers, re-asked Wait and exit stages. */
class RouterUpgradeTest {
    private static final Duration BOUND = Duration.ofMillis(400);
    private final List<String> retired = new ArrayList<>();
    private final Router router = new Router(new EventHub(), BOUND,
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
        TaskService tasks = router.tasks("pod1");
        router.unbindDriver(runc, props("runc", 1));
        long start = System.nanoTime();
        SandboxException e = assertThrows(SandboxException.class, () -> tasks.kill("c1", "", 9, false));
        long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(SandboxException.Code.UNAVAILABLE, e.code());
        assertTrue(e.getMessage().contains("\"runc\""), e.getMessage());
        assertTrue(waitedMs >= BOUND.toMillis() - 20, "waited " + waitedMs + " ms");
        assertEquals(SandboxException.Code.UNAVAILABLE,
                assertThrows(SandboxException.class, () -> router.status("runc", "pod1", false)).code());
        assertEquals(SandboxException.Code.UNAVAILABLE,
                assertThrows(SandboxException.class, () -> router.create("runc", spec("pod2"))).code());
    }

    @Test
    void aCallRefusedByAnInstanceBeingStoppedIsMadeAgainOnItsSuccessor() throws Exception {
        TaskService tasks = router.tasks("pod1");
        RecordingDriver upgraded = newVersion("runc", "pod1");
        runc.stopping = () -> {
            router.unbindDriver(runc, props("runc", 1));
            new Thread(() -> router.bindDriver(upgraded, props("runc", 3))).start();
        };
        tasks.kill("c1", "", 9, false);
        assertEquals(List.of("kill c1"), upgraded.taskCalls, "the successor served the call");
        assertEquals(List.of(), runc.taskCalls, "the stopping instance did nothing");
    }

    @Test
    void otherDriversAreNotSlowedAndUnknownSandboxersStillFailAtOnce() throws Exception {
        router.unbindDriver(runc, props("runc", 1));
        long start = System.nanoTime();
        router.tasks("w1").kill("c1", "", 9, false);
        router.status("wasm", "w1", false);
        SandboxException e = assertThrows(SandboxException.class, () -> router.create("nope", spec("x")));
        assertEquals(SandboxException.Code.NOT_FOUND, e.code());
        assertTrue(System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(BOUND.toMillis() / 2));
        assertEquals(List.of("kill c1"), wasm.taskCalls);
    }

    @Test
    void aCallWaitingAtTheGateGoesToTheDriverThatComesBack() throws Exception {
        TaskService tasks = router.tasks("pod1");
        router.unbindDriver(runc, props("runc", 1));
        RecordingDriver upgraded = newVersion("runc", "pod1");
        CompletableFuture<Void> call = CompletableFuture.runAsync(() -> {
            try {
                tasks.kill("c1", "", 9, false);
            } catch (SandboxException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(100);
        assertFalse(call.isDone(), "the call waits for the driver");
        router.bindDriver(upgraded, props("runc", 3));
        call.get(2, TimeUnit.SECONDS);
        assertEquals(List.of("kill c1"), upgraded.taskCalls);
    }

    @Test
    void aPendingWaitIsAskedAgainOfTheNewDriverAndAnswersItsExit() throws Exception {
        CompletableFuture<ExitStatus> wait = router.tasks("pod1").waitFor("c1", "").toCompletableFuture();
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
        CompletableFuture<ExitStatus> wait = router.tasks("pod1").waitFor("c1", "").toCompletableFuture();
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
        router.tasks("pod1").kill("c1", "", 9, false);
        assertEquals(List.of("kill c1"), runc.taskCalls, "the serving driver serves until it leaves");
        assertEquals(List.of(), newer.calls);
        router.unbindDriver(runc, props("runc", 1));
        router.tasks("pod1").kill("c2", "", 9, false);
        assertEquals(List.of("kill c2"), newer.taskCalls);
    }

    @Test
    void anOlderOrLowerRankedNewcomerDoesNotRetireTheServingDriver() {
        router.bindDriver(newVersion("runc"), java.util.Map.of(io.kuasar.spi.SandboxDriver.SANDBOXER, "runc",
                "service.id", 6L, "service.ranking", -1));
        assertEquals(List.of(), retired);
    }
}
