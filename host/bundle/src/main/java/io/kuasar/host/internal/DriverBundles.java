package io.kuasar.host.internal;

import io.kuasar.host.trust.BundleCheck;
import io.kuasar.host.trust.BundleRefusedException;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStatus;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;

/**
 * The operator's driver operations, without any shell: list drivers and sandboxes, install, upgrade, roll back and
 * remove driver bundles. Every jar that comes in passes {@link TrustedBundles} first. Upgrade puts the new jar in
 * place of the bundle serving the sandboxer ({@link DriverSwap}); before it, the running jar is written to
 * {@code rollbackDir/NAME.jar} (rebuilt from the bundle's entries, since a bundle the node shipped with has no file
 * of its own), which rollback swaps back in. The router's gate, its drain of the leaving instance and pending-stage
 * re-asking make the gap safe for running sandboxes.
 */
public final class DriverBundles {
    private static final String[] STATES = {"UNINSTALLED", "INSTALLED", "RESOLVED", "STARTING", "STOPPING", "ACTIVE"};

    private static final Logger LOG = System.getLogger(DriverBundles.class.getName());

    private final BundleContext context;
    private final Router router;
    private final TrustedBundles trusted;
    private final Path rollbackDir;
    private final DriverSwap swap;
    private final NodeMetrics metrics;

    public DriverBundles(BundleContext context, Router router, TrustedBundles trusted, Path rollbackDir,
                         NodeMetrics metrics) {
        this.metrics = metrics;
        this.context = context;
        this.router = router;
        this.trusted = trusted;
        this.rollbackDir = rollbackDir;
        this.swap = new DriverSwap(context, router);
    }

    /** One line per driver bundle: sandboxer, bundle, version, bundle state, role, sandbox count. */
    public List<String> drivers() {
        Map<String, String> owners = router.owners();
        List<String> lines = new ArrayList<>();
        lines.add(String.format("%-10s %-28s %-20s %-10s %-8s %s", "SANDBOXER", "BUNDLE", "VERSION", "STATE", "ROLE",
                "SANDBOXES"));
        for (String name : router.knownSandboxers()) {
            long count = owners.values().stream().filter(name::equals).count();
            DriverTable.Claim serving = router.serving(name);
            Set<Bundle> listed = new LinkedHashSet<>();
            for (DriverTable.Claim c : router.claimsOf(name)) {
                Bundle b = context.getBundle(c.bundleId());
                if (b != null && listed.add(b)) {
                    lines.add(line(name, b, c == serving ? "serving" : "standby", count));
                }
            }
            for (Bundle b : router.retiredBundles(name)) {
                if (listed.add(b)) {
                    lines.add(line(name, b, "retired", count));
                }
            }
            if (listed.isEmpty()) {
                lines.add(String.format("%-10s %-28s %-20s %-10s %-8s %d", name, "-", "-", "-", "absent", count));
            }
        }
        return lines;
    }

    private static String line(String name, Bundle b, String role, long count) {
        return String.format("%-10s %-28s %-20s %-10s %-8s %d", name, b.getSymbolicName(), b.getVersion(),
                state(b), role, count);
    }

    static String state(Bundle b) {
        int bit = Integer.numberOfTrailingZeros(b.getState());
        return bit < STATES.length ? STATES[bit] : String.valueOf(b.getState());
    }

    /** One line per sandbox: id, sandboxer, state, pid, age; a sandbox whose driver is away shows as such. */
    public List<String> sandboxes() {
        Map<String, SandboxStatus> answered = new java.util.HashMap<>();
        router.sandboxes().forEach(s -> answered.put(s.id(), s));
        List<String> lines = new ArrayList<>();
        lines.add(String.format("%-64s %-10s %-9s %-8s %s", "ID", "SANDBOXER", "STATE", "PID", "AGE"));
        router.owners().forEach((id, sandboxer) -> {
            SandboxStatus s = answered.get(id);
            if (s == null) {
                lines.add(String.format("%-64s %-10s %-9s %-8s %s", id, sandboxer, "(no driver)", "-", "-"));
            } else {
                Duration age = Duration.between(s.createdAt(), Instant.now());
                lines.add(String.format("%-64s %-10s %-9s %-8d %ds", id, sandboxer, s.state(), s.pid(),
                        age.toSeconds()));
            }
        });
        return lines;
    }

    /**
     * Installs and starts a driver bundle from a file path or URL, once {@link TrustedBundles} accepts it (and, unless
     * {@code force}, its sandboxers are not held by another signer's bundles). A bundle that cannot start is
     * uninstalled again: a refused bundle changes nothing.
     */
    public Bundle install(String where, boolean force) throws IOException, BundleException, BundleRefusedException {
        try {
            return installChecked(where, force);
        } catch (BundleRefusedException e) {
            metrics.driverEvent(NodeMetrics.DriverEvent.REFUSED, "");
            throw e;
        }
    }

    private Bundle installChecked(String where, boolean force) throws IOException, BundleException, BundleRefusedException {
        // Not the file's URL: a plain Felix "update ID" would re-read it unchecked. Ours cannot be opened.
        String location = "kuasar:" + where;
        Bundle existing = context.getBundle(location);
        if (existing != null) {
            throw new BundleRefusedException(where + " is installed already, as " + describe(existing)
                    + "; to replace it: upgrade NAME " + where);
        }
        try (BundleCheck.Checked checked = trusted.checkSource(where)) {
            trusted.requireSameSigner(checked, null, force);
            Bundle b;
            try (InputStream in = Files.newInputStream(checked.copy())) {
                b = context.installBundle(location, in);
            } catch (BundleException e) {
                throw new BundleRefusedException(where + ": " + explain(e), e);
            }
            try {
                b.start();
            } catch (BundleException | RuntimeException e) {
                b.uninstall();
                throw new BundleRefusedException(where + ": " + checked.facts().describe() + " cannot start, so it was"
                        + " uninstalled again: " + explain(e), e);
            }
            LOG.log(Level.INFO, "installed {0} from {1}, signed by {2}", describe(b), where, checked.signerText());
            metrics.driverEvent(NodeMetrics.DriverEvent.INSTALLED, String.join(",", checked.facts().sandboxers()));
            return b;
        }
    }

    /**
     * Updates the bundle serving {@code name} from {@code jar}, keeping the running version for rollback. The jar
     * must pass {@link TrustedBundles}, claim {@code name}, and (unless {@code force}) have the serving bundle's
     * signer. Nothing is changed when it does not.
     */
    public Bundle upgrade(String name, Path jar, boolean force) throws IOException, BundleException, BundleRefusedException {
        try {
            Bundle serving = upgradeChecked(name, jar, force);
            metrics.driverEvent(NodeMetrics.DriverEvent.UPGRADED, name);
            return serving;
        } catch (BundleRefusedException e) {
            metrics.driverEvent(NodeMetrics.DriverEvent.REFUSED, name);
            throw e;
        }
    }

    private Bundle upgradeChecked(String name, Path jar, boolean force) throws IOException, BundleException,
            BundleRefusedException {
        Bundle b = servingBundle(name);
        try (BundleCheck.Checked checked = trusted.check().check(jar)) {
            if (!checked.facts().driver()) {
                throw new BundleRefusedException("no driver inside " + jar + ": " + checked.facts().describe()
                        + " provides no io.kuasar.spi.SandboxDriver service");
            }
            if (!checked.facts().sandboxers().isEmpty() && !checked.facts().sandboxers().contains(name)) {
                throw new BundleRefusedException(jar + ": " + checked.facts().describe() + " is a driver for "
                        + checked.facts().sandboxerList() + ", not for " + name);
            }
            trusted.requireSameSigner(checked, b, force);
            Files.createDirectories(rollbackDir);
            Path previous = rollbackDir.resolve(name + ".jar");
            Path saving = rollbackDir.resolve(name + ".jar.saving");
            snapshot(b, saving);
            Files.move(saving, previous, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Bundle serving = swap.swap(name, b, checked.copy(), checked.facts().sandboxers());
            LOG.log(Level.INFO, "upgraded {0} to {1}, signed by {2}", name, describe(serving), checked.signerText());
            return serving;
        }
    }

    /** Swaps the kept previous version back in; the version it replaces becomes the one kept. */
    public Bundle rollback(String name) throws IOException, BundleException, BundleRefusedException {
        try {
            Bundle serving = rollbackChecked(name);
            metrics.driverEvent(NodeMetrics.DriverEvent.ROLLED_BACK, name);
            return serving;
        } catch (BundleRefusedException e) {
            metrics.driverEvent(NodeMetrics.DriverEvent.REFUSED, name);
            throw e;
        }
    }

    private Bundle rollbackChecked(String name) throws IOException, BundleException, BundleRefusedException {
        Path previous = rollbackDir.resolve(name + ".jar");
        if (!Files.isRegularFile(previous)) {
            throw new IOException("no previous version of driver " + name + " is kept (" + previous + ")");
        }
        Bundle b = servingBundle(name);
        // What ran before, kept by the node itself; still checked: its signer may have been distrusted since.
        try (BundleCheck.Checked checked = trusted.check().check(previous)) {
            Path current = rollbackDir.resolve(name + ".jar.current");
            snapshot(b, current);
            Bundle serving = swap.swap(name, b, checked.copy(), checked.facts().sandboxers());
            Files.move(current, previous, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return serving;
        }
    }

    /**
     * Uninstalls every bundle of driver {@code name}. Refused while it has sandboxes unless {@code force}, which
     * stops and shuts each down first. Returns what was done.
     */
    public String remove(String name, boolean force) throws SandboxException, BundleException {
        List<String> ids = router.owners().entrySet().stream().filter(e -> e.getValue().equals(name))
                .map(Map.Entry::getKey).toList();
        if (!ids.isEmpty() && !force) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "driver " + name + " has "
                    + ids.size() + " sandbox(es); stop them first, or: remove " + name + " --force");
        }
        for (String id : ids) {
            router.stop(name, id, Duration.ofSeconds(10));
            router.shutdown(name, id);
        }
        Set<Bundle> bundles = new LinkedHashSet<>(router.retiredBundles(name));
        router.forgetDriver(name); // no fallback restarts while its bundles go
        router.claimsOf(name).forEach(c -> bundles.add(context.getBundle(c.bundleId())));
        bundles.remove(null);
        for (Bundle b : bundles) {
            b.uninstall();
        }
        router.forgetDriver(name);
        metrics.driverEvent(NodeMetrics.DriverEvent.REMOVED, name);
        return "removed driver " + name + ": " + ids.size() + " sandbox(es) shut down, " + bundles.size()
                + " bundle(s) uninstalled";
    }

    private Bundle servingBundle(String name) throws BundleException {
        DriverTable.Claim c = router.serving(name);
        Bundle b = c == null ? null : context.getBundle(c.bundleId());
        if (b == null) {
            throw new BundleException("no bundle serves driver " + name + " now");
        }
        return b;
    }

    /** Writes the bundle's current content as a jar: manifest bytes as they are, signature files kept. */
    static void snapshot(Bundle b, Path target) throws IOException {
        InstalledSigners.write(b, target);
    }

    static String describe(Bundle b) {
        return b.getSymbolicName() + " " + b.getVersion() + " (bundle " + b.getBundleId() + ")";
    }

    /** Felix's message and its causes': "Update of bundle X failed." alone does not say why. */
    static String explain(Throwable e) {
        StringBuilder text = new StringBuilder(String.valueOf(e.getMessage()));
        for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            if (c.getMessage() != null && !text.toString().contains(c.getMessage())) {
                text.append(": ").append(c.getMessage());
            }
        }
        return text.toString();
    }
}
