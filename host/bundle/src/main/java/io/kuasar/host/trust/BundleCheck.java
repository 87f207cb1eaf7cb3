package io.kuasar.host.trust;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.jar.JarFile;
import java.util.zip.ZipException;
import org.osgi.framework.Version;

/**
 * The node's rule for every bundle that comes in (command line, gogo, drop-in folder, upgrade, rollback): the jar
 * is first copied into a private directory, so what is checked is what gets installed; then it must be a jar, an
 * OSGi bundle, not tampered with, signed by one signer the {@link TrustStore} trusts, with a certificate valid now,
 * importing an {@code io.kuasar.spi} range this node's SPI satisfies, and hold a driver (or export packages for
 * drivers). The first finding refuses the bundle, its message naming it.
 *
 * <p>Development switch {@value #ALLOW_UNSIGNED} ({@code true}; off by default): unsigned bundles are accepted, and
 * every such install is logged as a warning. Tampered or untrusted signed bundles are refused all the same.
 */
public final class BundleCheck {
    public static final String ALLOW_UNSIGNED = "kuasar.bundles.allowUnsigned";
    private static final Logger LOG = System.getLogger(BundleCheck.class.getName());

    /** A bundle that passed: its private copy (install from it, then {@link #close}), facts and signer. */
    public record Checked(Path copy, String source, BundleFacts facts, Optional<Signer> signer) implements AutoCloseable {
        public String signerText() {
            return signer.map(Signer::describe).orElse("UNSIGNED");
        }

        @Override
        public void close() throws IOException {
            Files.deleteIfExists(copy);
        }
    }

    private final TrustStore trust;
    private final Version nodeSpi;
    private final boolean allowUnsigned;
    private final Clock clock;
    private final Path workDir;

    /**
     * @param nodeSpi the version of {@code io.kuasar.spi} this node exports
     * @param workDir a directory only the node can write (0700), for the private copies
     */
    public BundleCheck(TrustStore trust, Version nodeSpi, boolean allowUnsigned, Clock clock, Path workDir) {
        this.trust = trust;
        this.nodeSpi = nodeSpi;
        this.allowUnsigned = allowUnsigned;
        this.clock = clock;
        this.workDir = workDir;
        if (allowUnsigned) {
            LOG.log(Level.WARNING, "DEVELOPMENT SWITCH {0}=true: this node installs UNSIGNED bundles", ALLOW_UNSIGNED);
        }
    }

    /** Whether unsigned bundles pass (development only: {@value #ALLOW_UNSIGNED}). */
    public boolean allowsUnsigned() {
        return allowUnsigned;
    }

    public TrustStore trust() {
        return trust;
    }

    /** Copies {@code file} privately and checks the copy; the caller installs from {@link Checked#copy()}. */
    public Checked check(Path file) throws BundleRefusedException, IOException {
        requireFile(file);
        try (InputStream in = Files.newInputStream(file)) {
            return check(in, file.toString());
        }
    }

    /** As {@link #check(Path)}, for a bundle read from a stream (a URL); {@code source} names it in messages. */
    public Checked check(InputStream in, String source) throws BundleRefusedException, IOException {
        Files.createDirectories(workDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path copy = Files.createTempFile(workDir, "incoming-", ".jar");
        try {
            try (OutputStream out = Files.newOutputStream(copy, StandardOpenOption.TRUNCATE_EXISTING)) {
                in.transferTo(out); // into the 0600 file made above, not a new one with the umask's mode
            }
            Checked checked = verify(copy, source);
            if (checked.signer().isEmpty()) {
                LOG.log(Level.WARNING, "UNSIGNED bundle {0} ({1}) let in by the development switch {2}=true;"
                        + " never run a real node with it", checked.facts().describe(), source, ALLOW_UNSIGNED);
            }
            return checked;
        } catch (BundleRefusedException | IOException | RuntimeException e) {
            Files.deleteIfExists(copy);
            throw e;
        }
    }

    private Checked verify(Path copy, String source) throws BundleRefusedException, IOException {
        try (JarFile jar = open(copy, source)) {
            BundleFacts facts = BundleFacts.read(jar, source);
            Optional<Signer> signer = JarSignatures.signer(jar, source);
            if (signer.isEmpty() && !allowUnsigned) {
                throw new BundleRefusedException(source + " (" + facts.describe() + ") is unsigned: this node installs"
                        + " only bundles signed by a trusted signer (trust list; docs/operating.md, Trust)");
            }
            if (signer.isPresent()) {
                requireTrusted(signer.get(), source);
            }
            requireSpi(facts, source);
            if (!facts.driver() && !facts.exportsPackages()) {
                throw new BundleRefusedException("no driver inside " + source + ": " + facts.describe()
                        + " provides no " + BundleFacts.DRIVER_SERVICE + " service (and exports no package for drivers)");
            }
            return new Checked(copy, source, facts, signer);
        }
    }

    private void requireTrusted(Signer signer, String source) throws BundleRefusedException, IOException {
        if (trust.find(signer).isEmpty()) {
            throw new BundleRefusedException(source + ": signer " + signer.describe() + " is not trusted by this node"
                    + " (to trust it: trust add CERTIFICATE-FILE)");
        }
        try {
            signer.certificate().checkValidity(Date.from(clock.instant()));
        } catch (CertificateExpiredException e) {
            throw new BundleRefusedException(source + ": certificate of signer " + signer.describe() + " expired on "
                    + signer.certificate().getNotAfter().toInstant());
        } catch (CertificateNotYetValidException e) {
            throw new BundleRefusedException(source + ": certificate of signer " + signer.describe()
                    + " is not valid before " + signer.certificate().getNotBefore().toInstant());
        }
    }

    private void requireSpi(BundleFacts facts, String source) throws BundleRefusedException {
        if (!facts.spiSatisfiedBy(nodeSpi)) {
            throw new BundleRefusedException(source + ": " + facts.describe() + " needs " + BundleFacts.SPI_PACKAGE
                    + " " + facts.spiRange() + ", and this node has " + BundleFacts.SPI_PACKAGE + " " + nodeSpi);
        }
    }

    /**
     * What {@code inspect JAR} prints: the bundle, its sandboxers, its SPI range against this node's, its signer
     * and whether this node trusts it, and the verdict the rule above would give. Installs nothing.
     */
    public List<String> inspect(Path file) throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add("file:        " + file);
        try {
            requireFile(file);
            try (JarFile jar = open(file, file.toString())) {
                BundleFacts facts = BundleFacts.read(jar, file.toString());
                lines.add("bundle:      " + facts.describe());
                lines.add("sandboxers:  " + facts.sandboxerList());
                lines.add("spi import:  " + (facts.spiRange() == null ? "none" : BundleFacts.SPI_PACKAGE + " "
                        + facts.spiRange()) + " (this node: " + nodeSpi + ", "
                        + (facts.spiSatisfiedBy(nodeSpi) ? "satisfied" : "NOT satisfied") + ")");
                Optional<Signer> signer = JarSignatures.signer(jar, file.toString());
                lines.add("signer:      " + (signer.isEmpty() ? "none (unsigned)" : signer.get().describe()
                        + ", valid until " + signer.get().certificate().getNotAfter().toInstant() + ", "
                        + trustedAs(signer.get())));
            }
        } catch (BundleRefusedException e) {
            lines.add("finding:     " + e.getMessage());
        }
        try (Checked ignored = check(file)) {
            lines.add("verdict:     would be installed");
        } catch (BundleRefusedException e) {
            lines.add("verdict:     REFUSED: " + e.getMessage());
        }
        return lines;
    }

    private String trustedAs(Signer signer) throws IOException {
        return trust.find(signer).map(e -> "trusted as " + e.alias()).orElse("NOT trusted");
    }

    private static void requireFile(Path file) throws BundleRefusedException {
        if (!Files.exists(file)) {
            throw new BundleRefusedException("no such file: " + file);
        }
        if (!Files.isRegularFile(file)) {
            throw new BundleRefusedException("not a jar: " + file + " is not a regular file");
        }
    }

    private static JarFile open(Path file, String source) throws BundleRefusedException, IOException {
        try {
            return new JarFile(file.toFile(), true);
        } catch (ZipException e) {
            throw new BundleRefusedException("not a jar: " + source + " (" + e.getMessage() + ")");
        }
    }
}
