package io.kuasar.host.internal;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.SynchronousBundleListener;

/**
 * When a successor may take over from a driver instance that left. The router hears of the departure in its unbind,
 * which the component runtime calls <em>before</em> the leaving instance's deactivation: had the successor recovered
 * there, two instances would run at once (two exit watchers reaping the same processes, two connections to one VM's
 * agent). So when the leaving instance's bundle is stopping (an upgrade, a rollback, a retirement, an uninstall), the
 * successor takes over once that bundle has stopped, its components deactivated; otherwise at once.
 */
final class Handover implements SynchronousBundleListener {
    private final BundleContext context;
    /** bundle id -> takeovers waiting for it to stop. */
    private final Map<Long, List<Runnable>> waiting = new ConcurrentHashMap<>();

    /** {@code context} null: no bundles (unit tests), every takeover at once. */
    Handover(BundleContext context) {
        this.context = context;
        if (context != null) {
            context.addBundleListener(this);
        }
    }

    void close() {
        if (context != null) {
            context.removeBundleListener(this);
        }
    }

    /** Runs {@code takeOver} now, or when bundle {@code bundleId}, which is stopping, has stopped. */
    void after(long bundleId, Runnable takeOver) {
        Bundle b = context == null ? null : context.getBundle(bundleId);
        if (b == null || b.getState() != Bundle.STOPPING) {
            takeOver.run();
            return;
        }
        waiting.computeIfAbsent(bundleId, id -> new CopyOnWriteArrayList<>()).add(takeOver);
        if (b.getState() != Bundle.STOPPING) {
            runWaiting(bundleId); // it stopped while this was being recorded
        }
    }

    @Override
    public void bundleChanged(BundleEvent event) {
        if (event.getType() == BundleEvent.STOPPED || event.getType() == BundleEvent.UNINSTALLED) {
            runWaiting(event.getBundle().getBundleId());
        }
    }

    private void runWaiting(long bundleId) {
        List<Runnable> due = waiting.remove(bundleId);
        if (due != null) {
            due.forEach(Runnable::run);
        }
    }
}
