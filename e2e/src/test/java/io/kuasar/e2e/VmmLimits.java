package io.kuasar.e2e;

import java.util.Map;

/** What {@code kuasar-vmm} cannot do in the CRI parity suite, by test method, with the reason (see HandlerLimits). */
final class VmmLimits {
    static final Map<String, String> SKIPS = Map.of(
            HandlerLimits.ALL, "parity of kuasar-vmm is being brought up (issue 15)");

    private VmmLimits() {
    }
}
