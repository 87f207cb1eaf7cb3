package io.kuasar.host.internal;

import java.nio.file.Path;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The gogo commands of scope {@code kuasar}: {@code drivers}, {@code sandboxes}, {@code install URL|FILE [--force]},
 * {@code upgrade NAME FILE [--force]}, {@code rollback NAME}, {@code remove NAME [--force]}, {@code trust list|add|remove},
 * {@code inspect FILE}. Gogo finds them by the service
 * properties alone, so the host needs no gogo dependency; the work is done by {@link DriverBundles}.
 */
@Component(service = DriverCommands.class, property = {
        "osgi.command.scope=kuasar",
        "osgi.command.function=drivers", "osgi.command.function=sandboxes", "osgi.command.function=install",
        "osgi.command.function=upgrade", "osgi.command.function=rollback", "osgi.command.function=remove",
        "osgi.command.function=trust", "osgi.command.function=inspect"})
public class DriverCommands {
    private final DriverBundles bundles;
    private final TrustCommands trust;

    @Activate
    public DriverCommands(@Reference Router router, @Reference TrustedBundles trusted, @Reference NodeMetrics metrics,
                          BundleContext context) {
        this.bundles = driverBundles(router, trusted, metrics, context);
        this.trust = new TrustCommands(trusted);
    }

    /** The operations over the node's rollback dir, {@code $kuasar.state.dir/host-rollback} (also for {@link AdminSocket}). */
    static DriverBundles driverBundles(Router router, TrustedBundles trusted, NodeMetrics metrics,
                                       BundleContext context) {
        String stateRoot = context.getProperty("kuasar.state.dir");
        Path root = Path.of(stateRoot == null || stateRoot.isBlank() ? "/var/lib/kuasar" : stateRoot);
        return new DriverBundles(context, router, trusted, DirectoryPaths.privateDir(root.resolve("host-rollback")),
                metrics);
    }

    public String drivers() {
        return String.join("\n", bundles.drivers());
    }

    public String sandboxes() {
        return String.join("\n", bundles.sandboxes());
    }

    public String install(String where) throws Exception {
        return describe("installed", bundles.install(where, false));
    }

    public String install(String where, String flag) throws Exception {
        return describe("installed", bundles.install(where, force(flag, "install URL|FILE [--force]")));
    }

    public String upgrade(String name, String file) throws Exception {
        return describe("upgraded " + name + " to", bundles.upgrade(name, Path.of(file), false));
    }

    public String upgrade(String name, String file, String flag) throws Exception {
        return describe("upgraded " + name + " to", bundles.upgrade(name, Path.of(file),
                force(flag, "upgrade NAME FILE [--force]")));
    }

    public String trust(String... args) throws Exception {
        return String.join("\n", trust.trust(java.util.List.of(args)));
    }

    public String inspect(String jar) throws Exception {
        return String.join("\n", trust.inspect(jar));
    }

    private static boolean force(String flag, String usage) {
        if (!"--force".equals(flag)) {
            throw new IllegalArgumentException("usage: " + usage);
        }
        return true;
    }

    public String rollback(String name) throws Exception {
        return describe("rolled " + name + " back to", bundles.rollback(name));
    }

    public String remove(String name) throws Exception {
        return bundles.remove(name, false);
    }

    public String remove(String name, String flag) throws Exception {
        if (!"--force".equals(flag)) {
            throw new IllegalArgumentException("usage: remove NAME [--force]");
        }
        return bundles.remove(name, true);
    }

    static String describe(String what, Bundle b) {
        return what + " " + b.getSymbolicName() + " " + b.getVersion() + " (bundle " + b.getBundleId() + ", "
                + DriverBundles.state(b) + ")";
    }
}
