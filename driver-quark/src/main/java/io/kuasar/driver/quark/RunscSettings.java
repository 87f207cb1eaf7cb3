package io.kuasar.driver.quark;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The runsc backend's settings in plain form, made from {@link RunscDriver.Config} by DS or directly by tests.
 *
 * @param binary      the runsc executable
 * @param nsenter     nsenter(1), used to start runsc inside the pod's network namespace
 * @param platform    gVisor platform; empty means probe ({@link PlatformProbe}): systrap, else ptrace
 * @param network     runsc --network mode: host (the default; the pod's netns is entered with nsenter) or none
 * @param pauseBinary static host binary run as the root process of each gVisor sandbox
 * @param pauseArgs   its arguments; the first names the file it is placed as in the sandbox's root, which lets a
 *                    multi-call binary (busybox) pick its applet from argv[0]
 * @param logDir      where each runsc call writes its log (removed after the call)
 * @param stopTimeout SIGTERM-to-SIGKILL grace when Stop gives none
 */
record RunscSettings(String binary, String nsenter, String platform, String network, String pauseBinary,
                     List<String> pauseArgs, Path logDir, Duration stopTimeout) {
    RunscSettings {
        binary = blank(binary) ? "runsc" : binary.trim();
        nsenter = blank(nsenter) ? "nsenter" : nsenter.trim();
        platform = platform == null ? "" : platform.trim();
        network = blank(network) ? "host" : network.trim();
        pauseBinary = blank(pauseBinary) ? "/bin/busybox" : pauseBinary.trim();
        pauseArgs = pauseArgs == null || pauseArgs.isEmpty() ? List.of("sleep", "2147483647") : List.copyOf(pauseArgs);
        stopTimeout = stopTimeout == null || stopTimeout.isNegative() ? Duration.ofSeconds(10) : stopTimeout;
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    static RunscSettings of(RunscDriver.Config c, Path logDir) {
        List<String> args = c.pause_args().isBlank() ? List.of() : List.of(c.pause_args().trim().split("\\s+"));
        return new RunscSettings(c.runsc_binary(), c.nsenter_binary(), c.platform(), c.network(), c.pause_binary(),
                args, logDir, Duration.ofSeconds(c.stop_timeout_seconds()));
    }
}
