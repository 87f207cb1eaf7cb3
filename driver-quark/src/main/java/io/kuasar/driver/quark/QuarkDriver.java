package io.kuasar.driver.quark;

import io.kuasar.driver.kit.PodStore;
import io.kuasar.driver.kit.HostFiles;
import io.kuasar.spi.HostPaths;
import io.kuasar.spi.SandboxDriver;
import java.io.IOException;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Sandboxer {@code quark}: every pod is one Quark sandbox, which serves its containers' Task API itself. State
 * under {@code stateDir("quark")/quark}, bundles under {@code runDir("quark")/quark}.
 */
@Component(service = SandboxDriver.class, property = SandboxDriver.SANDBOXER + "=quark")
@Designate(ocd = QuarkDriver.Config.class)
public class QuarkDriver extends AppKernelDriver {
    @ObjectClassDefinition(name = "Kuasar Quark sandboxer", pid = "io.kuasar.driver.quark")
    public @interface Config {
        @AttributeDefinition(description = "quark executable")
        String quark_binary() default "/usr/local/bin/quark";

        @AttributeDefinition(description = "Extra arguments appended to quark's sandbox command line")
        String extra_args() default "";

        @AttributeDefinition(description = "Seconds to wait for quark's pid file")
        long start_timeout_seconds() default 10;

        @AttributeDefinition(description = "Seconds between SIGTERM and SIGKILL when Stop gives no timeout")
        long stop_timeout_seconds() default 10;
    }

    @Activate
    public QuarkDriver(@Reference HostPaths paths, Config config) throws IOException {
        this(paths, QuarkSettings.of(config));
    }

    /** For tests and embedding without DS. */
    QuarkDriver(HostPaths paths, QuarkSettings settings) throws IOException {
        this(Pod.store(paths.stateDir("quark").resolve("quark")), paths, settings);
    }

    private QuarkDriver(PodStore<Pod, PersistedPod> store, HostPaths paths, QuarkSettings settings) throws IOException {
        super(new QuarkKernel(settings, HostFiles.privateDir(paths.runDir("quark").resolve("quark")), store), store,
                settings.stopTimeout());
    }

    @Deactivate
    public void deactivate() {
        close();
    }
}
