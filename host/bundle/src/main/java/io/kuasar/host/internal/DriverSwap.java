package io.kuasar.host.internal;

import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.wiring.BundleRevisions;
import org.osgi.framework.wiring.FrameworkWiring;

/**
 * Puts a new version of a driver in place of the bundle serving it, warm: the new bundle is installed beside the old
 * and started, so it is resolved, its classes are loaded and its service stands by while the old one still serves;
 * then the old bundle is uninstalled. Only that last step is a gap for containerd's calls: the router drains the
 * old instance and the new one recovers and serves ({@link Router#unbindDriver}). A {@link Bundle#update} instead
 * would resolve and activate the new version inside the gap, which took about as long again as the recovery.
 *
 * <p>Where the two cannot stand side by side (the same symbolic name and version), the old bundle is updated in
 * place.
 */
final class DriverSwap {
    private static final Logger LOG = System.getLogger(DriverSwap.class.getName());
    /** How long a started bundle may take to register its driver service. */
    private static final Duration STANDBY_BOUND = Duration.ofSeconds(30);

    private final BundleContext context;
    private final Router router;
    private final AtomicLong serial = new AtomicLong();

    DriverSwap(BundleContext context, Router router) {
        this.context = context;
        this.router = router;
    }

    /**
     * Replaces {@code old}, serving driver {@code name}, by the bundle in {@code jar}, which declares the sandboxers
     * {@code declared} (all must stand by before the old bundle goes); returns the bundle serving.
     */
    Bundle swap(String name, Bundle old, Path jar, Collection<String> declared) throws IOException, BundleException {
        router.swapping(old.getBundleId(), true); // not retired on the side: this removes it, when all is ready
        try {
            return swapMarked(name, old, jar, declared);
        } finally {
            router.swapping(old.getBundleId(), false);
        }
    }

    private Bundle swapMarked(String name, Bundle old, Path jar, Collection<String> declared)
            throws IOException, BundleException {
        Set<String> expected = new TreeSet<>(declared);
        expected.add(name);
        Bundle fresh;
        try (InputStream in = Files.newInputStream(jar)) {
            // Not the file's URL: a plain Felix "update ID" would re-read it unchecked. Ours cannot be opened.
            fresh = context.installBundle("kuasar:" + jar + "#" + name + "-" + serial.incrementAndGet(), in);
        } catch (BundleException e) {
            if (e.getType() != BundleException.DUPLICATE_BUNDLE_ERROR) {
                throw e;
            }
            LOG.log(Level.INFO, "{0} has the version of the running bundle: updated in place", jar);
            updateInPlace(old, jar);
            return old;
        }
        try {
            fresh.start();
            awaitStandby(expected, fresh);
        } catch (BundleException | RuntimeException | InterruptedException e) {
            fresh.uninstall();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new BundleException(DriverBundles.describe(fresh) + " did not come up as a driver of " + name
                    + ", so it was uninstalled again and " + DriverBundles.describe(old) + " serves on: "
                    + DriverBundles.explain(e), BundleException.ACTIVATOR_ERROR, e);
        }
        old.uninstall(); // the router drains it, then the fresh one recovers and serves
        frameworkWiring().refreshBundles(null); // let the old class loader go
        return fresh;
    }

    /**
     * Before {@code leaving} (the bundle of a deleted drop-in jar) goes: starts the newest bundle retired for the
     * sandboxers it claims and waits until that one stands by for them, so the sandboxes are handed to it one at a
     * time as {@code leaving} goes instead of being recovered by a fallback started only after. When none is retired
     * or it does not come up, nothing stands by: the fallback is then started after the uninstall, as before.
     */
    void standIn(Bundle leaving) {
        Set<String> names = new TreeSet<>();
        router.claims().stream().filter(c -> c.bundleId() == leaving.getBundleId())
                .forEach(c -> names.addAll(c.sandboxers()));
        // a name another bundle claims too goes to that one, as before
        names.removeIf(n -> router.claimsOf(n).stream().anyMatch(c -> c.bundleId() != leaving.getBundleId()));
        Bundle best = names.stream().flatMap(n -> router.retiredBundles(n).stream())
                .filter(b -> b.getBundleId() != leaving.getBundleId())
                .max(Comparator.comparing(Bundle::getVersion)).orElse(null);
        if (best == null) {
            return;
        }
        Set<String> its = new TreeSet<>(names);
        its.removeIf(n -> !router.retiredBundles(n).contains(best));
        try {
            LOG.log(Level.INFO, "{0} is leaving: starting the retired {1} first, to take its sandboxes over",
                    DriverBundles.describe(leaving), DriverBundles.describe(best));
            best.start(Bundle.START_TRANSIENT);
            awaitStandby(its, best);
        } catch (BundleException | RuntimeException | InterruptedException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            LOG.log(Level.WARNING, "the retired {0} did not stand by ({1}); it is started once {2} has gone",
                    DriverBundles.describe(best), DriverBundles.explain(e), DriverBundles.describe(leaving));
        }
    }

    /** Waits until {@code fresh} claims each of {@code names} at the router (standing by, or serving already). */
    private void awaitStandby(Set<String> names, Bundle fresh) throws BundleException, InterruptedException {
        long deadline = System.nanoTime() + STANDBY_BOUND.toNanos();
        for (String name : names) {
            while (router.claimsOf(name).stream().noneMatch(c -> c.bundleId() == fresh.getBundleId())) {
                if (System.nanoTime() > deadline || fresh.getState() != Bundle.ACTIVE) {
                    throw new BundleException("no driver service for " + name + " within "
                            + STANDBY_BOUND.toSeconds() + " s (bundle state " + DriverBundles.state(fresh) + ")");
                }
                Thread.sleep(2);
            }
        }
    }

    /** {@link Bundle#update}: the cold path, for a jar that cannot be installed beside. */
    private void updateInPlace(Bundle b, Path jar) throws IOException, BundleException {
        try (InputStream in = Files.newInputStream(jar)) {
            b.update(in);
        } catch (BundleException e) {
            throw new BundleException("update of " + DriverBundles.describe(b) + " failed: "
                    + DriverBundles.explain(e), e.getType(), e);
        }
        // A bundle others are wired to keeps its old revision until refreshed; drivers normally export nothing.
        if (b.adapt(BundleRevisions.class).getRevisions().size() > 1) {
            frameworkWiring().refreshBundles(Collections.singleton(b));
        }
    }

    private FrameworkWiring frameworkWiring() {
        return context.getBundle(0).adapt(FrameworkWiring.class);
    }
}
