package io.kuasar.driver.kit.testing;

import io.kuasar.spi.HostPaths;
import java.nio.file.Path;

/** The host's directories for a driver under a test's temporary dir: {@code root/state/NAME}, {@code root/run/NAME}. */
public record TempHostPaths(Path root) implements HostPaths {
    @Override
    public Path stateDir(String driver) {
        return root.resolve("state").resolve(driver);
    }

    @Override
    public Path runDir(String driver) {
        return root.resolve("run").resolve(driver);
    }
}
