package io.kuasar.host.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;

/** A successor takes over only once the leaving instance's stopping bundle has stopped. */
class HandoverTest {
    private final AtomicInteger state = new AtomicInteger(Bundle.STOPPING);
    private final Bundle bundle = (Bundle) Proxy.newProxyInstance(getClass().getClassLoader(),
            new Class<?>[] {Bundle.class}, (p, m, a) -> switch (m.getName()) {
                case "getState" -> state.get();
                case "getBundleId" -> 7L;
                default -> null;
            });
    private final BundleContext context = (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(),
            new Class<?>[] {BundleContext.class}, (p, m, a) -> m.getName().equals("getBundle") ? bundle : null);
    private final Handover handover = new Handover(context);
    private final List<String> ran = new ArrayList<>();

    @Test
    void aStoppingBundlesSuccessorWaitsForItsStoppedEvent() {
        handover.after(7, () -> ran.add("take over"));
        assertEquals(List.of(), ran, "not while the bundle is stopping");
        handover.bundleChanged(new BundleEvent(BundleEvent.STOPPING, bundle));
        assertEquals(List.of(), ran);
        state.set(Bundle.RESOLVED);
        handover.bundleChanged(new BundleEvent(BundleEvent.STOPPED, bundle));
        assertEquals(List.of("take over"), ran, "once it stopped, once");
        handover.bundleChanged(new BundleEvent(BundleEvent.UNINSTALLED, bundle));
        assertEquals(List.of("take over"), ran);
    }

    @Test
    void aBundleThatIsNotStoppingHandsOverAtOnce() {
        state.set(Bundle.ACTIVE); // the component went, its bundle stays: nothing to wait for
        handover.after(7, () -> ran.add("take over"));
        assertEquals(List.of("take over"), ran);
    }
}
