package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStatus;
import io.kuasar.api.cri.v1.ExecSyncRequest;
import io.kuasar.api.cri.v1.ExecSyncResponse;
import io.kuasar.api.cri.v1.StopContainerRequest;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Exec processes at the edges of their lives, on the stock runc shim and on every handler of ours that runs execs:
 * killed by containerd when ExecSync times out (also while output still streams), killed from inside the container
 * while a streaming exec session is open, ended by their container exiting underneath them, and started while
 * their container is stopping. Whatever the handler, the process must be gone when containerd is told it ended, and
 * no call may hang.
 */
class CriExecLifecycleTest extends CriParityTestBase {
    /** A VM boots (or restores its template) in seconds under TCG, more on a busy 2-CPU host. */
    private static final Duration VM_WAIT = Duration.ofSeconds(90);
    /** Matches only the exec's own command line, never the shell that looks for it. */
    private static final String FIND_SLEEP = "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done"
            + " | grep '^sleep 4321' || true";

    /** The test method runs once per handler that runs exec processes: stock first. */
    @Target(ElementType.METHOD)
    @Retention(RetentionPolicy.RUNTIME)
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {NodeEnv.STOCK_HANDLER, NodeEnv.KUASAR_HANDLER, RUNSC, VMM})
    @interface OnExecHandlers {
    }

    @OnExecHandlers
    void execSyncThatTimesOutIsKilledBeforeTheCallReturns(String handler) {
        String c = runningSleeper(handler, "timeout");
        StatusRuntimeException e = failure(() -> execSync(c, 1, "sleep", "4321"));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode(), e::getMessage);
        assertEquals("", sh(c, FIND_SLEEP), "the timed-out exec still runs");
        assertEquals("after\n", sh(c, "echo after"), "the container takes execs afterwards");
    }

    /** As kubectl's client would not: the caller's own deadline passes with the exec's timeout. */
    @OnExecHandlers
    void execSyncWhoseCallerGivesUpIsKilled(String handler) {
        String c = runningSleeper(handler, "giveup");
        StatusRuntimeException e = failure(() -> cri.runtime(Duration.ofSeconds(1)).execSync(ExecSyncRequest.newBuilder()
                .setContainerId(c).addAllCmd(List.of("sleep", "4321")).setTimeout(1).build()));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode(), e::getMessage);
        long end = System.nanoTime() + WAIT.toNanos();
        String left;
        while (!(left = sh(c, FIND_SLEEP)).isEmpty() && System.nanoTime() < end) {
            Thread.onSpinWait();
        }
        assertEquals("", left, "the abandoned exec still runs");
    }

    @OnExecHandlers
    void execSyncThatTimesOutWhileItsOutputStreamsIsKilledAndItsOutputDrained(String handler) {
        String c = runningSleeper(handler, "flood");
        StatusRuntimeException e = failure(() -> execSync(c, 1, "sh", "-c",
                "echo flood-started; while :; do echo line-of-output-kept-flowing; done"));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode(), e::getMessage);
        assertEquals("", sh(c, "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done"
                + " | grep 'line-of-output-kept' | grep -v grep || true"), "the flooding exec still runs");
    }

    @OnExecHandlers
    void streamingExecKilledWhileItsOutputFlowsEndsItsSessionWithTheSignal(String handler) {
        String c = runningSleeper(handler, "stream");
        try (CriStreams.Session s = CriStreams.exec(cri.execUrl(c, false, false, "sh", "-c",
                "echo pid=$$; while :; do echo streaming-line; done"))) {
            String out = s.awaitText(CriStreams.STDOUT, "streaming-line", WAIT);
            String pid = out.substring(out.indexOf("pid=") + 4, out.indexOf('\n', out.indexOf("pid=")));
            assertEquals("", sh(c, "kill -KILL " + pid));
            s.awaitClose(WAIT);
            String status = s.text(CriStreams.ERROR);
            assertTrue(status.contains("\"ExitCode\"") && status.contains("\"137\""), () -> "status: " + status);
        }
        assertEquals("", sh(c, "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done"
                + " | grep 'streaming-line' | grep -v grep || true"), "the killed exec still runs");
    }

    /** The container's init exits while an exec runs: the exec dies with its PID namespace and ExecSync returns. */
    @OnExecHandlers
    void execWhoseContainerExitsUnderneathItEndsWithTheContainer(String handler) throws Exception {
        Pod p = podOn(handler, "underneath");
        String c = started(handler, p, container("underneath", "sh", "-c",
                "trap 'sleep 1; exit 3' TERM; touch /tmp/trapped; sleep 3600 & wait"));
        awaitFile(c, "/tmp/trapped"); // a pid 1 ignores SIGTERM until its handler is in place: slow under TCG
        CompletableFuture<ExecSyncResponse> exec = CompletableFuture.supplyAsync(() -> execSync(c, 60, "sleep", "4321"));
        awaitSleepRunning(c, exec);
        assertEquals("", sh(c, "kill -TERM 1"));
        ExecSyncResponse r = exec.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(137, r.getExitCode(), () -> "exec ended by its container's exit; stderr "
                + r.getStderr().toStringUtf8());
        ContainerStatus s = cri.waitForState(c, ContainerState.CONTAINER_EXITED, WAIT);
        assertEquals(3, s.getExitCode());
    }

    /**
     * While StopContainer waits for a container that handles SIGTERM slowly, new execs still run. The trap's 8 s
     * must hold two ExecSyncs (the poll that sees it began, then the exec under test): up to about 2 s each in a VM
     * without KVM on a busy host. With 3 s, kuasar-vmm's exec was once killed by the container's end (137).
     */
    @OnExecHandlers
    void execStartedWhileItsContainerIsStoppingRuns(String handler) throws Exception {
        Pod p = podOn(handler, "stopping");
        String c = started(handler, p, container("stopping", "sh", "-c",
                "trap 'touch /tmp/stopping; sleep 8; exit 4' TERM; touch /tmp/trapped; while :; do sleep 0.1; done"));
        awaitFile(c, "/tmp/trapped");
        CompletableFuture<Void> stop = CompletableFuture.runAsync(() -> cri.runtime(Duration.ofSeconds(90))
                .stopContainer(StopContainerRequest.newBuilder().setContainerId(c).setTimeout(30).build()));
        long end = System.nanoTime() + WAIT.toNanos();
        while (execSync(c, 10, "test", "-e", "/tmp/stopping").getExitCode() != 0) {
            assertTrue(System.nanoTime() < end && !stop.isDone(), () -> "the container never ran its SIGTERM trap;"
                    + " StopContainer " + (stop.isDone() ? "ended: " + outcome(stop) : "still waits")
                    + "; container " + cri.containerStatus(c).getState());
            Thread.sleep(50);
        }
        ExecSyncResponse r = execSync(c, 10, "sh", "-c", "echo still-answering; exit 5");
        assertEquals(5, r.getExitCode(), () -> r.getStderr().toStringUtf8());
        assertEquals("still-answering\n", r.getStdout().toStringUtf8());
        stop.get(60, TimeUnit.SECONDS);
        assertEquals(4, cri.waitForState(c, ContainerState.CONTAINER_EXITED, WAIT).getExitCode());
    }

    /** A pod on {@code handler}, once the host has what the handler needs (else the reason, see HostTools). */
    private Pod podOn(String handler, String name) {
        HostTools.requireHandler(handler);
        return pod(name, handler);
    }

    private String runningSleeper(String handler, String name) {
        return started(handler, podOn(handler, name), sleeper(name));
    }

    private String started(String handler, Pod p, io.kuasar.api.cri.v1.ContainerConfig config) {
        String id = cri.runContainer(p.id, p.config, config);
        cri.waitForState(id, ContainerState.CONTAINER_RUNNING, handler.equals(VMM) ? VM_WAIT : WAIT);
        return id;
    }

    /** Waits until {@code file} exists in the container (the script there got that far). */
    private void awaitFile(String c, String file) throws InterruptedException {
        long end = System.nanoTime() + WAIT.toNanos();
        while (execSync(c, 10, "test", "-e", file).getExitCode() != 0) {
            assertTrue(System.nanoTime() < end, () -> file + " never appeared in " + c);
            Thread.sleep(50);
        }
    }

    private static String outcome(CompletableFuture<?> f) {
        try {
            f.join();
            return "OK";
        } catch (RuntimeException e) {
            return String.valueOf(e.getCause() == null ? e : e.getCause());
        }
    }

    /** Waits until the exec's {@code sleep 4321} shows in the container (it failed if {@code exec} already ended). */
    private void awaitSleepRunning(String c, CompletableFuture<ExecSyncResponse> exec) throws InterruptedException {
        long end = System.nanoTime() + WAIT.toNanos();
        while (sh(c, FIND_SLEEP).isEmpty()) {
            assertTrue(!exec.isDone(), () -> "the exec ended early: " + exec.join());
            assertTrue(System.nanoTime() < end, "the exec's sleep never ran");
            Thread.sleep(50);
        }
    }

    /** ExecSync with CRI's own {@code timeout} (seconds; containerd kills the exec when it passes). */
    private ExecSyncResponse execSync(String containerId, long timeoutSeconds, String... cmd) {
        return cri.runtime(Duration.ofSeconds(timeoutSeconds + 60)).execSync(ExecSyncRequest.newBuilder()
                .setContainerId(containerId).addAllCmd(List.of(cmd)).setTimeout(timeoutSeconds).build());
    }
}
