package io.kuasar.endpoint;

import static java.lang.System.Logger.Level.INFO;
import static java.lang.System.Logger.Level.WARNING;

import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TaskService;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * The Starts of exec processes in flight, for every driver: what containerd asks of an exec while its Start runs
 * waits for that Start, and a Start whose caller has given up is undone.
 *
 * <p>containerd's client learns an exec's pid only from Start's answer. When the caller's deadline passes first (an
 * ExecSync whose timeout is shorter than the start, a kubelet that gave up), containerd holds pid 0, so its
 * delete-with-kill skips the kill (containerd/containerd#10441) and deletes the exec; a process started after that
 * would run on, owned by nobody. So a Start whose answer would be dropped kills the process it started and waits
 * for its exit before it returns. Kill, Delete and State of the same exec wait for a Start in flight, as the stock
 * shim's per-process lock makes them wait, so they see what the Start did.
 */
final class ExecStarts {
    private static final System.Logger LOG = System.getLogger(ExecStarts.class.getName());
    private static final int SIGKILL = 9;
    /** At most this long for a Start to finish before a call on the same exec goes ahead anyway. */
    static final Duration START_WAIT = Duration.ofSeconds(75);
    /** At most this long for a killed, abandoned exec to be reported exited. */
    static final Duration EXIT_WAIT = Duration.ofSeconds(10);

    private record Key(Path socket, String id, String execId) {
    }

    private final Map<Key, CompletableFuture<Void>> inFlight = new ConcurrentHashMap<>();

    /**
     * Starts the process; an exec whose caller gave up meanwhile ({@code callerGone}, asked once the driver has
     * started it) is killed again (see the class comment). {@code socket} names the sandbox the call came for.
     */
    long start(TaskService tasks, Path socket, BooleanSupplier callerGone, String id, String execId)
            throws SandboxException {
        if (execId == null || execId.isEmpty()) {
            return tasks.start(id, execId); // containerd knows an init's pid from Create and kills it itself
        }
        Key key = new Key(socket, id, execId);
        CompletableFuture<Void> done = new CompletableFuture<>();
        CompletableFuture<Void> earlier = inFlight.putIfAbsent(key, done);
        if (earlier != null) {
            await(earlier); // a repeated Start: the driver answers it once the first is over
            return tasks.start(id, execId);
        }
        try {
            long pid = tasks.start(id, execId);
            if (callerGone.getAsBoolean()) {
                undo(tasks, id, execId, pid);
                throw new SandboxException(SandboxException.Code.DEADLINE_EXCEEDED, "exec " + execId + " of " + id
                        + " started after its caller's deadline; it was killed again");
            }
            return pid;
        } finally {
            inFlight.remove(key, done);
            done.complete(null);
        }
    }

    /** Waits for a Start of the same exec in flight, if any: before Kill, Delete and State. */
    void awaitStart(Path socket, String id, String execId) {
        if (execId == null || execId.isEmpty()) {
            return;
        }
        CompletableFuture<Void> starting = inFlight.get(new Key(socket, id, execId));
        if (starting != null) {
            await(starting);
        }
    }

    private static void undo(TaskService tasks, String id, String execId, long pid) {
        LOG.log(INFO, "exec " + execId + " of " + id + " (pid " + pid + ") started after its caller gave up: killing it");
        try {
            CompletableFuture<?> exit = tasks.waitFor(id, execId).toCompletableFuture();
            tasks.kill(id, execId, SIGKILL, false);
            exit.get(EXIT_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (SandboxException | ExecutionException | TimeoutException e) {
            LOG.log(WARNING, "exec " + execId + " of " + id + ": the abandoned process may still run: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void await(CompletableFuture<Void> f) {
        try {
            f.get(START_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // go ahead: the driver answers from whatever state the exec is in
        }
    }
}
