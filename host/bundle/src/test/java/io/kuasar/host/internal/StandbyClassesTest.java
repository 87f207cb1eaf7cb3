package io.kuasar.host.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.lang.reflect.Proxy;
import java.net.URL;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;

/** A standby bundle's classes are loaded before it takes over, and none of their static initialisers runs. */
class StandbyClassesTest {
    static volatile boolean initialised;

    /** A class of the "bundle" whose static initialiser must not run at preloading. */
    static final class Probe {
        static {
            initialised = true;
        }
    }

    @Test
    void everyClassEntryIsLoadedAndNoneInitialised() throws Exception {
        List<String> asked = new ArrayList<>();
        List<URL> entries = List.of(entry(Probe.class.getName()), entry("io.kuasar.host.internal.package-info"),
                entry("io.kuasar.host.internal.NoSuchClass"));
        Bundle bundle = (Bundle) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Bundle.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "findEntries" -> Collections.enumeration(entries);
                    case "loadClass" -> {
                        asked.add((String) args[0]);
                        yield Class.forName((String) args[0], false, getClass().getClassLoader());
                    }
                    default -> throw new UnsupportedOperationException(method.getName());
                });

        assertEquals(1, StandbyClasses.load(bundle), "the class that exists; a missing one is skipped");
        assertEquals(List.of(Probe.class.getName(), "io.kuasar.host.internal.NoSuchClass"), asked,
                "package-info is no class to load");
        assertFalse(initialised, "loading runs no driver code");
    }

    private static URL entry(String className) throws Exception {
        return new URL("file:/" + className.replace('.', '/') + ".class");
    }
}
