package io.kuasar.host.internal;

import java.net.URL;
import java.util.Enumeration;
import org.osgi.framework.Bundle;

/**
 * Loads and links the classes of a driver bundle that stands by to take over, while the instance it replaces still
 * serves. Each upgrade's successor is a new class loader: left to itself, it would load, verify and link the classes
 * its recovery runs (tens of them) inside the upgrade's gap, which was most of a runsc recovery on a busy machine.
 */
final class StandbyClasses {
    private StandbyClasses() {
    }

    /** Loads and links every class file in {@code bundle}'s own entries; returns how many. Initialises none. */
    static int load(Bundle bundle) {
        Enumeration<URL> entries = bundle.findEntries("/", "*.class", true);
        int loaded = 0;
        while (entries != null && entries.hasMoreElements()) {
            String path = entries.nextElement().getPath();
            String name = path.substring(path.startsWith("/") ? 1 : 0, path.length() - ".class".length()).replace('/', '.');
            if (name.endsWith("package-info") || name.endsWith("module-info")) {
                continue;
            }
            try {
                // asking for its constructors links (verifies) the class without running its static initialiser
                bundle.loadClass(name).getDeclaredConstructors();
                loaded++;
            } catch (ClassNotFoundException | LinkageError | SecurityException e) {
                // a class whose optional imports are absent: it loads when used, or never
            }
        }
        return loaded;
    }
}
