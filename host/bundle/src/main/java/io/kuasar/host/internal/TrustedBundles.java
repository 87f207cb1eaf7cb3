package io.kuasar.host.internal;

import io.kuasar.host.trust.BundleCheck;
import io.kuasar.host.trust.BundleRefusedException;
import io.kuasar.host.trust.Signer;
import io.kuasar.host.trust.TrustStore;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.URL;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Version;
import org.osgi.framework.namespace.PackageNamespace;
import org.osgi.framework.wiring.BundleCapability;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The node's gate for bundles: the trust store ({@code <kuasar.config.dir>/trust.p12}, default {@code /etc/kuasar},
 * plus the signer of this node's own build, read from {@value #BUILD_SIGNER} in the node jar), the {@link BundleCheck}
 * every incoming jar passes, and the rule that a driver's sandboxers stay with their signer: a bundle claiming a
 * sandboxer that bundles of another signer hold is refused unless the operator forces it. Used by the admin socket,
 * the gogo commands ({@link DriverBundles}) and the drop-in folder ({@link DropInFolder}).
 */
@Component(service = TrustedBundles.class)
public class TrustedBundles {
    private static final Logger LOG = System.getLogger(TrustedBundles.class.getName());
    /** The build's signer certificate, put into the node jar's root by host/kuasar.bndrun. */
    static final String BUILD_SIGNER = "kuasar-build-signer.crt";
    static final String CONFIG_DIR = "kuasar.config.dir";

    private final Router router;
    private final BundleContext context;
    private final BundleCheck check;
    private final InstalledSigners installed;

    @Activate
    public TrustedBundles(@Reference Router router, BundleContext context) throws IOException {
        this.router = router;
        this.context = context;
        Path state = Path.of(property(context, "kuasar.state.dir", "/var/lib/kuasar"));
        Path config = Path.of(property(context, CONFIG_DIR, "/etc/kuasar"));
        TrustStore trust = new TrustStore(config.resolve(TrustStore.FILE_NAME), buildSigner());
        boolean allowUnsigned = Boolean.parseBoolean(property(context, BundleCheck.ALLOW_UNSIGNED, "false"));
        Path work = DirectoryPaths.privateDir(state.resolve("host-incoming"));
        this.check = new BundleCheck(trust, spiVersion(context), allowUnsigned, Clock.systemUTC(), work);
        this.installed = new InstalledSigners(work);
        LOG.log(Level.INFO, "trusted signers ({0}): {1}", trust.file(), trust.list().stream()
                .map(e -> e.alias() + " " + e.signer().describe()).toList());
    }

    BundleCheck check() {
        return check;
    }

    /**
     * Why the content {@code bundle} has now must not run in the node (its signature does not verify, it is
     * unsigned, or its signer is not trusted); null when it may, and always in development mode
     * ({@value BundleCheck#ALLOW_UNSIGNED}, which turns trust off and says so at startup).
     */
    String refusal(Bundle bundle) throws IOException {
        if (check.allowsUnsigned()) {
            return null;
        }
        InstalledSigners.Finding f = installed.of(bundle);
        if (f.problem() != null) {
            return "its signature does not verify (" + f.problem() + ")";
        }
        if (f.signer().isEmpty()) {
            return "it is unsigned";
        }
        return trust().find(f.signer().get()).isPresent() ? null
                : "its signer " + f.signer().get().describe() + " is not in the trust store " + trust().file();
    }

    TrustStore trust() {
        return check.trust();
    }

    /** Checks a file, or a URL's content (anything with {@code ://}); a missing file is named as such. */
    BundleCheck.Checked checkSource(String where) throws BundleRefusedException, IOException {
        if (where.contains("://") && !where.startsWith("file:")) {
            try (InputStream in = new URL(where).openStream()) {
                return check.check(in, where);
            }
        }
        return check.check(where.startsWith("file:") ? Path.of(java.net.URI.create(where)) : Path.of(where));
    }

    /**
     * Refuses {@code checked} when a sandboxer it claims is held (served, standing by or retired) by a bundle with
     * another signer, unless {@code force}. {@code replacing} is the bundle an update replaces (always compared).
     */
    void requireSameSigner(BundleCheck.Checked checked, Bundle replacing, boolean force)
            throws BundleRefusedException, IOException {
        Set<Bundle> holders = new LinkedHashSet<>();
        if (replacing != null) {
            holders.add(replacing);
        }
        for (String name : checked.facts().sandboxers()) {
            holders.addAll(holders(name));
        }
        for (Bundle holder : holders) {
            InstalledSigners.Finding theirs = installed.of(holder);
            Optional<Signer> ours = checked.signer();
            boolean same = theirs.problem() == null && (theirs.signer().isEmpty() ? ours.isEmpty()
                    : ours.isPresent() && theirs.signer().get().sameAs(ours.get()));
            if (same) {
                continue;
            }
            String message = checked.source() + " is signed by " + checked.signerText() + ", but "
                    + holder.getSymbolicName() + " " + holder.getVersion() + " (bundle " + holder.getBundleId()
                    + "), which it would replace for sandboxer(s) " + checked.facts().sandboxerList()
                    + ", has " + theirs.describe() + ": a driver keeps its signer";
            if (!force) {
                throw new BundleRefusedException(message + " (to replace the signer on purpose: add --force)");
            }
            LOG.log(Level.WARNING, "{0}; replaced anyway (--force)", message);
        }
    }

    private Collection<Bundle> holders(String sandboxer) {
        Set<Bundle> bundles = new LinkedHashSet<>(router.retiredBundles(sandboxer));
        router.claimsOf(sandboxer).forEach(c -> {
            Bundle b = context.getBundle(c.bundleId());
            if (b != null) {
                bundles.add(b);
            }
        });
        return bundles;
    }

    private static String property(BundleContext context, String key, String fallback) {
        String v = context.getProperty(key);
        return v == null || v.isBlank() ? fallback : v;
    }

    /** The version of io.kuasar.spi this node's host bundle exports. */
    private static Version spiVersion(BundleContext context) {
        BundleRevision revision = context.getBundle().adapt(BundleRevision.class);
        for (BundleCapability c : revision.getDeclaredCapabilities(PackageNamespace.PACKAGE_NAMESPACE)) {
            if ("io.kuasar.spi".equals(c.getAttributes().get(PackageNamespace.PACKAGE_NAMESPACE))) {
                return (Version) c.getAttributes().get(PackageNamespace.CAPABILITY_VERSION_ATTRIBUTE);
            }
        }
        return null;
    }

    /** The build's certificate from the node jar's class path, or null (a node not built by this project's export). */
    private static X509Certificate buildSigner() {
        URL url = ClassLoader.getSystemResource(BUILD_SIGNER);
        if (url == null) {
            return null;
        }
        try (InputStream in = url.openStream()) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        } catch (IOException | java.security.GeneralSecurityException e) {
            LOG.log(Level.ERROR, "cannot read {0} from the node jar: {1}", BUILD_SIGNER, e.toString());
            return null;
        }
    }
}
