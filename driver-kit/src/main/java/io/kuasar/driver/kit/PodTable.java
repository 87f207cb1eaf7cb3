package io.kuasar.driver.kit;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.Identifiers;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * A driver's live pods and the bookkeeping containerd's Controller rules ask of every driver, written once: Create
 * refuses a known id, Start runs once, Stop is idempotent, Shutdown removes the pod (and a repeated Shutdown of an
 * id this instance removed succeeds), a pod whose Start failed is forgotten, Recover makes the persisted pods live
 * again. What a pod is, and what starting, stopping or removing one does, stays in the driver: it passes those
 * steps in, and the table calls them with the pod's lifecycle lock held, just where the driver would.
 *
 * @param <P> the driver's pod record
 */
public final class PodTable<P extends PodRecord<?>> {
    private static final Logger LOG = System.getLogger(PodTable.class.getName());

    /** Where the driver persists its pods (its {@link JsonRecords}, which has exists and remove already). */
    public interface Records<P> {
        boolean exists(String id) throws SandboxException;

        void save(P pod) throws SandboxException;

        void remove(String id) throws SandboxException;
    }

    /** Makes the pod for an id already validated; may refuse it. */
    @FunctionalInterface
    public interface Factory<P> {
        P make(String id) throws SandboxException;
    }

    /** One of the driver's own steps on a pod (removing what it made, re-attaching after a restart). */
    @FunctionalInterface
    public interface Step<P> {
        void run(P pod) throws SandboxException;
    }

    @FunctionalInterface
    public interface Starter<P> {
        SandboxStarted start(P pod) throws SandboxException;
    }

    @FunctionalInterface
    public interface Stopper<P> {
        /** Ends the pod's processes, SIGKILL after {@code grace}; its files stay. */
        void stop(P pod, Duration grace) throws SandboxException;
    }

    private final Records<P> records;
    private final Map<String, P> live = new ConcurrentHashMap<>();
    /** Ids shut down by this instance, so a repeated Shutdown succeeds as the SPI asks. */
    private final Set<String> shutDown = ConcurrentHashMap.newKeySet();

    public PodTable(Records<P> records) {
        this.records = records;
    }

    /** The live pod {@code id}; NOT_FOUND when there is none. */
    public P get(String id) throws SandboxException {
        P pod = live.get(Identifiers.validate("sandbox", id));
        if (pod == null) {
            throw SandboxException.notFound("sandbox", id);
        }
        return pod;
    }

    /** The live pods, a read-only view. */
    public Collection<P> pods() {
        return Collections.unmodifiableCollection(live.values());
    }

    /**
     * Create: the pod {@code make} returns becomes live and persisted, unless the id is live or persisted already
     * (ALREADY_EXISTS); if it cannot be saved it is not kept.
     */
    public SandboxStatus create(String sandboxId, Factory<P> make) throws SandboxException {
        String id = Identifiers.validate("sandbox", sandboxId);
        P pod = make.make(id);
        if (live.putIfAbsent(id, pod) != null || records.exists(id)) {
            live.remove(id, pod);
            throw new SandboxException(SandboxException.Code.ALREADY_EXISTS, "sandbox " + id + " already exists");
        }
        try {
            records.save(pod);
        } catch (SandboxException e) {
            live.remove(id, pod);
            throw e;
        }
        shutDown.remove(id);
        return pod.status(false);
    }

    /**
     * Start, under the pod's lifecycle lock: a stopped pod cannot start again (FAILED_PRECONDITION); otherwise
     * {@code start} decides, and answers a replayed Start of a running pod itself. A driver whose start can fail half
     * way calls {@link #forgetFailed} from it.
     */
    public SandboxStarted start(String sandboxId, Starter<P> start) throws SandboxException {
        P pod = get(sandboxId);
        pod.lifecycle.lock();
        try {
            synchronized (pod) {
                if (pod.state == SandboxStatus.State.NOTREADY) {
                    throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                            "sandbox " + pod.id + " was stopped and cannot be started again");
                }
            }
            return start.start(pod);
        } finally {
            pod.lifecycle.unlock();
        }
    }

    /**
     * Removes a pod whose start failed, as Shutdown would: containerd 2.1's CRI gives up on such a sandbox without
     * calling Stop or Shutdown (seen end to end), so its record would otherwise stay forever. A later Shutdown of
     * the id still succeeds. Failures are logged: the caller is already reporting the start's.
     */
    public void forgetFailed(P pod, Step<P> teardown) {
        try {
            teardown.run(pod);
            records.remove(pod.id);
            live.remove(pod.id, pod);
            shutDown.add(pod.id);
            pod.exit.complete(new ExitStatus(0, ExitStatus.UNKNOWN_CODE, Instant.now()));
        } catch (SandboxException | RuntimeException e) {
            LOG.log(Level.WARNING, "cannot clean up sandbox " + pod.id + " after its failed start", e);
        }
    }

    /**
     * Stop, under the pod's lifecycle lock; a second Stop does nothing. {@code timeout} null, zero or negative means
     * {@code defaultGrace}. After {@code stop} the pod is recorded stopped, persisted, and its exit completed (0).
     */
    public void stop(String sandboxId, Duration timeout, Duration defaultGrace, Stopper<P> stop)
            throws SandboxException {
        stop(sandboxId, timeout, defaultGrace, false, stop);
    }

    /**
     * Stop as above; with {@code markFirst} the pod is recorded stopped (and its exit time taken) before {@code stop}
     * runs, so a driver watching its sandbox's process reads that process's end during the stop as expected, not as
     * a crash.
     *
     * @since 1.3
     */
    public void stop(String sandboxId, Duration timeout, Duration defaultGrace, boolean markFirst, Stopper<P> stop)
            throws SandboxException {
        P pod = get(sandboxId);
        pod.lifecycle.lock();
        try {
            if (pod.exit.isDone()) {
                return;
            }
            Duration grace = timeout == null || timeout.isZero() || timeout.isNegative() ? defaultGrace : timeout;
            Instant now = Instant.now();
            if (markFirst) {
                pod.markStopped(now);
            }
            stop.stop(pod, grace);
            if (!markFirst) {
                now = Instant.now();
                pod.markStopped(now);
            }
            records.save(pod);
            pod.exit.complete(new ExitStatus(0, 0, now));
        } finally {
            pod.lifecycle.unlock();
        }
    }

    /** A copy, so a caller cannot complete the pod's own exit. */
    public CompletionStage<ExitStatus> exit(String sandboxId) throws SandboxException {
        return get(sandboxId).exit.copy();
    }

    public SandboxStatus status(String sandboxId, boolean verbose) throws SandboxException {
        return get(sandboxId).status(verbose);
    }

    /**
     * Shutdown, under the pod's lifecycle lock: {@code teardown} removes what the pod made, then its record goes
     * and its exit completes (0). An id this instance shut down already succeeds again; any other unknown id is
     * NOT_FOUND.
     */
    public void shutdown(String sandboxId, Step<P> teardown) throws SandboxException {
        Identifiers.validate("sandbox", sandboxId);
        P pod = live.get(sandboxId);
        if (pod == null) {
            if (shutDown.contains(sandboxId)) {
                return;
            }
            throw SandboxException.notFound("sandbox", sandboxId);
        }
        pod.lifecycle.lock();
        try {
            teardown.run(pod);
            records.remove(pod.id);
            live.remove(pod.id, pod);
            shutDown.add(pod.id);
            pod.exit.complete(new ExitStatus(0, 0, Instant.now()));
        } finally {
            pod.lifecycle.unlock();
        }
    }

    /**
     * Recover: each persisted pod not live yet is restored, made live, then {@code resume}d (re-attach to what still
     * runs); the statuses of those resumed are returned, and those of persisted pods that were live already (a
     * second recover of the same instance: nothing to re-attach, but the host must still route them). A pod is live
     * before resume so that containerd can still shut it down if resuming it fails; that failure is logged and the
     * other pods go on.
     *
     * @param persisted the records this driver owns (filtered by sandboxer where several share a store)
     */
    public <R> List<SandboxStatus> recover(Collection<R> persisted, Function<R, String> idOf,
                                           Function<R, P> restore, Step<P> resume) {
        List<SandboxStatus> out = new ArrayList<>();
        for (R r : persisted) {
            String id = idOf.apply(r);
            P known = live.get(id);
            if (known != null) {
                out.add(known.status(false));
                continue;
            }
            try {
                P pod = restore.apply(r);
                live.put(pod.id, pod);
                resume.run(pod);
                out.add(pod.status(false));
            } catch (SandboxException | RuntimeException e) {
                LOG.log(Level.WARNING, "cannot recover sandbox " + id, e);
            }
        }
        return out;
    }

    /**
     * Handover, on the successor: {@code persisted}, a pod its predecessor released, is made live and resumed as
     * {@link #recover} does for each pod (a failure to resume is logged; the pod stays live so that it can be shut
     * down). Returns its status.
     *
     * @since 1.11
     */
    public <R> SandboxStatus adopt(R persisted, Function<R, String> idOf, Function<R, P> restore, Step<P> resume)
            throws SandboxException {
        String id = idOf.apply(persisted);
        List<SandboxStatus> adopted = recover(List.of(persisted), idOf, restore, resume);
        if (adopted.isEmpty()) {
            throw SandboxException.internal("cannot adopt sandbox " + id + " (see the log)", null);
        }
        return adopted.get(0);
    }

    /**
     * Handover, on the leaving instance: the pod is no longer this instance's (NOT_FOUND for calls on it from now on;
     * its record stays for the successor). Returns it, for the driver to let go of what it holds open for it.
     *
     * @since 1.11
     */
    public P release(String sandboxId) throws SandboxException {
        P pod = get(sandboxId);
        live.remove(pod.id, pod);
        return pod;
    }
}
