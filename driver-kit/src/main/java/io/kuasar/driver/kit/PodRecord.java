package io.kuasar.driver.kit;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A sandbox as a driver holds it: what {@link PodTable} keeps containerd's lifecycle rules with, and the pod's
 * containers; a driver extends it with what its pods need besides (pid, network, ...). Mutable fields and
 * {@link #containers} are guarded by the object's monitor, which a driver also holds while it snapshots the pod for
 * its state file; {@link #lifecycle} serialises start, stop and shutdown.
 *
 * @param <C> the driver's container record
 */
public abstract class PodRecord<C extends ContainerRecord<?>> {
    public final String id;
    /** What containerd said of the pod at Create: its containerd namespace, network namespace, hostname, labels. */
    public final String namespace;
    public final String netnsPath;
    public final String hostname;
    public final Map<String, String> labels;
    /** When it was created. */
    public final Instant createdAt;
    public final ReentrantLock lifecycle = new ReentrantLock();
    /** Completed once, when the pod stops or is removed; callers get copies. */
    public final CompletableFuture<ExitStatus> exit = new CompletableFuture<>();
    public SandboxStatus.State state = SandboxStatus.State.CREATED;
    /** The pid that stands for the pod once started (CRI reads its namespaces), 0 before. @since 1.8 */
    public long pid;
    /** When the pod stopped, null before. */
    public Instant exitedAt;
    /** By id, in creation order. */
    public final Map<String, C> containers = new LinkedHashMap<>();

    /** A pod with no namespace, netns, hostname or labels, created now. */
    protected PodRecord(String id) {
        this(id, "", "", "", Instant.now(), Map.of());
    }

    /**
     * A pod as containerd described it at Create (null strings are empty).
     *
     * @since 1.8
     */
    protected PodRecord(String id, String namespace, String netnsPath, String hostname, Instant createdAt,
                        Map<String, String> labels) {
        this.id = id;
        this.namespace = namespace == null ? "" : namespace;
        this.netnsPath = netnsPath == null ? "" : netnsPath;
        this.hostname = hostname == null ? "" : hostname;
        this.createdAt = createdAt;
        this.labels = labels == null ? Map.of() : Map.copyOf(labels);
    }

    /** The container {@code id}, or null. */
    public synchronized C container(String id) {
        return containers.get(id);
    }

    /** The container {@code id}; NOT_FOUND, naming the pod, when it has none. */
    public C requireContainer(String id) throws SandboxException {
        C c = container(id);
        if (c == null) {
            throw SandboxException.notFound("container", id + " in sandbox " + this.id);
        }
        return c;
    }

    /** Forgets the container {@code id} (deleted, or its Create undone). */
    public synchronized void removeContainer(String id) {
        containers.remove(id);
    }

    /** A copy, to iterate without the monitor. */
    public synchronized List<C> containerList() {
        return new ArrayList<>(containers.values());
    }

    /**
     * Adds {@code c} to the pod's containers, as a Task Create does: only while the pod is READY
     * (FAILED_PRECONDITION otherwise) and has no container of that id (ALREADY_EXISTS).
     *
     * @since 1.3
     */
    public synchronized void addContainer(C c) throws SandboxException {
        if (state != SandboxStatus.State.READY) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                    "sandbox " + id + " is " + state + ", not READY");
        }
        if (containers.containsKey(c.id)) {
            throw new SandboxException(SandboxException.Code.ALREADY_EXISTS, "container " + c.id + " already exists");
        }
        containers.put(c.id, c);
    }

    /**
     * Task Create's first step where a Create may be replayed: adds {@code c} as {@link #addContainer} does, unless
     * a container of that id made from the same bundle was created already. Then this is the same request again
     * (the keeper resends what a crashed JVM left unanswered) and its answer is that container's pid, nothing new
     * being made.
     *
     * @return 0 when {@code c} was added; else the pid the first Create answered
     * @since 1.6
     */
    public synchronized long addOrReplay(C c) throws SandboxException {
        C existing = containers.get(c.id);
        if (existing != null && existing.bundle.equals(c.bundle) && existing.init.pid() > 0) {
            return existing.init.pid();
        }
        addContainer(c);
        return 0;
    }

    /** Records the pod as stopped at {@code at}. */
    public synchronized void markStopped(Instant at) {
        state = SandboxStatus.State.NOTREADY;
        exitedAt = at;
    }

    /** What Status reports; taken under the pod's monitor. */
    public abstract SandboxStatus status(boolean verbose);
}
