package io.kuasar.e2e;

import java.util.Map;

/** What {@code kuasar-runsc} cannot do in the CRI parity suite, by test method, with the reason (see HandlerLimits). */
final class RunscLimits {
    static final Map<String, String> SKIPS = Map.of(
            HandlerLimits.ALL, "parity of kuasar-runsc is being brought up (issue 15)");

    private RunscLimits() {
    }
}
