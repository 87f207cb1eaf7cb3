package io.kuasar.host.internal;

import io.kuasar.host.SandboxRouter.TaskCall;
import io.kuasar.spi.Identifiers;
import io.kuasar.spi.SandboxDriver;
import io.kuasar.spi.SandboxException;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.TreeSet;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * The one gate every Controller and Task call passes on its way to a driver, once. It looks the sandbox's owner up
 * (the sandboxer that created it), waits, bounded, while that sandboxer has no driver (an upgrade, a rollback), and
 * enters the serving driver instance's {@link InstanceCalls}, so that an instance leaving first finishes what it
 * began. A call that reaches an instance already closing (or, being long, one that holds long calls back) has done
 * nothing and goes to its successor instead. Brief calls are those that read (status, platform, metrics) or only
 * register a waiter (exit, Task Wait): a leaving instance answers them while its long calls end.
 *
 * <p>The sandbox -> sandboxer table lives here and outlives the drivers. A call never passes the gate twice: an
 * instance draining would wait for the outer call while the inner one waited for its successor.
 */
final class CallGate {
    /** A call on the driver serving a sandboxer. */
    interface OnDriver<T> {
        T on(SandboxDriver driver) throws SandboxException;
    }

    private final DriverTable drivers;
    private final PendingStages pending;
    private final Duration wait;
    /** sandbox id -> sandboxer that created it; kept while its driver is away. */
    private final Map<String, String> owners = new ConcurrentHashMap<>();

    CallGate(DriverTable drivers, PendingStages pending, Duration wait) {
        this.drivers = drivers;
        this.pending = pending;
        this.wait = wait;
    }

    /** A long call (one that changes something) on sandbox {@code sandboxId} of {@code sandboxer}. */
    <T> T call(String sandboxer, String sandboxId, OnDriver<T> call) throws SandboxException {
        return call(sandboxer, sandboxId, false, call);
    }

    /**
     * Makes {@code call} on the instance that answers for sandbox {@code sandboxId} of {@code sandboxer} (the one
     * serving the sandboxer, or the leaving one that still holds the sandbox while it hands its sandboxes over) when
     * the call is let in; {@code brief} for a call that only reads or registers a waiter. Waits up to the gate's bound
     * for a serving instance; UNAVAILABLE naming the driver when none came, NOT_FOUND for an unknown sandboxer.
     */
    <T> T call(String sandboxer, String sandboxId, boolean brief, OnDriver<T> call) throws SandboxException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            DriverTable.Claim claim = drivers.holderOf(sandboxId,
                    drivers.await(sandboxer, Duration.ofNanos(Math.max(0, deadline - System.nanoTime()))));
            InstanceCalls.Entry entry = claim.calls().enter(brief);
            InstanceCalls.Entry onSandbox = entry == null ? null : claim.sandboxes().of(sandboxId).enter(brief);
            // checked after entering: a call that found the instance before a handover began and entered after must
            // not run on it (a Create of a sandbox the successor is to hold)
            if (onSandbox != null && drivers.answers(claim, sandboxer, sandboxId)) {
                try (entry; onSandbox) {
                    return call.on(claim.driver());
                } catch (SandboxException e) {
                    throw e.code() == SandboxException.Code.UNIMPLEMENTED ? namingSandboxer(e, sandboxer) : e;
                }
            }
            if (onSandbox != null) {
                onSandbox.close();
            }
            if (entry != null) {
                entry.close();
            }
            // refused by a leaving instance: once it lets nothing in (it is then out of the table), or once it has
            // handed the sandbox over, on to its successor
            if (System.nanoTime() > deadline) {
                throw new SandboxException(SandboxException.Code.UNAVAILABLE, "driver \"" + sandboxer
                        + "\" is stopping and no successor took over within " + wait.toMillis() + " ms");
            }
            awaitSuccessor(claim, entry == null, sandboxId, deadline);
        }
    }

    private void awaitSuccessor(DriverTable.Claim claim, boolean instanceClosed, String sandboxId, long deadline)
            throws SandboxException {
        Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
        try {
            if (instanceClosed) {
                claim.calls().awaitClosed(left);
                LockSupport.parkNanos(100_000);
            } else {
                drivers.awaitHanded(sandboxId, claim, left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxException(SandboxException.Code.CANCELLED, "interrupted waiting for a driver's successor");
        }
    }

    /** A Controller call on an existing sandbox, checking that {@code sandboxer} is the one that created it. */
    <T> T onSandbox(String sandboxer, String sandboxId, OnDriver<T> call) throws SandboxException {
        return call(ownedBy(sandboxer, sandboxId), sandboxId, call);
    }

    /** A brief Controller call (one that only reads) on an existing sandbox. */
    <T> T readSandbox(String sandboxer, String sandboxId, OnDriver<T> call) throws SandboxException {
        return call(ownedBy(sandboxer, sandboxId), sandboxId, true, call);
    }

    /** A Task call on the task service of {@code sandboxId}. */
    <T> T onTasks(String sandboxId, TaskCall<T> call) throws SandboxException {
        return onTasks(sandboxId, false, call);
    }

    /** A Task call, {@code brief} when it only reads. */
    <T> T onTasks(String sandboxId, boolean brief, TaskCall<T> call) throws SandboxException {
        return call(sandboxerOf(sandboxId), sandboxId, brief, d -> call.on(d.tasks(sandboxId)));
    }

    /**
     * A long-lived answer (Task Wait, sandbox exit) asked of the serving instance; it outlives that instance and is
     * asked again of the next one ({@link PendingStages}).
     */
    <T> CompletionStage<T> stage(String sandboxer, String sandboxId, String what, PendingStages.Ask<T> ask)
            throws SandboxException {
        return call(sandboxer, sandboxId, true, d -> pending.ask(sandboxer, sandboxId, what, d, ask));
    }

    /** An UNIMPLEMENTED answer says which sandboxer gave it: "X is not implemented by the runsc sandboxer". */
    private static SandboxException namingSandboxer(SandboxException e, String sandboxer) {
        String m = String.valueOf(e.getMessage());
        String named = m.endsWith(" by this driver") ? m.replace(" by this driver", " by the " + sandboxer + " sandboxer")
                : m.contains(sandboxer) ? m : "the " + sandboxer + " sandboxer: " + m;
        return new SandboxException(e.code(), named, e);
    }

    /** Records a new sandbox's owner; false when the id is taken. */
    boolean claimNew(String sandboxId, String sandboxer) {
        return owners.putIfAbsent(sandboxId, sandboxer) == null;
    }

    /** Records the owner of a sandbox a driver recovered. */
    void own(String sandboxId, String sandboxer) {
        owners.put(sandboxId, sandboxer);
    }

    /** The sandbox is gone (shut down, or its Create failed): no owner, and no calls to track per sandbox. */
    void disown(String sandboxId) {
        owners.remove(sandboxId);
        drivers.claims().forEach(c -> c.sandboxes().forget(sandboxId));
    }

    /** The sandboxer that created {@code sandboxId}; NOT_FOUND for a sandbox nobody created. */
    String sandboxerOf(String sandboxId) throws SandboxException {
        Identifiers.validate("sandbox", sandboxId);
        String sandboxer = owners.get(sandboxId);
        if (sandboxer == null) {
            throw SandboxException.notFound("sandbox", sandboxId);
        }
        return sandboxer;
    }

    /** {@code sandboxer}, when it created {@code sandboxId}; NOT_FOUND naming what is unknown otherwise. */
    String ownedBy(String sandboxer, String sandboxId) throws SandboxException {
        Identifiers.validate("sandbox", sandboxId);
        String created = owners.get(sandboxId);
        if (created != null && created.equals(sandboxer)) {
            return sandboxer;
        }
        if (sandboxer == null || !drivers.knownSandboxers().contains(sandboxer)) {
            drivers.await(sandboxer, Duration.ZERO); // an unknown sandboxer: NOT_FOUND naming it
        }
        throw SandboxException.notFound("sandbox", sandboxId + " (sandboxer " + sandboxer + ")");
    }

    /** The sandboxes {@code sandboxers} created (and that are not gone). */
    Set<String> sandboxesOf(Collection<String> sandboxers) {
        Set<String> ids = new TreeSet<>();
        owners.forEach((id, sandboxer) -> {
            if (sandboxers.contains(sandboxer)) {
                ids.add(id);
            }
        });
        return ids;
    }

    /** sandbox id -> sandboxer, including sandboxes whose driver is away. */
    Map<String, String> owners() {
        return new TreeMap<>(owners);
    }
}
