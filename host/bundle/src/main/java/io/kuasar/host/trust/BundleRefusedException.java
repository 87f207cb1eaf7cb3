package io.kuasar.host.trust;

/**
 * A bundle that must not be installed or updated, and why: the message names the file and the finding (no such
 * file, not a jar, not an OSGi bundle, unsigned, an entry tampered with, a signer not trusted, an expired
 * certificate, an SPI version this node lacks, no driver inside, another signer than the driver it replaces).
 */
public final class BundleRefusedException extends Exception {
    private static final long serialVersionUID = 1L;

    public BundleRefusedException(String message) {
        super(message);
    }

    public BundleRefusedException(String message, Throwable cause) {
        super(message, cause);
    }
}
