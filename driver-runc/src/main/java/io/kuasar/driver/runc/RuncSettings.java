package io.kuasar.driver.runc;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The driver's settings in plain form, made from the metatype {@link RuncDriver.Config} by DS or directly by tests.
 *
 * @param runcBinary  the runc executable (absolute path or a name looked up on PATH)
 * @param stopTimeout SIGTERM-to-SIGKILL grace when Stop gives no timeout of its own
 */
public record RuncSettings(String runcBinary, Duration stopTimeout) {
    static final String PACKAGED_RUNC = "/usr/sbin/runc";

    public RuncSettings {
        runcBinary = runcBinary == null || runcBinary.isBlank() ? defaultBinary() : runcBinary.trim();
        stopTimeout = stopTimeout == null || stopTimeout.isNegative() ? Duration.ofSeconds(10) : stopTimeout;
    }

    /** Debian's runc package installs /usr/sbin/runc; otherwise rely on PATH. */
    static String defaultBinary() {
        return Files.isExecutable(Path.of(PACKAGED_RUNC)) ? PACKAGED_RUNC : "runc";
    }

    static RuncSettings of(RuncDriver.Config c) {
        return new RuncSettings(c.runc_binary(), Duration.ofSeconds(c.stop_timeout_seconds()));
    }
}
