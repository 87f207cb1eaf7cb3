package io.kuasar.host.internal;

import io.kuasar.host.admin.AdminProtocol;
import io.kuasar.host.admin.AdminServer;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.List;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/**
 * The node's root-only admin socket: {@code kuasar.admin.socket} (framework or system property, default
 * {@code <kuasar.run.dir>/admin.sock}), mode 0600 in a 0700 directory, serving {@link AdminProtocol} with
 * {@link DriverBundles}: the gogo commands for the command line ({@code java -jar kuasar.jar drivers}), and any gogo
 * line through {@link RemoteShell} when gogo is there. Operations that change bundles run one at a time.
 */
@Component(service = {})
public class AdminSocket {
    private static final Logger LOG = System.getLogger(AdminSocket.class.getName());

    private final DriverBundles bundles;
    private final TrustCommands trust;
    private final AdminServer server;
    private final NodeStatus status;
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile RemoteShell shell;

    @Activate
    public AdminSocket(@Reference Router router, @Reference TrustedBundles trusted, @Reference NodeMetrics metrics,
                       @Reference MetricsServer metricsServer, BundleContext context) throws IOException {
        this.bundles = DriverCommands.driverBundles(router, trusted, metrics, context);
        this.status = new NodeStatus(context.getBundle(), router, bundles, metrics, metricsServer,
                KeeperStats.of(KeeperExitRecords.keeperDir(context.getProperty(KeeperExitRecords.KEEPER_DIR_PROPERTY),
                        System.getenv(KeeperExitRecords.KEEPER_DIR_ENV))));
        this.trust = new TrustCommands(trusted);
        String runDir = context.getProperty("kuasar.run.dir");
        Path socket = Path.of(socketPath(context.getProperty("kuasar.admin.socket"), runDir));
        if (socket.getParent() != null && socket.getParent().equals(Path.of(socketPath(null, runDir)).getParent())) {
            DirectoryPaths.privateDir(socket.getParent()); // the node's run dir: 0700, as everywhere
        }
        this.server = new AdminServer(socket, this::handle, AdminServer.rootOrSelf());
        LOG.log(Level.INFO, "admin socket on {0}", socket);
    }

    static String socketPath(String property, String runDir) {
        if (property != null && !property.isBlank()) {
            return property;
        }
        return Path.of(runDir == null || runDir.isBlank() ? "/run/kuasar" : runDir).resolve("admin.sock").toString();
    }

    private List<String> handle(AdminProtocol.Request r) throws Exception {
        switch (r.command()) {
            case "drivers":
                return bundles.drivers();
            case "sandboxes":
                return bundles.sandboxes();
            case "status":
                return status.lines();
            case "inspect":
                return trust.inspect(r.arg(0));
            default:
                break;
        }
        synchronized (this) {
            if (r.command().equals("shell")) { // a gogo line may change bundles too
                return shell().run(r.arg(0));
            }
            if (r.command().equals("trust")) {
                return trust.trust(r.args());
            }
            return List.of(switch (r.command()) {
                case "install" -> DriverCommands.describe("installed", bundles.install(r.arg(0), r.force()));
                case "upgrade" -> DriverCommands.describe("upgraded " + r.arg(0) + " to",
                        bundles.upgrade(r.arg(0), Path.of(r.arg(1)), r.force()));
                case "rollback" -> DriverCommands.describe("rolled " + r.arg(0) + " back to",
                        bundles.rollback(r.arg(0)));
                case "remove" -> bundles.remove(r.arg(0), r.force());
                default -> throw new IllegalArgumentException("unknown command " + r.command());
            });
        }
    }

    private RemoteShell shell() {
        RemoteShell s = shell;
        if (s == null) {
            throw new IllegalStateException("no gogo shell in this node (bundle org.apache.felix.gogo.runtime)");
        }
        return s;
    }

    @Deactivate
    void close() throws IOException {
        server.close();
    }
}
