package io.kuasar.host.internal;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The calls one driver instance is serving, per sandbox: what a handover one sandbox at a time ({@link
 * SandboxHandoff}) waits on, so that a sandbox changes hands at a moment no call on it is inside, while calls on the
 * other sandboxes go on. Every call on a sandbox enters its entry here as well as the instance's {@link InstanceCalls}.
 */
final class SandboxCalls {
    private final Map<String, InstanceCalls> bySandbox = new ConcurrentHashMap<>();

    /** The calls on {@code sandboxId}; made on first use, and recorded before a call on it enters (see {@link #ids}). */
    InstanceCalls of(String sandboxId) {
        return bySandbox.computeIfAbsent(sandboxId, id -> new InstanceCalls());
    }

    /** Every sandbox a call has entered this instance for (and that was not forgotten since), a Create's new one too. */
    Set<String> ids() {
        return Set.copyOf(bySandbox.keySet());
    }

    /** The sandbox is gone (shut down): nothing more to track for it. */
    void forget(String sandboxId) {
        bySandbox.remove(sandboxId);
    }
}
