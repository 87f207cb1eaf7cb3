package io.kuasar.driver.kit;

import com.fasterxml.jackson.databind.JsonNode;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxDriver;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TypedData;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A {@link SandboxDriver} whose pods live in a {@link PodTable} persisted by a {@link PodStore}: the Controller calls
 * go to the table, which keeps containerd's rules, and the table calls the driver's own steps below with the pod's
 * lifecycle lock held. A driver adds how a persisted pod is restored and resumed (for {@code recover()} and a
 * handover's {@code adopt()}) and whatever else its technology offers.
 *
 * @param <P> the driver's pod
 * @param <R> the pod's persisted form
 * @since 1.8
 */
public abstract class PodDriver<P extends PodRecord<?>, R> implements SandboxDriver {
    protected final PodStore<P, R> store;
    protected final PodTable<P> pods;
    private final Duration stopTimeout;

    /** {@code stopTimeout}: the grace between SIGTERM and SIGKILL when Stop gives none. */
    protected PodDriver(PodStore<P, R> store, Duration stopTimeout) {
        this.store = store;
        this.pods = new PodTable<>(store);
        this.stopTimeout = stopTimeout;
    }

    /** The pod a Create makes, for an id already validated; may refuse it. */
    protected abstract P newPod(String id, SandboxSpec spec) throws SandboxException;

    /**
     * What Start answers for a pod that is READY: a replayed Start gets the first one's answer. By default a pod
     * whose Task API the host serves, standing for it its {@link PodRecord#pid}.
     */
    protected SandboxStarted started(P pod) {
        synchronized (pod) {
            return SandboxStarted.servedByHost(pod.pid, pod.createdAt);
        }
    }

    /** Starts a CREATED pod. If it fails, the pod is removed ({@link #removePod}) and forgotten. */
    protected abstract SandboxStarted startPod(P pod) throws SandboxException;

    /** Ends the pod's processes, SIGKILL after {@code grace}; its files stay. */
    protected abstract void stopPod(P pod, Duration grace) throws SandboxException;

    /** Removes everything the pod made (Shutdown, or a Start that failed). */
    protected abstract void removePod(P pod) throws SandboxException;

    /** The Task API of the pod. */
    protected abstract TaskService tasksOf(P pod) throws SandboxException;

    /**
     * True when a Stop must record the pod stopped before {@link #stopPod} runs, for a driver that watches the pod's
     * own process and must read its end during the stop as expected rather than as a crash.
     */
    protected boolean marksStoppedFirst() {
        return false;
    }

    /**
     * Whether a persisted pod is this driver's to recover and adopt: all are by default; a driver whose sandboxers
     * share a store keeps its own.
     *
     * @since 1.13
     */
    protected boolean ours(R persisted) {
        return true;
    }

    /**
     * The pod a persisted record stands for, made from the record alone: nothing of the pod is touched. By default the
     * store's {@link PodStore#restore}; a driver whose pods need more than their record overrides it.
     *
     * @since 1.13
     */
    protected P restore(R persisted) {
        return store.restore(persisted);
    }

    /**
     * Makes a restored pod live in this instance, under the pod's lifecycle lock: re-attaches to what runs of it and
     * records what ended while no instance watched. The one step of both {@link #recover()} and
     * {@link #adopt(String)}; nothing by default.
     *
     * @since 1.13
     */
    protected void resume(P pod) throws SandboxException {
    }

    /** What {@link #recover()} does once before it resumes each pod (a crashed JVM's leftovers); nothing by default. */
    protected void beforeRecovery() {
    }

    /**
     * After a (re)start: every persisted pod this driver {@linkplain #ours owns} is {@linkplain #restore restored},
     * made live and {@linkplain #resume resumed} ({@link PodTable#recover}).
     *
     * @since 1.13
     */
    @Override
    public Collection<SandboxStatus> recover() {
        beforeRecovery();
        return recover(this::ours, this::restore, this::resume);
    }

    /**
     * For a driver that implements {@link io.kuasar.spi.SandboxHandover}: adopts the persisted pod {@code sandboxId}
     * its predecessor released, restored and resumed as {@link #recover()} does for each pod; NOT_FOUND when no
     * record of it is persisted (or it is not {@linkplain #ours ours}).
     *
     * @since 1.13
     */
    public SandboxStatus adopt(String sandboxId) throws SandboxException {
        return adopt(sandboxId, this::ours, this::restore, this::resume);
    }

    /**
     * For a successor about to be handed pods: restores one persisted pod and drops it, touching nothing of it, so the
     * first adopt does not pay for loading the driver's pod classes in its bundle's fresh class loader (10-145 ms
     * per upgrade on a busy node, against about 1 ms for the adopts after it). A failure only leaves it cold.
     *
     * @since 1.13
     */
    protected Optional<P> warmUp() {
        try {
            return store.loadAny(this::ours).map(this::restore);
        } catch (RuntimeException e) {
            System.getLogger(PodDriver.class.getName()).log(System.Logger.Level.DEBUG,
                    "cannot warm the adopt path up; the first adopt is only slower", e);
            return Optional.empty();
        }
    }

    /** Recover for the persisted pods {@code ours} accepts; see {@link #recover()}. */
    protected List<SandboxStatus> recover(Predicate<R> ours, Function<R, P> restore, PodTable.Step<P> resume) {
        return pods.recover(store.loadAll().stream().filter(ours).toList(), store::idOf, restore, resume);
    }

    /**
     * Adopts the persisted pod {@code sandboxId} if {@code ours} accepts it; see {@link #adopt(String)}.
     *
     * @since 1.11
     */
    protected SandboxStatus adopt(String sandboxId, Predicate<R> ours, Function<R, P> restore, PodTable.Step<P> resume)
            throws SandboxException {
        R persisted = store.load(sandboxId).filter(ours)
                .orElseThrow(() -> SandboxException.notFound("sandbox", sandboxId));
        return pods.adopt(persisted, store::idOf, restore, resume);
    }

    /**
     * For a driver that implements {@link io.kuasar.spi.SandboxHandover}: the pod leaves this instance's table (its
     * record stays for the successor) and is returned, for the driver to close what it holds open for it.
     *
     * @since 1.11
     */
    protected P releasePod(String sandboxId) throws SandboxException {
        return pods.release(sandboxId);
    }

    @Override
    public SandboxStatus create(SandboxSpec spec) throws SandboxException {
        return pods.create(spec.id(), id -> newPod(id, spec));
    }

    @Override
    public SandboxStarted start(String sandboxId) throws SandboxException {
        return pods.start(sandboxId, pod -> {
            synchronized (pod) {
                if (pod.state == SandboxStatus.State.READY) {
                    return started(pod);
                }
            }
            try {
                return startPod(pod);
            } catch (SandboxException | RuntimeException e) {
                pods.forgetFailed(pod, this::removePod);
                throw e;
            }
        });
    }

    @Override
    public void stop(String sandboxId, Duration timeout) throws SandboxException {
        pods.stop(sandboxId, timeout, stopTimeout, marksStoppedFirst(), this::stopPod);
    }

    @Override
    public CompletionStage<ExitStatus> exit(String sandboxId) throws SandboxException {
        return pods.exit(sandboxId);
    }

    @Override
    public SandboxStatus status(String sandboxId, boolean verbose) throws SandboxException {
        return pods.status(sandboxId, verbose);
    }

    @Override
    public void shutdown(String sandboxId) throws SandboxException {
        pods.shutdown(sandboxId, this::removePod);
    }

    /**
     * Controller Metrics: the pod's resource use as the typed message containerd's clients decode (for a pod with a
     * host cgroup, containerd's cgroup metrics, as its CRI reads for pods itself). UNIMPLEMENTED by default.
     *
     * @since 1.10
     */
    protected TypedData metricsOf(P pod) throws SandboxException {
        throw SandboxException.unimplemented("metrics");
    }

    /**
     * Applies the OCI {@code linux.resources} of a Controller Update to a running pod, all or nothing. By default a
     * FAILED_PRECONDITION: the driver has no pod-wide place to apply them.
     *
     * @since 1.10
     */
    protected void updateResources(P pod, JsonNode resources) throws SandboxException {
        throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "update of sandbox " + pod.id
                + ": this sandboxer applies no pod-wide linux.resources (set them per container)");
    }

    @Override
    public TypedData metrics(String sandboxId) throws SandboxException {
        return metricsOf(pods.get(sandboxId));
    }

    /** Checks the whole update first ({@link SandboxUpdate}), then applies the resources, if any, to the pod. */
    @Override
    public void update(SandboxSpec spec, Collection<String> fields) throws SandboxException {
        P pod = pods.get(spec.id());
        SandboxUpdate update = SandboxUpdate.of(spec, fields);
        if (update.resources() != null) {
            synchronized (pod) {
                if (pod.state != SandboxStatus.State.READY) {
                    throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                            "update of sandbox " + pod.id + ": it is " + pod.state + ", not READY");
                }
            }
            updateResources(pod, update.resources());
        }
    }

    @Override
    public TaskService tasks(String sandboxId) throws SandboxException {
        return tasksOf(pods.get(sandboxId));
    }
}
