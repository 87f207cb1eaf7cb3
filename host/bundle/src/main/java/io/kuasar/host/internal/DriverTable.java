package io.kuasar.host.internal;

import io.kuasar.spi.SandboxDriver;
import io.kuasar.spi.SandboxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.osgi.framework.Constants;

/**
 * The driver services present now, by the sandboxer names they claim, and the gate requests pass through.
 *
 * <p>Per sandboxer one claimant <em>serves</em>; the others stand by. A newcomer never takes over from a serving
 * driver on arrival: both would then watch the same processes, and whichever reaped a container's exit first would
 * leave the other a 255. It takes over only once the serving one has left (its bundle stopped, updated, refreshed or
 * uninstalled) and it has recovered. Among standbys the highest {@code service.ranking} wins, then the newest
 * service (highest {@code service.id}): a freshly installed version of a driver beats the one it replaces.
 *
 * <p>While a sandboxer that was served before has no serving driver, {@link #await} blocks its callers, bounded,
 * for one to come back; callers for other sandboxers never touch its monitor wait.
 */
final class DriverTable {
    /** One driver service: what it claims, where it comes from, and the calls it is serving (all, and per sandbox). */
    record Claim(SandboxDriver driver, List<String> sandboxers, int ranking, long serviceId, long bundleId,
                 InstanceCalls calls, SandboxCalls sandboxes) {
        static Claim of(SandboxDriver driver, Map<String, Object> properties) {
            return new Claim(driver, DriverTable.sandboxers(properties), number(properties.get(Constants.SERVICE_RANKING), 0),
                    number(properties.get(Constants.SERVICE_ID), 0), number(properties.get("service.bundleid"), -1),
                    new InstanceCalls(), new SandboxCalls());
        }

        private static int number(Object value, int fallback) {
            return value instanceof Number n ? n.intValue() : fallback;
        }

        private static long number(Object value, long fallback) {
            return value instanceof Number n ? n.longValue() : fallback;
        }
    }

    /** Which claim wins a sandboxer: highest ranking, then newest service. */
    static final Comparator<Claim> PRECEDENCE =
            Comparator.comparingInt(Claim::ranking).thenComparingLong(Claim::serviceId);

    private final Map<String, Claim> serving = new HashMap<>();
    private final List<Claim> claims = new ArrayList<>();
    /** Sandboxers some driver claimed in this JVM: their requests wait for a driver rather than fail at once. */
    private final Set<String> known = new HashSet<>();
    /**
     * Sandboxers whose serving instance left and is finishing its calls: no successor recovers before that one has
     * stopped touching the sandboxes (see {@link #doneLeaving}).
     */
    private final Set<String> leaving = new HashSet<>();
    /**
     * While a leaving instance hands its sandboxes to its successor one at a time ({@link SandboxHandoff}): the
     * sandboxes it still holds. Calls on them go to it; every other call of its sandboxers goes to the successor.
     */
    private final Map<String, Claim> heldBy = new HashMap<>();

    /** The sandboxer names of a driver service's {@value SandboxDriver#SANDBOXER} property. */
    static List<String> sandboxers(Map<String, Object> properties) {
        Object value = properties.get(SandboxDriver.SANDBOXER);
        if (value instanceof String s) {
            return List.of(s);
        }
        if (value instanceof String[] array) {
            return List.of(array);
        }
        if (value instanceof java.util.Collection<?> c) {
            return c.stream().map(String::valueOf).toList();
        }
        return List.of();
    }

    /**
     * Records a newly arrived claim. Returns the sandboxers it may serve right away (after its recovery, see
     * {@link #serve}): those nobody serves now.
     */
    synchronized List<String> add(Claim claim) {
        claims.add(claim);
        known.addAll(claim.sandboxers());
        return claim.sandboxers().stream().filter(n -> !serving.containsKey(n) && !leaving.contains(n)).toList();
    }

    /** The claims a newcomer outranks: drivers now serving a sandboxer it claims, with lower precedence. */
    synchronized List<Claim> outrankedBy(Claim claim) {
        List<Claim> out = new ArrayList<>();
        for (String name : claim.sandboxers()) {
            Claim current = serving.get(name);
            if (current != null && current != claim && PRECEDENCE.compare(claim, current) > 0 && !out.contains(current)) {
                out.add(current);
            }
        }
        return out;
    }

    /** Opens the gate of {@code names} to {@code claim} (it has recovered), waking whoever waits for them. */
    synchronized void serve(Claim claim, List<String> names) {
        if (!claims.contains(claim)) {
            return; // left while it recovered
        }
        names.forEach(n -> serving.putIfAbsent(n, claim));
        notifyAll();
    }

    /** The claim of a driver service present now, or null. */
    synchronized Claim claimOf(SandboxDriver driver) {
        return claims.stream().filter(c -> c.driver() == driver).findFirst().orElse(null);
    }

    /**
     * Removes a departed driver's claim: the gate hands out none of its sandboxers' calls to it from now on, and
     * nobody takes them over until {@link #doneLeaving}. Returns the sandboxers it served.
     */
    synchronized List<String> remove(Claim gone) {
        if (!claims.remove(gone)) {
            return List.of();
        }
        List<String> served = new ArrayList<>();
        for (String name : gone.sandboxers()) {
            if (serving.get(name) == gone) {
                serving.remove(name);
                leaving.add(name);
                served.add(name);
            }
        }
        return served;
    }

    /**
     * The instance that served {@code names} has finished its calls. Returns, per claim that should now take over,
     * the sandboxers it is to serve: the caller recovers it and then calls {@link #serve}.
     */
    synchronized Map<Claim, List<String>> doneLeaving(List<String> names) {
        Map<Claim, List<String>> successors = new HashMap<>();
        for (String name : names) {
            leaving.remove(name);
            if (serving.containsKey(name)) {
                continue;
            }
            claims.stream().filter(c -> c.sandboxers().contains(name)).max(PRECEDENCE)
                    .ifPresent(next -> successors.computeIfAbsent(next, k -> new ArrayList<>()).add(name));
        }
        return successors;
    }

    /**
     * The one claim standing by to take every sandboxer {@code gone} serves (the highest precedence for each), with
     * the sandboxers; null when it serves none, or when they would go to different successors.
     */
    synchronized Map.Entry<Claim, List<String>> successorOf(Claim gone) {
        List<String> names = gone.sandboxers().stream().filter(n -> serving.get(n) == gone).toList();
        Set<Claim> next = new HashSet<>();
        for (String name : names) {
            claims.stream().filter(c -> c != gone && c.sandboxers().contains(name)).max(PRECEDENCE).ifPresentOrElse(
                    next::add, () -> next.add(null));
        }
        return names.isEmpty() || next.size() != 1 || next.contains(null) ? null
                : Map.entry(next.iterator().next(), names);
    }

    /**
     * Begins handing {@code gone}'s sandboxes to {@code next} one at a time: {@code next} serves {@code names} from
     * now on, except the sandboxes {@code gone} still holds, which are those the caller names and those a call
     * has entered {@code gone} for (a Create in flight). Returns them.
     */
    synchronized Set<String> beginHandoff(Claim gone, Claim next, List<String> names, Set<String> owned) {
        claims.remove(gone);
        for (String name : names) {
            serving.put(name, next);
        }
        Set<String> held = new TreeSet<>(owned);
        held.addAll(gone.sandboxes().ids()); // read after the switch: a call that entered before it is counted
        held.forEach(id -> heldBy.put(id, gone));
        notifyAll();
        return held;
    }

    /** The instance that answers calls on {@code sandboxId} when {@code serving} serves its sandboxer. */
    synchronized Claim holderOf(String sandboxId, Claim serving) {
        Claim holder = sandboxId == null ? null : heldBy.get(sandboxId);
        return holder != null ? holder : serving;
    }

    /** True when {@code claim} answers calls on {@code sandboxId} of {@code sandboxer} now. */
    synchronized boolean answers(Claim claim, String sandboxer, String sandboxId) {
        return holderOf(sandboxId, serving.get(sandboxer)) == claim;
    }

    /** {@code sandboxId} has changed hands (or is gone): its calls go to the serving instance from now on. */
    synchronized void handed(String sandboxId) {
        heldBy.remove(sandboxId);
        notifyAll();
    }

    /** Waits up to {@code bound} while {@code claim} still holds {@code sandboxId}, its calls closed for its handover. */
    synchronized void awaitHanded(String sandboxId, Claim claim, Duration bound) throws InterruptedException {
        long deadline = System.nanoTime() + bound.toNanos();
        while (heldBy.get(sandboxId) == claim) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return;
            }
            wait(Math.max(1, left / 1_000_000), 0);
        }
    }

    /** The claim serving {@code sandboxer} now, or null. Never waits. */
    synchronized Claim current(String sandboxer) {
        return serving.get(sandboxer);
    }

    /** Every claim present, serving or standing by. */
    synchronized List<Claim> claims() {
        return List.copyOf(claims);
    }

    /**
     * The driver serving {@code sandboxer}, waiting up to {@code bound} for one when the sandboxer is known but
     * unserved (its driver is being upgraded or was removed). UNAVAILABLE naming the driver when none came back;
     * NOT_FOUND at once for a sandboxer no driver ever claimed.
     */
    Claim await(String sandboxer, Duration bound) throws SandboxException {
        if (sandboxer == null || sandboxer.isEmpty()) {
            throw SandboxException.invalid("sandboxer must be named in the request");
        }
        long deadline = System.nanoTime() + bound.toNanos();
        synchronized (this) {
            while (true) {
                Claim claim = serving.get(sandboxer);
                if (claim != null) {
                    return claim;
                }
                if (!known.contains(sandboxer)) {
                    throw new SandboxException(SandboxException.Code.NOT_FOUND, "sandboxer \"" + sandboxer
                            + "\" not found: no driver serves it (present: " + new TreeSet<>(serving.keySet()) + ")");
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new SandboxException(SandboxException.Code.UNAVAILABLE, "driver \"" + sandboxer
                            + "\" is not available: no driver of that name came back within " + bound.toMillis()
                            + " ms (being upgraded or removed); its sandboxes keep running");
                }
                try {
                    wait(Math.max(1, left / 1_000_000), 0);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new SandboxException(SandboxException.Code.CANCELLED, "interrupted waiting for driver \""
                            + sandboxer + "\"");
                }
            }
        }
    }

    /** Forgets that a sandboxer was ever served (operator removed its driver): its requests fail at once again. */
    synchronized void forget(String sandboxer) {
        if (!serving.containsKey(sandboxer) && claims.stream().noneMatch(c -> c.sandboxers().contains(sandboxer))) {
            known.remove(sandboxer);
        }
    }

    synchronized Set<String> knownSandboxers() {
        return new TreeSet<>(known);
    }
}
