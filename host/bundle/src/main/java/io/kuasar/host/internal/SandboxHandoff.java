package io.kuasar.host.internal;

import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxHandover;
import io.kuasar.spi.SandboxStatus;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Hands a leaving driver instance's sandboxes to its successor one at a time, when both implement {@link
 * SandboxHandover}: the successor serves new sandboxes at once, and each sandbox changes hands at a moment no call on
 * it is inside the leaving instance (its calls meanwhile wait, and only for it). Sandboxes with no call inside go
 * first, in turn, so that one busy sandbox (a VM booting) holds up none of the others; each busy one is then handed
 * over as its calls end, with the same quiet moment, hold of long calls and bounded drain as a whole instance
 * ({@link InstanceCalls}). The successor is never asked to recover: nothing runs twice, and no sandbox is watched by
 * both instances or by neither while a call could see it.
 */
final class SandboxHandoff {
    private static final Logger LOG = System.getLogger(SandboxHandoff.class.getName());
    /** A sandbox's handover longer than this is logged with its parts. */
    private static final long SLOW_MS = 50;

    private final DriverTable drivers;
    private final PendingStages pending;
    private final Consumer<SandboxStatus> adopted;
    private final Duration quiet;
    private final Duration drain;

    /** What one handoff did, for the node log (bench/driver-upgrade.sh reads it). */
    record Outcome(int sandboxes, int busy, long longestHandMs, long tookMs) {
        String describe() {
            return String.format("handed over %d sandbox(es) one at a time in %d ms (%d with calls inside, handed as"
                    + " they ended); a sandbox's calls waited at most %d ms", sandboxes, tookMs, busy, longestHandMs);
        }
    }

    /**
     * {@code adopted}: what the router does with a sandbox the successor adopted (its owner, its namespace, its Task
     * socket), called before the sandbox's calls are let in again.
     */
    SandboxHandoff(DriverTable drivers, PendingStages pending, Consumer<SandboxStatus> adopted, Duration quiet,
                   Duration drain) {
        this.drivers = drivers;
        this.pending = pending;
        this.adopted = adopted;
        this.quiet = quiet;
        this.drain = drain;
    }

    static boolean possible(DriverTable.Claim gone, DriverTable.Claim next) {
        return gone.driver() instanceof SandboxHandover && next.driver() instanceof SandboxHandover;
    }

    /**
     * Hands every sandbox {@code gone} holds to {@code next}, which serves {@code names} from the start; {@code owned}
     * are the sandboxes of those sandboxers the router knows. Returns once {@code gone} holds none.
     */
    Outcome run(DriverTable.Claim gone, DriverTable.Claim next, List<String> names, Set<String> owned) {
        long began = System.nanoTime();
        Set<String> held = drivers.beginHandoff(gone, next, names, owned);
        List<String> busy = new ArrayList<>();
        long longest = 0;
        try {
            for (String id : held) {
                if (gone.sandboxes().of(id).closeIfQuiet()) {
                    longest = Math.max(longest, handOver(id, gone, next, 0));
                } else {
                    busy.add(id);
                }
            }
            for (String id : busy) {
                InstanceCalls calls = gone.sandboxes().of(id);
                if (!calls.closeWhenQuiet(quiet, drain)) {
                    calls.closeAndDrain(drain, "sandbox " + id);
                }
                // its long calls waited from when they were first held back, if they were
                longest = Math.max(longest, handOver(id, gone, next, calls.heldSince()));
            }
        } finally {
            held.forEach(drivers::handed); // none left held by an instance that is going, whatever happened
        }
        return new Outcome(held.size(), busy.size(), longest, (System.nanoTime() - began) / 1_000_000);
    }

    /**
     * Releases {@code id} on {@code gone} and has {@code next} adopt it; returns how long its calls waited, in ms, from
     * now or from {@code heldSince} ({@link System#nanoTime}; 0 when none was held back) until they could go on.
     */
    private long handOver(String id, DriverTable.Claim gone, DriverTable.Claim next, long heldSince) {
        long closedAt = System.nanoTime();
        long waitedFrom = heldSince != 0 ? heldSince : closedAt;
        pending.sandboxLeaving(id, gone.driver()); // an answer the leaving instance gives while letting go is not counted
        try {
            ((SandboxHandover) gone.driver()).release(id);
        } catch (SandboxException e) {
            if (e.code() == SandboxException.Code.NOT_FOUND) {
                drivers.handed(id); // shut down meanwhile, or its Create failed: nothing to hand over
                return (System.nanoTime() - waitedFrom) / 1_000_000;
            }
            LOG.log(Level.WARNING, "sandbox {0}: the leaving driver instance failed to release it ({1}); its"
                    + " successor adopts it anyway", id, e.getMessage());
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "sandbox " + id + ": the leaving driver instance failed to release it; its"
                    + " successor adopts it anyway", e);
        }
        long releasedAt = System.nanoTime();
        try {
            adopted.accept(((SandboxHandover) next.driver()).adopt(id));
        } catch (SandboxException | RuntimeException e) {
            LOG.log(Level.ERROR, "sandbox " + id + " could not be adopted by its driver's successor", e);
        }
        drivers.handed(id); // its calls go on from here; asking its Waits again does not hold them
        long handedAt = System.nanoTime();
        pending.sandboxAdopted(id, next.driver());
        long ms = (handedAt - closedAt) / 1_000_000;
        if (ms > SLOW_MS) { // what a slow handover of one sandbox spent its time on, for whoever reads a bench
            LOG.log(Level.INFO, "sandbox {0} changed hands in {1} ms (release {2}, adopt {3})", id, ms,
                    (releasedAt - closedAt) / 1_000_000, (handedAt - releasedAt) / 1_000_000);
        }
        return (handedAt - waitedFrom) / 1_000_000;
    }
}
