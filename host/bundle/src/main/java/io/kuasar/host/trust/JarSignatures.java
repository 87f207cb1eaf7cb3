package io.kuasar.host.trust;

import java.io.IOException;
import java.io.InputStream;
import java.security.CodeSigner;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * Who signed a jar, by the JDK's own jar verification ({@link JarFile} opened with {@code verify=true}): every entry
 * is read to its end, which makes the JDK compare its digest with the signed manifest (a mismatch throws
 * {@link SecurityException}), then {@link JarEntry#getCodeSigners()} names its signers. No cryptography here.
 *
 * <p>The rule: either nothing is signed (the jar is unsigned), or every entry except the signature files themselves
 * ({@code META-INF/MANIFEST.MF}, {@code META-INF/*.SF|RSA|DSA|EC}, {@code META-INF/SIG-*}) and directories is signed
 * by one and the same single signer, and every entry the signature lists is present. Trust is not decided here.
 */
public final class JarSignatures {
    private JarSignatures() {
    }

    /**
     * The jar's one signer, or empty when the jar is unsigned (no entry signed and no signature file).
     *
     * @param jar opened with {@code verify=true}
     * @param name how messages name the jar (its path)
     */
    public static Optional<Signer> signer(JarFile jar, String name) throws BundleRefusedException, IOException {
        Manifest manifest;
        try {
            manifest = jar.getManifest();
        } catch (SecurityException e) {
            throw tampered(name, "its manifest", e);
        }
        boolean signatureFiles = false;
        List<String> unsigned = new ArrayList<>();
        Set<String> present = new HashSet<>();
        Signer signer = null;
        String signerEntry = null;
        byte[] buffer = new byte[8192];
        for (Enumeration<JarEntry> entries = jar.entries(); entries.hasMoreElements(); ) {
            JarEntry entry = entries.nextElement();
            String path = entry.getName();
            present.add(path);
            if (signatureFile(path)) {
                signatureFiles |= !path.equalsIgnoreCase(JarFile.MANIFEST_NAME);
                continue;
            }
            if (entry.isDirectory()) {
                continue; // jarsigner signs no directory: it has no content to digest
            }
            try (InputStream in = jar.getInputStream(entry)) {
                while (in.read(buffer) >= 0) {
                    // reading to the end is what makes the JDK check the entry's digest
                }
            } catch (SecurityException e) {
                throw tampered(name, "entry " + path, e);
            }
            CodeSigner[] signers = entry.getCodeSigners();
            if (signers == null || signers.length == 0) {
                unsigned.add(path);
                continue;
            }
            if (signers.length > 1) {
                throw new BundleRefusedException(name + ": entry " + path + " has " + signers.length
                        + " signers; a bundle must have exactly one");
            }
            Signer s = new Signer(leaf(signers[0], name));
            if (signer == null) {
                signer = s;
                signerEntry = path;
            } else if (!signer.sameAs(s)) {
                throw new BundleRefusedException(name + ": entries signed by different signers: " + signerEntry
                        + " by " + signer.describe() + ", " + path + " by " + s.describe());
            }
        }
        if (signer == null) {
            if (signatureFiles) {
                throw new BundleRefusedException(name + ": has signature files but no entry verifies against them"
                        + " (tampered with, or signed by a tool this JDK cannot verify)");
            }
            return Optional.empty();
        }
        if (!unsigned.isEmpty()) {
            throw new BundleRefusedException(name + ": entry " + unsigned.get(0) + " is not signed"
                    + (unsigned.size() > 1 ? " (nor " + (unsigned.size() - 1) + " other entr"
                    + (unsigned.size() == 2 ? "y" : "ies") + ")" : "")
                    + "; entries added after signing are refused");
        }
        for (Map.Entry<String, Attributes> section : manifest.getEntries().entrySet()) {
            if (!present.contains(section.getKey()) && digested(section.getValue())) {
                throw new BundleRefusedException(name + ": entry " + section.getKey()
                        + " is signed but missing from the jar (tampered with)");
            }
        }
        return Optional.of(signer);
    }

    private static BundleRefusedException tampered(String name, String what, SecurityException e) {
        String m = String.valueOf(e.getMessage());
        if (m.contains("Manifest") || m.contains("signature file")) {
            what = "its manifest or signature files"; // the JDK checks those on the first entry it reads
        }
        return new BundleRefusedException(name + ": " + what + " tampered with: it does not match its signature ("
                + e.getMessage() + ")", e);
    }

    /** The signature's own files, which the signature cannot cover. */
    static boolean signatureFile(String path) {
        String upper = path.toUpperCase(Locale.ROOT);
        if (!upper.startsWith("META-INF/") || upper.indexOf('/', "META-INF/".length()) >= 0) {
            return false;
        }
        String file = upper.substring("META-INF/".length());
        return file.equals("MANIFEST.MF") || file.startsWith("SIG-") || file.endsWith(".SF")
                || file.endsWith(".RSA") || file.endsWith(".DSA") || file.endsWith(".EC");
    }

    private static boolean digested(Attributes section) {
        return section.keySet().stream().anyMatch(k -> k.toString().toUpperCase(Locale.ROOT).endsWith("-DIGEST"));
    }

    private static X509Certificate leaf(CodeSigner signer, String name) throws BundleRefusedException {
        List<? extends Certificate> chain = signer.getSignerCertPath().getCertificates();
        if (chain.isEmpty() || !(chain.get(0) instanceof X509Certificate x509)) {
            throw new BundleRefusedException(name + ": its signer has no X.509 certificate");
        }
        return x509;
    }
}
