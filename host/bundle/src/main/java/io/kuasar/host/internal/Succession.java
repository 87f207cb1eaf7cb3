package io.kuasar.host.internal;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Predicate;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.BundleException;
import org.osgi.framework.BundleListener;

/**
 * Which bundle of a driver runs when several are installed: the one whose service wins ({@link DriverTable}). A
 * driver bundle outranked by a newcomer (a newer version dropped into the drivers folder, or installed beside the
 * one the node shipped with) is <em>retired</em>: stopped, not uninstalled, so it stays a fallback. When the winner
 * is uninstalled (its jar deleted from the drivers folder) and no driver of that name is left, the newest retired
 * bundle is started again: deleting a drop-in upgrade rolls back to what ran before.
 */
final class Succession implements BundleListener {
    private static final Logger LOG = System.getLogger(Succession.class.getName());

    private final BundleContext context;
    private final Predicate<String> hasDriver;
    /** sandboxer -> ids of bundles this host stopped because a newer driver of that name took over. */
    private final Map<String, Set<Long>> retired = new ConcurrentHashMap<>();
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "kuasar-driver-succession");
        t.setDaemon(true);
        return t;
    });

    Succession(BundleContext context, Predicate<String> hasDriver) {
        this.context = context;
        this.hasDriver = hasDriver;
        context.addBundleListener(this);
    }

    void close() {
        context.removeBundleListener(this);
        worker.shutdown();
    }

    /**
     * Stops the bundle of {@code outranked}, off the calling thread: this runs from a service-binding callback, and
     * stopping a bundle there would re-enter the component runtime.
     */
    void retire(DriverTable.Claim outranked, DriverTable.Claim by) {
        Bundle old = context.getBundle(outranked.bundleId());
        Bundle newer = context.getBundle(by.bundleId());
        if (old == null || old.getBundleId() == by.bundleId() || old.getBundleId() == 0) {
            return;
        }
        outranked.sandboxers().forEach(s -> retired.computeIfAbsent(s, k -> ConcurrentHashMap.newKeySet())
                .add(old.getBundleId()));
        worker.execute(() -> {
            LOG.log(Level.INFO, "driver {0} {1} outranked by {2} {3}: stopping the older bundle (kept installed"
                    + " for rollback)", old.getSymbolicName(), old.getVersion(),
                    newer == null ? "?" : newer.getSymbolicName(), newer == null ? "?" : newer.getVersion());
            try {
                old.stop(Bundle.STOP_TRANSIENT);
            } catch (BundleException | IllegalStateException e) {
                LOG.log(Level.WARNING, "cannot stop outranked driver bundle " + old.getBundleId(), e);
            }
        });
    }

    /** Bundles stopped as fallbacks for {@code sandboxer}. */
    List<Bundle> retired(String sandboxer) {
        return retired.getOrDefault(sandboxer, Set.of()).stream().map(context::getBundle)
                .filter(b -> b != null && b.getState() != Bundle.UNINSTALLED).toList();
    }

    /** Forgets the fallbacks of {@code sandboxer} (operator removes the driver: nothing should come back). */
    void forget(String sandboxer) {
        retired.remove(sandboxer);
    }

    @Override
    public void bundleChanged(BundleEvent event) {
        if (event.getType() == BundleEvent.STARTED) { // started again (a drop-in deleted): no longer a fallback
            retired.values().forEach(ids -> ids.remove(event.getBundle().getBundleId()));
            return;
        }
        if (event.getType() != BundleEvent.UNINSTALLED) {
            return;
        }
        long gone = event.getBundle().getBundleId();
        retired.values().forEach(ids -> ids.remove(gone));
        for (Map.Entry<String, Set<Long>> e : new TreeMap<>(retired).entrySet()) {
            if (!e.getValue().isEmpty() && !hasDriver.test(e.getKey())) {
                worker.execute(() -> reinstate(e.getKey()));
            }
        }
    }

    private void reinstate(String sandboxer) {
        if (hasDriver.test(sandboxer)) {
            return;
        }
        Bundle best = retired(sandboxer).stream().max(Comparator.comparing(Bundle::getVersion)).orElse(null);
        if (best == null) {
            return;
        }
        retired.getOrDefault(sandboxer, new TreeSet<>()).remove(best.getBundleId());
        LOG.log(Level.INFO, "driver {0} has no bundle left: starting the retired {1} {2} again", sandboxer,
                best.getSymbolicName(), best.getVersion());
        try {
            best.start(Bundle.START_TRANSIENT);
        } catch (BundleException | IllegalStateException e) {
            LOG.log(Level.ERROR, "cannot start retired driver bundle " + best.getBundleId(), e);
        }
    }
}
