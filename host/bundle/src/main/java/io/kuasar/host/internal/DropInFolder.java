package io.kuasar.host.internal;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.Dictionary;
import java.util.Hashtable;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

/**
 * The drivers drop-in folder ({@value #DIR_PROPERTY}), watched by Felix File Install but installed by us. File
 * Install's own jar handling would install any bundle unchecked, so it is never pointed at the folder directly: this
 * component first registers {@link DropInInstaller} (an {@code ArtifactInstaller} that claims every jar and every
 * file of the folder, ranked above File Install's own handlers), and only then creates the File Install
 * configuration that watches the folder; it deletes that configuration before going away. So no jar of the folder
 * is ever looked at while nothing checks it. (File Install's start-up watcher, {@code felix.fileinstall.dir}, is
 * given a file name filter that matches nothing in host/kuasar.bndrun.)
 */
@Component(service = {})
public class DropInFolder {
    static final String DIR_PROPERTY = "kuasar.drivers.dir";
    private static final Logger LOG = System.getLogger(DropInFolder.class.getName());
    private static final String INSTALLER = "org.apache.felix.fileinstall.ArtifactInstaller";
    private static final String FILE_INSTALL_PID = "org.apache.felix.fileinstall";

    private final ServiceRegistration<?> installer;
    private final Configuration watch;

    @Activate
    public DropInFolder(@Reference TrustedBundles trusted, @Reference ConfigurationAdmin configurations,
                        @Reference NodeMetrics metrics, @Reference Router router, BundleContext context)
            throws IOException {
        String dir = context.getProperty(DIR_PROPERTY);
        if (dir == null || dir.isBlank()) {
            LOG.log(Level.INFO, "no drivers drop-in folder ({0} is not set)", DIR_PROPERTY);
            installer = null;
            watch = null;
            return;
        }
        Path folder = DirectoryPaths.privateDir(Path.of(dir).toAbsolutePath());
        Object handler;
        try {
            handler = new DropInInstaller(folder, trusted, metrics, new DriverSwap(context, router), context);
        } catch (NoClassDefFoundError e) { // File Install is not in this framework
            LOG.log(Level.WARNING, "no drivers drop-in folder: File Install ({0}) is not installed", INSTALLER);
            installer = null;
            watch = null;
            return;
        }
        Dictionary<String, Object> ranking = new Hashtable<>();
        ranking.put(Constants.SERVICE_RANKING, 1000); // before File Install's own installers, whatever they claim
        installer = context.registerService(INSTALLER, handler, ranking);
        watch = configurations.getFactoryConfiguration(FILE_INSTALL_PID, "kuasar-drivers", "?");
        Dictionary<String, Object> settings = new Hashtable<>();
        settings.put("felix.fileinstall.dir", folder.toString());
        settings.put("felix.fileinstall.poll", "2000");
        settings.put("felix.fileinstall.noInitialDelay", "true");
        settings.put("felix.fileinstall.log.level", "2");
        watch.update(settings);
        LOG.log(Level.INFO, "drivers drop-in folder {0}: every jar is checked before it is installed", folder);
    }

    @Deactivate
    void close() {
        try {
            if (watch != null) {
                watch.delete(); // File Install stops watching first: no jar is seen while nothing checks it
            }
        } catch (IOException | IllegalStateException e) {
            LOG.log(Level.WARNING, "cannot remove the drop-in folder''s File Install configuration: {0}", e.toString());
        }
        if (installer != null) {
            try {
                installer.unregister();
            } catch (IllegalStateException alreadyGone) {
                // the bundle is stopping: its services go anyway
            }
        }
    }
}
