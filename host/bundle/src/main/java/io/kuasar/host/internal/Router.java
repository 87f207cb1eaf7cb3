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
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/**
 * Routes containerd's requests: Controller calls by sandboxer to a driver, Task calls by sandbox to the driver that
 * owns it. Drivers come and go at run time (dynamic references), so the routing table is rebuilt from each driver's
 * {@link SandboxDriver#recover()} when it arrives.
 */
@Component(service = SandboxRouter.class)
public class Router implements SandboxRouter {
    private static final Logger LOG = System.getLogger(Router.class.getName());

    private final DriverTable drivers = new DriverTable();
    /** sandbox id -> sandboxer that created it. */
    private final Map<String, String> owners = new ConcurrentHashMap<>();
    private final List<SandboxListener> listeners = new CopyOnWriteArrayList<>();
    private final EventHub events;

    @Activate
    public Router(@Reference EventHub events) {
        this.events = events;
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindDriver(SandboxDriver driver, Map<String, Object> properties) {
        List<String> names = DriverTable.sandboxers(properties);
        drivers.add(driver, names);
        LOG.log(Level.INFO, "driver for sandboxer(s) {0} arrived; recovering its sandboxes", names);
        Collection<SandboxStatus> recovered;
        try {
            recovered = driver.recover();
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "driver for " + names + " failed to recover its sandboxes", e);
            return;
        }
        for (SandboxStatus s : recovered) {
            owners.put(s.id(), s.sandboxer());
            events.remember(s.id(), s.namespace());
        }
        LOG.log(Level.INFO, "recovered {0} sandbox(es) for {1}", recovered.size(), names);
        listeners.forEach(l -> l.recovered(recovered));
    }

    void unbindDriver(SandboxDriver driver, Map<String, Object> properties) {
        drivers.remove(driver);
        LOG.log(Level.INFO, "driver for sandboxer(s) {0} left; its sandboxes keep running",
                DriverTable.sandboxers(properties));
    }

    @Override
    public SandboxStatus create(String sandboxer, SandboxSpec spec) throws SandboxException {
        String id = Identifiers.validate("sandbox", spec.id());
        SandboxDriver driver = drivers.forSandboxer(sandboxer);
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
        SandboxStarted started = owner(sandboxer, sandboxId).start(sandboxId);
        LOG.log(Level.INFO, "sandbox {0} started (pid {1})", sandboxId, started.pid());
        return started;
    }

    @Override
    public Platform platform(String sandboxer, String sandboxId) throws SandboxException {
        return owner(sandboxer, sandboxId).platform(sandboxId);
    }

    @Override
    public void stop(String sandboxer, String sandboxId, Duration timeout) throws SandboxException {
        owner(sandboxer, sandboxId).stop(sandboxId, timeout);
        LOG.log(Level.INFO, "sandbox {0} stopped", sandboxId);
    }

    @Override
    public CompletionStage<ExitStatus> exit(String sandboxer, String sandboxId) throws SandboxException {
        return owner(sandboxer, sandboxId).exit(sandboxId);
    }

    @Override
    public SandboxStatus status(String sandboxer, String sandboxId, boolean verbose) throws SandboxException {
        return owner(sandboxer, sandboxId).status(sandboxId, verbose);
    }

    @Override
    public void shutdown(String sandboxer, String sandboxId) throws SandboxException {
        owner(sandboxer, sandboxId).shutdown(sandboxId);
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
        Identifiers.validate("sandbox", sandboxId);
        String sandboxer = owners.get(sandboxId);
        if (sandboxer == null) {
            throw SandboxException.notFound("sandbox", sandboxId);
        }
        return drivers.forSandboxer(sandboxer).tasks(sandboxId);
    }

    @Override
    public Collection<SandboxStatus> sandboxes() {
        List<SandboxStatus> all = new ArrayList<>();
        for (Map.Entry<String, String> e : owners.entrySet()) {
            try {
                all.add(drivers.forSandboxer(e.getValue()).status(e.getKey(), false));
            } catch (SandboxException ex) {
                LOG.log(Level.DEBUG, "no status for sandbox {0}: {1}", e.getKey(), ex.getMessage());
            }
        }
        return all;
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
    private SandboxDriver owner(String sandboxer, String sandboxId) throws SandboxException {
        Identifiers.validate("sandbox", sandboxId);
        SandboxDriver driver = drivers.forSandboxer(sandboxer);
        String created = owners.get(sandboxId);
        if (created == null || !created.equals(sandboxer)) {
            throw SandboxException.notFound("sandbox", sandboxId + " (sandboxer " + sandboxer + ")");
        }
        return driver;
    }
}
