package io.kuasar.host.internal;

import io.kuasar.spi.SandboxDriver;
import io.kuasar.spi.SandboxException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * Long-lived answers handed to containerd (Task Wait, sandbox exit) that must outlive the driver instance they were
 * asked of. containerd asks once and holds the call open; a driver that leaves (upgrade, rollback) never completes
 * what it was asked, so each such stage is recorded with how to ask again, and re-asked of the next driver serving
 * the sandboxer once it has recovered. That driver knows the outcome from its persisted state or from the processes
 * it re-attached to, so containerd gets the true exit, once.
 */
final class PendingStages {
    private static final Logger LOG = System.getLogger(PendingStages.class.getName());

    /** How to ask a driver for the stage. */
    interface Ask<T> {
        CompletionStage<T> of(SandboxDriver driver) throws SandboxException;
    }

    private static final class Pending<T> {
        final String sandboxer;
        final String sandboxId;
        final String what;
        final Ask<T> ask;
        final CompletableFuture<T> answer = new CompletableFuture<>();
        /** The driver asked last; null while orphaned (that driver left before answering). */
        volatile SandboxDriver askedOf;

        Pending(String sandboxer, String sandboxId, String what, Ask<T> ask) {
            this.sandboxer = sandboxer;
            this.sandboxId = sandboxId;
            this.what = what;
            this.ask = ask;
        }
    }

    private final Set<Pending<?>> pending = ConcurrentHashMap.newKeySet();

    /** Asks {@code driver} now; the returned stage survives that driver leaving. A synchronous failure is thrown. */
    <T> CompletionStage<T> ask(String sandboxer, String sandboxId, String what, SandboxDriver driver, Ask<T> ask)
            throws SandboxException {
        Pending<T> p = new Pending<>(sandboxer, sandboxId, what, ask);
        pending.add(p);
        p.answer.whenComplete((v, t) -> pending.remove(p));
        try {
            askOf(p, driver);
        } catch (SandboxException | RuntimeException e) {
            pending.remove(p);
            throw e;
        }
        return p.answer;
    }

    private <T> void askOf(Pending<T> p, SandboxDriver driver) throws SandboxException {
        p.askedOf = driver;
        CompletionStage<T> stage = p.ask.of(driver);
        stage.whenComplete((value, failure) -> {
            if (p.askedOf != driver) {
                return; // an answer from a driver that has left: the next driver's answer counts
            }
            if (failure != null) {
                p.answer.completeExceptionally(failure);
            } else {
                p.answer.complete(value);
            }
        });
    }

    /** {@code driver} left: what it was asked and has not answered is orphaned until a successor is asked. */
    void driverLeft(SandboxDriver driver) {
        orphan(p -> p.askedOf == driver);
    }

    /** {@code driver} serves {@code sandboxer} again, recovered: asks it what its predecessor left unanswered. */
    int driverServes(String sandboxer, SandboxDriver driver) {
        return reaskOrphans(p -> p.sandboxer.equals(sandboxer), driver);
    }

    /**
     * Sandbox {@code sandboxId} is being handed over by {@code from}: what {@code from} was asked for it is orphaned
     * before it lets go (an answer it gives while letting go does not count).
     */
    void sandboxLeaving(String sandboxId, SandboxDriver from) {
        orphan(p -> p.sandboxId.equals(sandboxId) && p.askedOf == from);
    }

    /** {@code to} adopted {@code sandboxId}: asks it what was orphaned for that sandbox. */
    int sandboxAdopted(String sandboxId, SandboxDriver to) {
        return reaskOrphans(p -> p.sandboxId.equals(sandboxId), to);
    }

    private void orphan(Predicate<Pending<?>> which) {
        pending.stream().filter(which).forEach(p -> p.askedOf = null);
    }

    /** Asks {@code driver} the orphaned, unanswered stages {@code which} selects; returns how many. */
    private int reaskOrphans(Predicate<Pending<?>> which, SandboxDriver driver) {
        int asked = 0;
        for (Pending<?> p : pending) {
            if (which.test(p) && p.askedOf == null && !p.answer.isDone()) {
                reask(p, driver);
                asked++;
            }
        }
        return asked;
    }

    private <T> void reask(Pending<T> p, SandboxDriver driver) {
        try {
            askOf(p, driver);
            LOG.log(Level.DEBUG, "{0} asked again of the new {1} driver", p.what, p.sandboxer);
        } catch (SandboxException | RuntimeException e) {
            LOG.log(Level.WARNING, "{0} cannot be asked again of the new {1} driver: {2}", p.what, p.sandboxer,
                    e.getMessage());
            p.answer.completeExceptionally(e);
        }
    }

    int size() {
        return pending.size();
    }
}
