package io.kuasar.host.internal;

import io.kuasar.spi.SandboxDriver;
import io.kuasar.spi.SandboxException;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/** The drivers present now, by the sandboxer names they serve. */
final class DriverTable {
    private final Map<String, SandboxDriver> bySandboxer = new ConcurrentHashMap<>();

    /** The sandboxer names of a driver service's {@value SandboxDriver#SANDBOXER} property. */
    static List<String> sandboxers(Map<String, Object> properties) {
        Object value = properties.get(SandboxDriver.SANDBOXER);
        if (value instanceof String s) {
            return List.of(s);
        }
        if (value instanceof String[] array) {
            return List.of(array);
        }
        if (value instanceof java.util.Collection<?> c) {
            return c.stream().map(String::valueOf).toList();
        }
        return List.of();
    }

    void add(SandboxDriver driver, List<String> names) {
        names.forEach(n -> bySandboxer.put(n, driver));
    }

    void remove(SandboxDriver driver) {
        bySandboxer.values().removeIf(d -> d == driver);
    }

    SandboxDriver forSandboxer(String sandboxer) throws SandboxException {
        if (sandboxer == null || sandboxer.isEmpty()) {
            throw SandboxException.invalid("sandboxer must be named in the request");
        }
        SandboxDriver driver = bySandboxer.get(sandboxer);
        if (driver == null) {
            throw new SandboxException(SandboxException.Code.NOT_FOUND, "sandboxer \"" + sandboxer
                    + "\" not found: no driver serves it (present: " + new TreeSet<>(bySandboxer.keySet()) + ")");
        }
        return driver;
    }
}
