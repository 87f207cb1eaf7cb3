package io.kuasar.host.trust;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;

/** The certificate a bundle was signed with, named the way operators compare them: subject and SHA-256 fingerprint. */
public record Signer(X509Certificate certificate) {
    public String subject() {
        return certificate.getSubjectX500Principal().getName();
    }

    /** SHA-256 of the DER certificate, as {@code keytool -list -v} prints it (upper-case hex pairs and colons). */
    public String fingerprint() {
        return fingerprint(certificate);
    }

    /** {@code CN=… (SHA-256 AB:CD:…)}: what every message about a signer says. */
    public String describe() {
        return subject() + " (SHA-256 " + fingerprint() + ")";
    }

    public boolean sameAs(Signer other) {
        return other != null && fingerprint().equals(other.fingerprint());
    }

    static String fingerprint(X509Certificate certificate) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded());
            return HexFormat.ofDelimiter(":").withUpperCase().formatHex(digest);
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException("cannot fingerprint " + certificate.getSubjectX500Principal(), e);
        }
    }

    @Override
    public String toString() {
        return describe();
    }
}
