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
import io.kuasar.spi.TaskService;
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
import java.util.TreeMap;
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
 * other sandboxers are not held up. The Task API handed out resolves the serving driver per call, and Wait and exit
 * stages are asked again of the next driver after its recovery ({@link PendingStages}). When several services claim a
 * sandboxer, see {@link DriverTable} for who serves and {@link Succession} for what happens to the loser's bundle.
 */
@Component(service = {SandboxRouter.class, Router.class})
public class Router implements SandboxRouter {
    private static final Logger LOG = System.getLogger(Router.class.getName());
    static final String WAIT_PROPERTY = "kuasar.driver.wait.ms";
    static final long DEFAULT_WAIT_MS = 5000;

    private final DriverTable drivers = new DriverTable();
    /** sandbox id -> sandboxer that created it; kept while its driver is away. */
    private final Map<String, String> owners = new ConcurrentHashMap<>();
    private final List<SandboxListener> listeners = new CopyOnWriteArrayList<>();
    private final PendingStages pending = new PendingStages();
    private final EventHub events;
    private final Duration driverWait;
    private final BiConsumer<DriverTable.Claim, DriverTable.Claim> retire;
    private final Succession succession;

    @Activate
    public Router(@Reference EventHub events, BundleContext context) {
        this.events = events;
        this.driverWait = Duration.ofMillis(waitMillis(context.getProperty(WAIT_PROPERTY)));
        this.succession = new Succession(context, name -> !claimsOf(name).isEmpty());
        this.retire = succession::retire;
    }

    /** Without OSGi (tests): {@code retire} is told which serving claim a newcomer outranks. */
    Router(EventHub events, Duration driverWait, BiConsumer<DriverTable.Claim, DriverTable.Claim> retire) {
        this.events = events;
        this.driverWait = driverWait;
        this.retire = retire;
        this.succession = null;
    }

    static long waitMillis(String value) {
        try {
            return value == null || value.isBlank() ? DEFAULT_WAIT_MS : Math.max(0, Long.parseLong(value.trim()));
        } catch (NumberFormatException e) {
            LOG.log(Level.WARNING, "{0}={1} is not a number of milliseconds; using {2}", WAIT_PROPERTY, value,
                    DEFAULT_WAIT_MS);
            return DEFAULT_WAIT_MS;
        }
    }

    @Deactivate
    void close() {
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
            takeOver(claim, free);
        }
        for (DriverTable.Claim older : drivers.outrankedBy(claim)) {
            LOG.log(Level.INFO, "driver {0} outranks the serving {1}; it takes over when that one leaves",
                    describe(claim), describe(older));
            retire.accept(older, claim);
        }
    }

    void unbindDriver(SandboxDriver driver, Map<String, Object> properties) {
        Map<DriverTable.Claim, List<String>> successors = drivers.remove(driver);
        pending.driverLeft(driver);
        LOG.log(Level.INFO, "driver for sandboxer(s) {0} left; its sandboxes keep running and wait for it",
                DriverTable.sandboxers(properties));
        successors.forEach(this::takeOver);
    }

    /** Recovers {@code claim}'s sandboxes, opens the gate of {@code names} to it, and re-asks pending stages. */
    private void takeOver(DriverTable.Claim claim, List<String> names) {
        Collection<SandboxStatus> recovered;
        try {
            recovered = claim.driver().recover();
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "driver for " + names + " failed to recover its sandboxes", e);
            return;
        }
        for (SandboxStatus s : recovered) {
            owners.put(s.id(), s.sandboxer());
            events.remember(s.id(), s.namespace());
        }
        drivers.serve(claim, names);
        int reasked = 0;
        for (String name : names) {
            reasked += pending.driverServes(name, claim.driver());
        }
        LOG.log(Level.INFO, "driver {0} serves {1}: recovered {2} sandbox(es), re-asked {3} pending wait(s)",
                describe(claim), names, recovered.size(), reasked);
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
        SandboxDriver driver = drivers.await(sandboxer, driverWait);
        if (owners.putIfAbsent(id, sandboxer) != null) {
            throw new SandboxException(SandboxException.Code.ALREADY_EXISTS, "sandbox " + id + " already exists");
        }
        try {
            events.remember(id, spec.namespace());
            SandboxStatus status = driver.create(spec);
            LOG.log(Level.INFO, "sandbox {0} created by {1}", id, sandboxer);
            return status;
        } catch (SandboxException | RuntimeException e) {
            owners.remove(id, sandboxer);
            events.forget(id);
            throw e;
        }
    }

    @Override
    public SandboxStarted start(String sandboxer, String sandboxId) throws SandboxException {
        SandboxStarted started = onOwner(sandboxer, sandboxId, d -> d.start(sandboxId));
        LOG.log(Level.INFO, "sandbox {0} started (pid {1})", sandboxId, started.pid());
        return started;
    }

    @Override
    public Platform platform(String sandboxer, String sandboxId) throws SandboxException {
        return owner(sandboxer, sandboxId).platform(sandboxId);
    }

    @Override
    public void stop(String sandboxer, String sandboxId, Duration timeout) throws SandboxException {
        onOwner(sandboxer, sandboxId, d -> {
            d.stop(sandboxId, timeout);
            return null;
        });
        LOG.log(Level.INFO, "sandbox {0} stopped", sandboxId);
    }

    @Override
    public CompletionStage<ExitStatus> exit(String sandboxer, String sandboxId) throws SandboxException {
        return onOwner(sandboxer, sandboxId, owner -> pending.ask(sandboxer, "exit of sandbox " + sandboxId, owner,
                d -> d.exit(sandboxId)));
    }

    @Override
    public SandboxStatus status(String sandboxer, String sandboxId, boolean verbose) throws SandboxException {
        return owner(sandboxer, sandboxId).status(sandboxId, verbose);
    }

    @Override
    public void shutdown(String sandboxer, String sandboxId) throws SandboxException {
        onOwner(sandboxer, sandboxId, d -> {
            d.shutdown(sandboxId);
            return null;
        });
        owners.remove(sandboxId);
        events.forget(sandboxId);
        listeners.forEach(l -> l.removed(sandboxId));
        LOG.log(Level.INFO, "sandbox {0} shut down; nothing of it remains", sandboxId);
    }

    @Override
    public TypedData metrics(String sandboxer, String sandboxId) throws SandboxException {
        return owner(sandboxer, sandboxId).metrics(sandboxId);
    }

    @Override
    public void update(String sandboxer, SandboxSpec spec, Collection<String> fields) throws SandboxException {
        owner(sandboxer, spec.id()).update(spec, fields);
    }

    @Override
    public TaskService tasks(String sandboxId) throws SandboxException {
        sandboxerOf(sandboxId);
        return new RoutedTasks(sandboxId, new RoutedTasks.Resolver() {
            @Override
            public SandboxDriver driverOf(String id) throws SandboxException {
                return drivers.await(sandboxerOf(id), driverWait);
            }

            @Override
            public String sandboxerOf(String id) throws SandboxException {
                return Router.this.sandboxerOf(id);
            }
        }, pending);
    }

    private String sandboxerOf(String sandboxId) throws SandboxException {
        Identifiers.validate("sandbox", sandboxId);
        String sandboxer = owners.get(sandboxId);
        if (sandboxer == null) {
            throw SandboxException.notFound("sandbox", sandboxId);
        }
        return sandboxer;
    }

    /** Every sandbox a present driver answers for; never waits for an absent one. */
    @Override
    public Collection<SandboxStatus> sandboxes() {
        List<SandboxStatus> all = new ArrayList<>();
        for (Map.Entry<String, String> e : owners.entrySet()) {
            DriverTable.Claim claim = drivers.current(e.getValue());
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
        return new TreeMap<>(owners);
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

    /** The driver owning a sandbox, checking the sandboxer containerd named is the one that created it. */
    /** A call on a sandbox's driver. */
    private interface OnDriver<T> {
        T on(SandboxDriver driver) throws SandboxException;
    }

    /**
     * Makes the call on the sandbox's driver; a driver instance being stopped refuses calls it has not begun with
     * UNAVAILABLE, having done nothing, so the call is made once more on the instance the gate hands out now.
     */
    private <T> T onOwner(String sandboxer, String sandboxId, OnDriver<T> call) throws SandboxException {
        SandboxDriver driver = owner(sandboxer, sandboxId); // the gate's own UNAVAILABLE is final
        try {
            return call.on(driver);
        } catch (SandboxException e) {
            if (e.code() != SandboxException.Code.UNAVAILABLE) {
                throw e;
            }
            return call.on(owner(sandboxer, sandboxId));
        }
    }

    private SandboxDriver owner(String sandboxer, String sandboxId) throws SandboxException {
        Identifiers.validate("sandbox", sandboxId);
        String created = owners.get(sandboxId);
        if (created != null && created.equals(sandboxer)) {
            return drivers.await(sandboxer, driverWait);
        }
        if (sandboxer == null || !drivers.knownSandboxers().contains(sandboxer)) {
            drivers.await(sandboxer, Duration.ZERO); // an unknown sandboxer: NOT_FOUND naming it
        }
        throw SandboxException.notFound("sandbox", sandboxId + " (sandboxer " + sandboxer + ")");
    }
}
