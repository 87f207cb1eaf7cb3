package io.kuasar.host.internal;

import io.kuasar.host.admin.NodeDirectories;
import io.kuasar.spi.HostPaths;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

/**
 * State and run directories from the framework properties {@code kuasar.state.dir} (default /var/lib/kuasar) and
 * {@code kuasar.run.dir} (default /run/kuasar); every directory handed out is made 0700.
 */
@Component(service = HostPaths.class)
public class DirectoryPaths implements HostPaths {
    private final Path stateRoot;
    private final Path runRoot;

    @Activate
    public DirectoryPaths(BundleContext context) {
        this(Path.of(property(context, "kuasar.state.dir", "/var/lib/kuasar")),
                Path.of(property(context, "kuasar.run.dir", "/run/kuasar")));
    }

    public DirectoryPaths(Path stateRoot, Path runRoot) {
        this.stateRoot = privateDir(stateRoot);
        this.runRoot = privateDir(runRoot);
    }

    private static String property(BundleContext context, String key, String fallback) {
        String value = context.getProperty(key);
        return value == null || value.isBlank() ? fallback : value;
    }

    @Override
    public Path stateDir(String driver) {
        return privateDir(stateRoot.resolve(driver));
    }

    @Override
    public Path runDir(String driver) {
        return privateDir(runRoot.resolve(driver));
    }

    /**
     * Creates {@code dir} and its missing parents with mode 0700. One that exists and belongs to another user is
     * refused, not chmod-ed: root may change its mode, but its owner would still own it.
     */
    public static Path privateDir(Path dir) {
        try {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            int owner = (Integer) Files.getAttribute(dir, "unix:uid");
            int self = NodeDirectories.selfUid();
            if (owner != 0 && owner != self) {
                throw new IOException(dir + " is owned by uid " + owner + ", neither root nor the node's user (uid "
                        + self + ")");
            }
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir, e);
        }
    }
}
