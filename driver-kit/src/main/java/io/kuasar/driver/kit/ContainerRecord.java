package io.kuasar.driver.kit;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.Mount;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;

/**
 * A container of a sandbox as the Task API sees it: containerd's bundle, its rootfs mounts, its init and exec
 * processes. {@link #ops} serialises the lifecycle calls on this container (each runs the runtime); other containers
 * of the pod proceed in parallel, and a driver's exit watching should never take it.
 *
 * @param <P> the driver's process record
 */
public class ContainerRecord<P extends ProcessRecord> {
    public final String id;
    public final Path bundle;
    public final List<Mount> rootfs;
    public final P init;
    public final Map<String, P> execs = new ConcurrentHashMap<>();
    public final ReentrantLock ops = new ReentrantLock();
    public volatile boolean rootfsMounted;
    public volatile boolean paused;

    protected ContainerRecord(String id, Path bundle, List<Mount> rootfs, P init) {
        this.id = id;
        this.bundle = bundle;
        this.rootfs = List.copyOf(rootfs);
        this.init = init;
    }

    /** Where the rootfs is mounted: containerd's bundle layout. */
    /** Unmounts a rootfs mounted at {@link #rootfsDir()}, the driver's way. */
    @FunctionalInterface
    public interface Unmount {
        void unmount(Path dir) throws IOException;
    }

    /**
     * Removes what the container has on the host: its rootfs if mounted (with {@code unmount}), then its
     * {@code workDir} ({@link HostFiles#deleteTree}, which refuses what is still mounted).
     *
     * @since 1.8
     */
    public void removeFiles(Path workDir, Unmount unmount) throws IOException {
        if (rootfsMounted) {
            unmount.unmount(rootfsDir());
            rootfsMounted = false;
        }
        HostFiles.deleteTree(workDir);
    }

    /** FAILED_PRECONDITION while the init runs: a Delete of the container wants it killed first. @since 1.8 */
    public void requireEnded() throws SandboxException {
        if (init.exit() == null && init.started()) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                    "container " + id + " is still running: kill it first");
        }
    }

    public Path rootfsDir() {
        return bundle.resolve("rootfs");
    }

    /** The init process for an empty or null execId, else that exec; NOT_FOUND when there is none. */
    public P proc(String execId) throws SandboxException {
        return execId == null || execId.isEmpty() ? init : exec(execId);
    }

    public P exec(String execId) throws SandboxException {
        P p = execs.get(execId);
        if (p == null) {
            throw SandboxException.notFound("exec", execId + " of container " + id);
        }
        return p;
    }

    /** FAILED_PRECONDITION unless the init process runs: what adding or starting an exec needs. */
    public void requireRunning() throws SandboxException {
        if (init.status() != TaskState.Status.RUNNING) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "container " + id + " is not running");
        }
    }

    /** ALREADY_EXISTS when exec {@code execId} is known already. */
    public void requireNewExec(String execId) throws SandboxException {
        if (execs.containsKey(execId)) {
            throw new SandboxException(SandboxException.Code.ALREADY_EXISTS,
                    "exec " + execId + " already exists in container " + id);
        }
    }

    /**
     * Whether an Exec is a replay of the one recorded as {@code execId} (the keeper resends what a crashed JVM left
     * unanswered): true when that exec exists, has not started and has the same stdio, so the caller answers as the
     * first time and does nothing; false when the id is new. ALREADY_EXISTS when the id is taken otherwise.
     */
    public boolean execReplayed(String execId, Stdio stdio, Predicate<P> started) throws SandboxException {
        P known = execs.get(execId);
        if (known != null && !started.test(known) && known.stdio.equals(stdio == null ? Stdio.NONE : stdio)) {
            return true;
        }
        requireNewExec(execId);
        return false;
    }

    /** The Task API's State of one process; a running process of a paused container reads PAUSED. */
    public TaskState state(String execId) throws SandboxException {
        P p = proc(execId);
        ExitStatus e = p.exit();
        TaskState.Status status = p.status();
        if (status == TaskState.Status.RUNNING && paused) {
            status = TaskState.Status.PAUSED;
        }
        return new TaskState(id, p.execId, bundle.toString(), p.pid(), status, p.stdio,
                e == null ? 0 : e.code(), e == null ? null : e.exitedAt());
    }

    /**
     * Forgets exec {@code execId} and its work files ({@code exec-ID.json}, {@code exec-ID.pid} in {@code workDir})
     * once it has ended or never started; returns how it ended. FAILED_PRECONDITION while it runs. Whether it
     * started is the driver's rule, hence {@code started}.
     */
    public ExitStatus removeExec(String execId, Path workDir, Predicate<P> started)
            throws SandboxException, IOException {
        P p = exec(execId);
        if (p.exit() == null && started.test(p)) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                    "exec " + execId + " in " + id + " is still running");
        }
        ExitStatus e = p.exit() != null ? p.exit() : new ExitStatus(0, 0, Instant.now());
        execs.remove(execId);
        Files.deleteIfExists(workDir.resolve("exec-" + execId + ".json"));
        Files.deleteIfExists(workDir.resolve("exec-" + execId + ".pid"));
        return e;
    }
}
