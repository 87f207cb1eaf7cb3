package io.kuasar.host.internal;

import io.kuasar.host.SandboxListener;
import io.kuasar.host.SandboxRouter;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.Identifiers;
import io.kuasar.spi.Platform;
import io.kuasar.spi.SandboxDriver;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TypedData;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import java.util.Set;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/**
 * Routes containerd's requests: Controller calls by sandboxer to a driver, Task calls by sandbox to the driver that
 * owns it. Drivers come and go at run time (dynamic references), so the routing table is rebuilt from each driver's
 * {@link SandboxDriver#recover()} when it arrives.
 *
 * <p>Upgrades: the sandbox -> sandboxer table outlives the drivers. While a sandboxer that was served has no driver
 * (its bundle stopped, updated, refreshed, uninstalled), calls for it wait at the gate, up to the framework or system
 * property {@value #WAIT_PROPERTY} (default {@value #DEFAULT_WAIT_MS} ms), then fail UNAVAILABLE naming the driver;
 * other sandboxers are not held up. Every call passes {@link CallGate} once; a leaving instance first finishes the
 * calls inside it ({@link InstanceCalls}), and Wait and exit stages are asked again of the next driver after its
 * recovery ({@link PendingStages}); or, when it and a successor standing by both implement {@code SandboxHandover},
 * it hands its sandboxes over one at a time ({@link SandboxHandoff}) and the successor does not recover. When several services claim a
 * sandboxer, see {@link DriverTable} for who serves and {@link Succession} for what happens to the loser's bundle.
 */
@Component(service = {SandboxRouter.class, Router.class})
public class Router implements SandboxRouter {
    private static final Logger LOG = System.getLogger(Router.class.getName());
    static final String WAIT_PROPERTY = "kuasar.driver.wait.ms";
    static final long DEFAULT_WAIT_MS = 5000;
    static final String DRAIN_PROPERTY = "kuasar.driver.drain.ms";
    /** A vmm sandbox Start boots a VM: tens of seconds without KVM. */
    static final long DEFAULT_DRAIN_MS = 60_000;
    static final String QUIET_PROPERTY = "kuasar.driver.quiet.ms";
    /**
     * How long a leaving instance serves on, waiting for a moment with no call inside, before the gate closes and
     * drains it. Nobody waits meanwhile but the command that replaces the driver; a node under steady load of
     * long calls (VM boots without KVM) may have no such moment for seconds.
     */
    static final long DEFAULT_QUIET_MS = 10_000;

    private final DriverTable drivers = new DriverTable();
    private final List<SandboxListener> listeners = new CopyOnWriteArrayList<>();
    private final PendingStages pending = new PendingStages();
    private final EventHub events;
    private final CallGate gate;
    private final Duration drain;
    private final Duration quiet;
    /** Bundles a command is replacing ({@link DriverSwap}): it removes them itself, once their successor is whole. */
    private final Set<Long> swapping = ConcurrentHashMap.newKeySet();
    private final BiConsumer<DriverTable.Claim, DriverTable.Claim> retire;
    private final Succession succession;
    private final Handover handover;
    private final SandboxHandoff handoff;

    @Activate
    public Router(@Reference EventHub events, BundleContext context) {
        this.events = events;
        this.gate = new CallGate(drivers, pending, Duration.ofMillis(millis(context.getProperty(WAIT_PROPERTY),
                WAIT_PROPERTY, DEFAULT_WAIT_MS)));
        this.drain = Duration.ofMillis(millis(context.getProperty(DRAIN_PROPERTY), DRAIN_PROPERTY, DEFAULT_DRAIN_MS));
        this.quiet = Duration.ofMillis(millis(context.getProperty(QUIET_PROPERTY), QUIET_PROPERTY, DEFAULT_QUIET_MS));
        this.succession = new Succession(context, name -> !claimsOf(name).isEmpty());
        this.retire = succession::retire;
        this.handover = new Handover(context);
        this.handoff = new SandboxHandoff(drivers, pending, this::adopted, quiet, drain);
    }

    /** Without OSGi (tests): {@code retire} is told which serving claim a newcomer outranks. */
    Router(EventHub events, Duration driverWait, Duration quiet, Duration drain,
           BiConsumer<DriverTable.Claim, DriverTable.Claim> retire) {
        this.events = events;
        this.gate = new CallGate(drivers, pending, driverWait);
        this.quiet = quiet;
        this.drain = drain;
        this.retire = retire;
        this.succession = null;
        this.handover = new Handover(null);
        this.handoff = new SandboxHandoff(drivers, pending, this::adopted, quiet, drain);
    }

    static long millis(String value, String property, long fallback) {
        try {
            return value == null || value.isBlank() ? fallback : Math.max(0, Long.parseLong(value.trim()));
        } catch (NumberFormatException e) {
            LOG.log(Level.WARNING, "{0}={1} is not a number of milliseconds; using {2}", property, value, fallback);
            return fallback;
        }
    }

    @Deactivate
    void close() {
        handover.close();
        if (succession != null) {
            succession.close();
        }
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindDriver(SandboxDriver driver, Map<String, Object> properties) {
        DriverTable.Claim claim = DriverTable.Claim.of(driver, properties);
        List<String> free = drivers.add(claim);
        LOG.log(Level.INFO, "driver for sandboxer(s) {0} arrived ({1})", claim.sandboxers(), describe(claim));
        if (!free.isEmpty()) {
            takeOver(claim, free, null);
        }
        for (DriverTable.Claim older : drivers.outrankedBy(claim)) {
            LOG.log(Level.INFO, "driver {0} outranks the serving {1}; it takes over when that one leaves",
                    describe(claim), describe(older));
            if (!swapping.contains(older.bundleId())) {
                retire.accept(older, claim);
            }
        }
    }

    /**
     * A driver service is going (SCR calls this before the instance's deactivation). It serves on until a moment
     * with no call inside it (bounded by {@value #QUIET_PROPERTY}), then, if none came, holds new long calls back
     * while it answers brief ones until the long calls inside have ended (bounded by {@value #DRAIN_PROPERTY}); else
     * its sandboxers' new calls wait at the gate while the calls already inside it finish. Only then a standby, if
     * any (or one that arrived meanwhile), recovers and serves.
     */
    void unbindDriver(SandboxDriver driver, Map<String, Object> properties) {
        DriverTable.Claim gone = drivers.claimOf(driver);
        if (gone == null) {
            return; // never bound (SCR unbinds only what it bound): nothing was asked of it
        }
        Map.Entry<DriverTable.Claim, List<String>> next = drivers.successorOf(gone);
        if (next != null && SandboxHandoff.possible(gone, next.getKey())) {
            handOff(gone, next.getKey(), next.getValue());
            return;
        }
        long servedOn = System.nanoTime();
        boolean quietly = gone.calls().closeWhenQuiet(quiet, drain);
        // from here calls wait at the gate: the log's "left" to "serves" is the time they cannot be served
        List<String> left = drivers.remove(gone);
        long leftAt = System.nanoTime();
        long heldAt = gone.calls().heldSince();
        LOG.log(Level.INFO, "driver for sandboxer(s) {0} left (it served on {1} ms {2}); its sandboxes keep running"
                + " and wait for it", DriverTable.sandboxers(properties), (leftAt - servedOn) / 1_000_000,
                !quietly ? "and found no moment without a call: the " + gone.calls().inside() + " inside drain"
                        : heldAt == 0 ? "until no call was inside"
                        : "until no call was inside, holding long calls back for the last " + (leftAt - heldAt) / 1_000_000
                                + " ms");
        if (!quietly) {
            gone.calls().closeAndDrain(drain, describe(gone));
        }
        long drainedAt = System.nanoTime();
        pending.driverLeft(driver);
        // a newcomer that arrived meanwhile stood by until now; its recovery waits for the leaving instance's
        // deactivation too (Handover)
        handover.after(gone.bundleId(), () -> drivers.doneLeaving(left).forEach((claim, names) -> takeOver(claim,
                names, new UpgradeGap(heldAt, leftAt, drainedAt, System.nanoTime()))));
    }

    /** The successor standing by adopts {@code gone}'s sandboxes one at a time ({@link SandboxHandoff}). */
    private void handOff(DriverTable.Claim gone, DriverTable.Claim next, List<String> names) {
        SandboxHandoff.Outcome outcome = handoff.run(gone, next, names, gate.sandboxesOf(names));
        gone.calls().closeAndDrain(drain, describe(gone)); // nothing is left inside: every call was on a sandbox
        pending.driverLeft(gone.driver());
        // a stage on a sandbox shut down during the handoff was handed to nobody: the successor answers it
        names.forEach(name -> pending.driverServes(name, next.driver()));
        LOG.log(Level.INFO, "driver {0} serves {1}: {2} left ({3})", describe(next), names, describe(gone),
                outcome.describe());
    }

    /**
     * A sandbox the successor adopted: its owner, its events' namespace, its Task socket (told now, before its calls go
     * on: told at the handoff's end, one shut down meanwhile would get its socket opened again).
     */
    private void adopted(SandboxStatus s) {
        gate.own(s.id(), s.sandboxer());
        events.remember(s.id(), s.namespace());
        listeners.forEach(l -> l.recovered(List.of(s)));
    }

    /**
     * Recovers {@code claim}'s sandboxes, opens the gate of {@code names} to it, and re-asks pending stages;
     * {@code gap} is null for a driver that arrived while nobody served its sandboxers.
     */
    private void takeOver(DriverTable.Claim claim, List<String> names, UpgradeGap gap) {
        Collection<SandboxStatus> recovered;
        try {
            recovered = claim.driver().recover();
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "driver for " + names + " failed to recover its sandboxes", e);
            return;
        }
        for (SandboxStatus s : recovered) {
            gate.own(s.id(), s.sandboxer());
            events.remember(s.id(), s.namespace());
        }
        drivers.serve(claim, names);
        long servingAt = System.nanoTime(); // calls pass from here; the re-asks below do not hold them
        int reasked = 0;
        for (String name : names) {
            reasked += pending.driverServes(name, claim.driver());
        }
        LOG.log(Level.INFO, "driver {0} serves {1}: recovered {2} sandbox(es), re-asked {3} pending wait(s){4}",
                describe(claim), names, recovered.size(), reasked, gap == null ? "" : gap.describe(servingAt));
        listeners.forEach(l -> l.recovered(recovered));
    }

    /** Bundle, version and service id of a claim, for the log. */
    private String describe(DriverTable.Claim claim) {
        Bundle b = FrameworkUtil.getBundle(claim.driver().getClass());
        String bundle = b == null ? "bundle " + claim.bundleId() : b.getSymbolicName() + " " + b.getVersion();
        return bundle + ", service " + claim.serviceId() + ", ranking " + claim.ranking();
    }

    @Override
    public SandboxStatus create(String sandboxer, SandboxSpec spec) throws SandboxException {
        String id = Identifiers.validate("sandbox", spec.id());
        SandboxStatus status = gate.call(sandboxer, id, driver -> {
            if (!gate.claimNew(id, sandboxer)) {
                throw new SandboxException(SandboxException.Code.ALREADY_EXISTS, "sandbox " + id + " already exists");
            }
            try {
                events.remember(id, spec.namespace());
                return driver.create(spec);
            } catch (SandboxException | RuntimeException e) {
                gate.disown(id);
                events.forget(id);
                throw e;
            }
        });
        LOG.log(Level.INFO, "sandbox {0} created by {1}", id, sandboxer);
        return status;
    }

    @Override
    public SandboxStarted start(String sandboxer, String sandboxId) throws SandboxException {
        SandboxStarted started = gate.onSandbox(sandboxer, sandboxId, d -> d.start(sandboxId));
        LOG.log(Level.INFO, "sandbox {0} started (pid {1})", sandboxId, started.pid());
        return started;
    }

    @Override
    public Platform platform(String sandboxer, String sandboxId) throws SandboxException {
        return gate.readSandbox(sandboxer, sandboxId, d -> d.platform(sandboxId));
    }

    @Override
    public void stop(String sandboxer, String sandboxId, Duration timeout) throws SandboxException {
        gate.onSandbox(sandboxer, sandboxId, d -> {
            d.stop(sandboxId, timeout);
            return null;
        });
        LOG.log(Level.INFO, "sandbox {0} stopped", sandboxId);
    }

    @Override
    public CompletionStage<ExitStatus> exit(String sandboxer, String sandboxId) throws SandboxException {
        return gate.stage(gate.ownedBy(sandboxer, sandboxId), sandboxId, "exit of sandbox " + sandboxId,
                d -> d.exit(sandboxId));
    }

    @Override
    public SandboxStatus status(String sandboxer, String sandboxId, boolean verbose) throws SandboxException {
        return gate.readSandbox(sandboxer, sandboxId, d -> d.status(sandboxId, verbose));
    }

    @Override
    public void shutdown(String sandboxer, String sandboxId) throws SandboxException {
        gate.onSandbox(sandboxer, sandboxId, d -> {
            d.shutdown(sandboxId);
            return null;
        });
        gate.disown(sandboxId);
        events.forget(sandboxId);
        listeners.forEach(l -> l.removed(sandboxId));
        LOG.log(Level.INFO, "sandbox {0} shut down; nothing of it remains", sandboxId);
    }

    @Override
    public TypedData metrics(String sandboxer, String sandboxId) throws SandboxException {
        return gate.readSandbox(sandboxer, sandboxId, d -> d.metrics(sandboxId));
    }

    @Override
    public void update(String sandboxer, SandboxSpec spec, Collection<String> fields) throws SandboxException {
        gate.onSandbox(sandboxer, spec.id(), d -> {
            d.update(spec, fields);
            return null;
        });
    }

    @Override
    public <T> T task(String sandboxId, TaskCall<T> call) throws SandboxException {
        return gate.onTasks(sandboxId, call);
    }

    @Override
    public <T> T readTask(String sandboxId, TaskCall<T> call) throws SandboxException {
        return gate.onTasks(sandboxId, true, call);
    }

    @Override
    public CompletionStage<ExitStatus> waitTask(String sandboxId, String id, String execId) throws SandboxException {
        String what = "Wait for " + id + (execId.isEmpty() ? "" : " exec " + execId) + " of sandbox " + sandboxId;
        return gate.stage(gate.sandboxerOf(sandboxId), sandboxId, what, d -> d.tasks(sandboxId).waitFor(id, execId));
    }

    /** Every sandbox a present driver answers for; never waits for an absent one. */
    @Override
    public Collection<SandboxStatus> sandboxes() {
        List<SandboxStatus> all = new ArrayList<>();
        for (Map.Entry<String, String> e : gate.owners().entrySet()) {
            DriverTable.Claim claim = drivers.holderOf(e.getKey(), drivers.current(e.getValue()));
            if (claim == null) {
                continue;
            }
            try {
                all.add(claim.driver().status(e.getKey(), false));
            } catch (SandboxException ex) {
                LOG.log(Level.DEBUG, "no status for sandbox {0}: {1}", e.getKey(), ex.getMessage());
            }
        }
        return all;
    }

    /** sandbox id -> sandboxer, including sandboxes whose driver is away. */
    Map<String, String> owners() {
        return gate.owners();
    }

    /** The claims of {@code sandboxer} present now, serving or standing by. */
    List<DriverTable.Claim> claimsOf(String sandboxer) {
        return drivers.claims().stream().filter(c -> c.sandboxers().contains(sandboxer)).toList();
    }

    List<DriverTable.Claim> claims() {
        return drivers.claims();
    }

    DriverTable.Claim serving(String sandboxer) {
        return drivers.current(sandboxer);
    }

    Set<String> knownSandboxers() {
        return drivers.knownSandboxers();
    }

    /** While {@code on}, the bundle is being replaced by a command and not retired when outranked. */
    void swapping(long bundleId, boolean on) {
        if (on) {
            swapping.add(bundleId);
        } else {
            swapping.remove(bundleId);
        }
    }

    /** Bundles kept stopped as fallbacks of {@code sandboxer}. */
    List<Bundle> retiredBundles(String sandboxer) {
        return succession == null ? List.of() : succession.retired(sandboxer);
    }

    /** The operator removed the driver: its requests fail at once and no fallback comes back. */
    void forgetDriver(String sandboxer) {
        if (succession != null) {
            succession.forget(sandboxer);
        }
        drivers.forget(sandboxer);
    }

    @Override
    public void addListener(SandboxListener listener) {
        listeners.add(listener);
    }

    @Override
    public void removeListener(SandboxListener listener) {
        listeners.remove(listener);
    }
}
