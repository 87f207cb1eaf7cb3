package io.kuasar.driver.runc;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The driver's settings in plain form, made from the metatype {@link RuncDriver.Config} by DS or directly by tests.
 *
 * @param runcBinary  the runc executable (absolute path or a name looked up on PATH)
 * @param stopTimeout SIGTERM-to-SIGKILL grace when Stop gives no timeout of its own
 * @param keeperDir   the node keeper's directory (its exits/ records statuses of processes whose host JVM died),
 *                    or null when the node runs without a keeper
 */
public record RuncSettings(String runcBinary, Duration stopTimeout, Path keeperDir) {
    /** Framework/system property naming the keeper's directory; falls back to {@link #KEEPER_DIR_ENV}. */
    public static final String KEEPER_DIR_PROPERTY = "kuasar.keeper.dir";
    /** Set by kuasar-keeper in the environment of the JVM it runs. */
    public static final String KEEPER_DIR_ENV = "KUASAR_KEEPER_DIR";

    static final String PACKAGED_RUNC = "/usr/sbin/runc";

    public RuncSettings {
        runcBinary = runcBinary == null || runcBinary.isBlank() ? defaultBinary() : runcBinary.trim();
        stopTimeout = stopTimeout == null || stopTimeout.isNegative() ? Duration.ofSeconds(10) : stopTimeout;
    }

    public RuncSettings(String runcBinary, Duration stopTimeout) {
        this(runcBinary, stopTimeout, null);
    }

    /** The keeper's directory from a property value (bundle context, i.e. framework or system property) or env. */
    static Path keeperDir(String property) {
        String v = property == null || property.isBlank() ? System.getenv(KEEPER_DIR_ENV) : property;
        return v == null || v.isBlank() ? null : Path.of(v.trim());
    }

    /** Debian's runc package installs /usr/sbin/runc; otherwise rely on PATH. */
    static String defaultBinary() {
        return Files.isExecutable(Path.of(PACKAGED_RUNC)) ? PACKAGED_RUNC : "runc";
    }

    static RuncSettings of(RuncDriver.Config c, String keeperDirProperty) {
        return new RuncSettings(c.runc_binary(), Duration.ofSeconds(c.stop_timeout_seconds()),
                keeperDir(keeperDirProperty));
    }
}
