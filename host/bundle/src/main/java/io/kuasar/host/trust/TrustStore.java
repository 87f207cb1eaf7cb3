package io.kuasar.host.trust;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The node's trusted signers: a PKCS#12 key store of certificates only ({@code <kuasar.config.dir>/trust.p12}), plus
 * at most one built-in signer, the certificate of the build that made this node jar (its drivers are signed with
 * that build's key). The store's password is a constant ({@link #PASSWORD}): a PKCS#12 file needs one, but what
 * protects the store is its place, a root-only directory the node checks at start (StrictModes), not a secret.
 * Read from disk on every question, so {@code keytool} edits count at once; written atomically, mode 0600.
 */
public final class TrustStore {
    public static final String FILE_NAME = "trust.p12";
    public static final String PASSWORD = "kuasar";
    public static final String BUILT_IN_ALIAS = "kuasar-build";

    /** One trusted signer. */
    public record Entry(String alias, Signer signer, boolean builtIn) {
        public String line() {
            X509Certificate c = signer.certificate();
            return String.format("%-16s %s  valid %s .. %s%s", alias, signer.describe(), c.getNotBefore().toInstant(),
                    c.getNotAfter().toInstant(), builtIn ? "  (built in: the signer of this node's own drivers)" : "");
        }
    }

    private final Path file;
    private final X509Certificate builtIn;

    /** @param builtIn the build's signer, or null */
    public TrustStore(Path file, X509Certificate builtIn) {
        this.file = file;
        this.builtIn = builtIn;
    }

    public Path file() {
        return file;
    }

    public synchronized List<Entry> list() throws IOException {
        List<Entry> entries = new ArrayList<>();
        if (builtIn != null) {
            entries.add(new Entry(BUILT_IN_ALIAS, new Signer(builtIn), true));
        }
        KeyStore store = load();
        try {
            for (String alias : Collections.list(store.aliases())) {
                if (store.getCertificate(alias) instanceof X509Certificate x509) {
                    entries.add(new Entry(alias, new Signer(x509), false));
                }
            }
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot read the trust store " + file + ": " + e.getMessage(), e);
        }
        return entries;
    }

    /** The entry trusting exactly this certificate (same SHA-256 fingerprint), if any. */
    public Optional<Entry> find(Signer signer) throws IOException {
        return list().stream().filter(e -> e.signer().sameAs(signer)).findFirst();
    }

    /**
     * Trusts the certificate in {@code certificateFile} (PEM or DER) under {@code alias} (null: from its CN).
     * Adding a certificate already trusted answers its entry.
     */
    public synchronized Entry add(Path certificateFile, String alias) throws IOException {
        Signer signer = new Signer(read(certificateFile));
        Optional<Entry> known = find(signer);
        if (known.isPresent()) {
            return known.get();
        }
        String name = alias == null || alias.isBlank() ? aliasFor(signer) : alias.toLowerCase(Locale.ROOT);
        KeyStore store = load();
        try {
            if (name.equals(BUILT_IN_ALIAS) || store.containsAlias(name)) {
                throw new IOException("alias " + name + " is taken; name another: trust add FILE ALIAS");
            }
            store.setCertificateEntry(name, signer.certificate());
        } catch (java.security.KeyStoreException e) {
            throw new IOException("cannot add to the trust store " + file + ": " + e.getMessage(), e);
        }
        save(store);
        return new Entry(name, signer, false);
    }

    /** Stops trusting the signer named by its alias or its SHA-256 fingerprint; answers the entry removed. */
    public synchronized Entry remove(String aliasOrFingerprint) throws IOException {
        String key = aliasOrFingerprint.trim();
        Entry found = list().stream().filter(e -> e.alias().equalsIgnoreCase(key)
                || e.signer().fingerprint().equalsIgnoreCase(key)).findFirst()
                .orElseThrow(() -> new IOException("no trusted signer is called " + key + " (see: trust list)"));
        if (found.builtIn()) {
            throw new IOException(found.alias() + " is built into this node jar (the signer of its own drivers)"
                    + " and cannot be removed");
        }
        KeyStore store = load();
        try {
            store.deleteEntry(found.alias());
        } catch (java.security.KeyStoreException e) {
            throw new IOException("cannot remove from the trust store " + file + ": " + e.getMessage(), e);
        }
        save(store);
        return found;
    }

    /** Reads one X.509 certificate, PEM or DER. */
    public static X509Certificate read(Path certificateFile) throws IOException {
        if (!Files.isRegularFile(certificateFile)) {
            throw new IOException("no such file: " + certificateFile);
        }
        try (InputStream in = Files.newInputStream(certificateFile)) {
            Certificate c = CertificateFactory.getInstance("X.509").generateCertificate(in);
            return (X509Certificate) c;
        } catch (GeneralSecurityException | ClassCastException e) {
            throw new IOException(certificateFile + " is not an X.509 certificate (PEM or DER): " + e.getMessage(), e);
        }
    }

    private static String aliasFor(Signer signer) {
        String subject = signer.subject();
        for (String part : subject.split(",")) {
            if (part.trim().toUpperCase(Locale.ROOT).startsWith("CN=")) {
                String cn = part.trim().substring(3).toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._-]+", "-");
                if (!cn.isBlank()) {
                    return cn;
                }
            }
        }
        return signer.fingerprint().replace(":", "").substring(0, 16).toLowerCase(Locale.ROOT);
    }

    private KeyStore load() throws IOException {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            if (Files.exists(file)) {
                try (InputStream in = Files.newInputStream(file)) {
                    store.load(in, PASSWORD.toCharArray());
                }
            } else {
                store.load(null, null);
            }
            return store;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot read the trust store " + file + " (PKCS#12, password '" + PASSWORD + "'): "
                    + e.getMessage(), e);
        }
    }

    private void save(KeyStore store) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        Path tmp = Files.createTempFile(dir, ".trust", ".p12",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                store.store(out, PASSWORD.toCharArray());
            } catch (GeneralSecurityException e) {
                throw new IOException("cannot write the trust store " + file + ": " + e.getMessage(), e);
            }
            try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                c.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
