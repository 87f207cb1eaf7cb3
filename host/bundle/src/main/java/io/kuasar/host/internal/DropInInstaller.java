package io.kuasar.host.internal;

import io.kuasar.host.trust.BundleCheck;
import io.kuasar.host.trust.BundleRefusedException;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import org.apache.felix.fileinstall.ArtifactInstaller;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.wiring.BundleRevisions;
import org.osgi.framework.wiring.FrameworkWiring;

/**
 * What File Install hands the drop-in folder's files to ({@link DropInFolder}): a jar is installed, or updates the
 * bundle it installed before, only once {@link TrustedBundles} accepts it and its sandboxers stay with their signer
 * (a drop-in cannot force); a refused jar is logged with the reason and changes nothing. Other files are claimed
 * too and ignored, so File Install's configuration installer never reads a {@code .cfg} from the folder. A deleted
 * jar uninstalls its bundle, once the bundle it had replaced, if any, stands by again ({@link DriverSwap#standIn}).
 * Bundles get the location {@code kuasar-drop-in:PATH}, which no plain Felix {@code update} can re-read unchecked.
 */
final class DropInInstaller implements ArtifactInstaller {
    private static final Logger LOG = System.getLogger(DropInInstaller.class.getName());
    static final String LOCATION = "kuasar-drop-in:";

    private final Path folder;
    private final TrustedBundles trusted;
    private final BundleContext context;
    private final NodeMetrics metrics;
    private final DriverSwap swap;

    DropInInstaller(Path folder, TrustedBundles trusted, NodeMetrics metrics, DriverSwap swap, BundleContext context) {
        this.metrics = metrics;
        this.swap = swap;
        this.folder = folder;
        this.trusted = trusted;
        this.context = context;
    }

    @Override
    public boolean canHandle(File artifact) {
        Path p = artifact.toPath().toAbsolutePath();
        return folder.equals(p.getParent()) || p.getFileName().toString().endsWith(".jar");
    }

    @Override
    public void install(File artifact) {
        handle(artifact);
    }

    @Override
    public void update(File artifact) {
        handle(artifact);
    }

    @Override
    public void uninstall(File artifact) throws BundleException {
        Bundle b = context.getBundle(location(artifact));
        if (b != null) {
            swap.standIn(b); // what it replaced stands by first: the sandboxes change hands one at a time
            b.uninstall();
            context.getBundle(0).adapt(FrameworkWiring.class).refreshBundles(Collections.singleton(b));
            LOG.log(Level.INFO, "drop-in: {0} deleted: uninstalled {1}", artifact, DriverBundles.describe(b));
        }
    }

    private void handle(File artifact) {
        Path file = artifact.toPath().toAbsolutePath();
        if (!file.getFileName().toString().endsWith(".jar") || !file.startsWith(folder)) {
            LOG.log(Level.WARNING, "drop-in: ignored {0}: only driver jars (*.jar) in {1} are installed", file, folder);
            return;
        }
        Bundle existing = context.getBundle(location(artifact));
        try (BundleCheck.Checked checked = trusted.check().check(file)) {
            trusted.requireSameSigner(checked, existing, false);
            try (InputStream in = Files.newInputStream(checked.copy())) {
                if (existing == null) {
                    Bundle b = context.installBundle(location(artifact), in);
                    try {
                        b.start();
                    } catch (BundleException | RuntimeException e) {
                        b.uninstall();
                        throw new BundleRefusedException(checked.facts().describe() + " cannot start, so it was"
                                + " uninstalled again: " + DriverBundles.explain(e), e);
                    }
                    LOG.log(Level.INFO, "drop-in: installed {0} from {1}, signed by {2}", DriverBundles.describe(b),
                            file, checked.signerText());
                    metrics.driverEvent(NodeMetrics.DriverEvent.INSTALLED, drivers(checked));
                } else {
                    existing.update(in);
                    if (existing.adapt(BundleRevisions.class).getRevisions().size() > 1) {
                        context.getBundle(0).adapt(FrameworkWiring.class)
                                .refreshBundles(Collections.singleton(existing));
                    }
                    LOG.log(Level.INFO, "drop-in: updated {0} from {1}, signed by {2}",
                            DriverBundles.describe(existing), file, checked.signerText());
                    metrics.driverEvent(NodeMetrics.DriverEvent.UPGRADED, drivers(checked));
                }
            }
        } catch (BundleRefusedException e) {
            // The message names the file first ("X is unsigned", "no such file: X", ...).
            LOG.log(Level.WARNING, "drop-in: refused {0}", e.getMessage());
            metrics.driverEvent(NodeMetrics.DriverEvent.REFUSED, "");
        } catch (BundleException | IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "drop-in: {0} failed: {1}", file, DriverBundles.explain(e));
        }
    }

    private static String drivers(BundleCheck.Checked checked) {
        return String.join(",", checked.facts().sandboxers());
    }

    private static String location(File artifact) {
        return LOCATION + artifact.getAbsolutePath();
    }
}
