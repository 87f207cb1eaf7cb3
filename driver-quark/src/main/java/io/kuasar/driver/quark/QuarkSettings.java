package io.kuasar.driver.quark;

import java.time.Duration;
import java.util.List;

/**
 * The Quark backend's settings, made from {@link QuarkDriver.Config} by DS or directly by tests.
 *
 * @param binary       the quark executable
 * @param extraArgs    arguments appended to Kuasar's command line
 * @param startTimeout how long to wait for Quark's pid file and task socket
 * @param stopTimeout  SIGTERM-to-SIGKILL grace when Stop gives none
 */
record QuarkSettings(String binary, List<String> extraArgs, Duration startTimeout, Duration stopTimeout) {
    QuarkSettings {
        binary = binary == null || binary.isBlank() ? "/usr/local/bin/quark" : binary.trim();
        extraArgs = extraArgs == null ? List.of() : List.copyOf(extraArgs);
        startTimeout = startTimeout == null || startTimeout.isNegative() || startTimeout.isZero()
                ? Duration.ofSeconds(10) : startTimeout;
        stopTimeout = stopTimeout == null || stopTimeout.isNegative() ? Duration.ofSeconds(10) : stopTimeout;
    }

    static QuarkSettings of(QuarkDriver.Config c) {
        List<String> extra = c.extra_args().isBlank() ? List.of() : List.of(c.extra_args().trim().split("\\s+"));
        return new QuarkSettings(c.quark_binary(), extra, Duration.ofSeconds(c.start_timeout_seconds()),
                Duration.ofSeconds(c.stop_timeout_seconds()));
    }
}
