package io.kuasar.e2e;

import java.util.Map;
import java.util.Optional;

/**
 * What each handler of the parity suite cannot do because of its isolation technology, as test method name to the
 * reason a skipped run prints. Only a limit the technology imposes belongs here (a VM cannot share the host's PID
 * namespace; gVisor has no ...), never a feature still to do: that is a failing test. The stock shim and
 * {@code kuasar-runc} have no limits. One table per handler, in its own class, so docs and reviews read it whole.
 */
final class HandlerLimits {
    private static final Map<String, Map<String, String>> BY_HANDLER = Map.of(
            CriParityTestBase.RUNSC, RunscLimits.SKIPS,
            CriParityTestBase.VMM, VmmLimits.SKIPS);

    private HandlerLimits() {
    }

    /** The reason {@code handler} cannot run {@code testMethod}, or empty when it must pass. */
    static Optional<String> reason(String handler, String testMethod) {
        Map<String, String> skips = BY_HANDLER.getOrDefault(handler, Map.of());
        return Optional.ofNullable(skips.get(testMethod));
    }
}
