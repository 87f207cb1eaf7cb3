package io.kuasar.driver.quark;

import io.kuasar.driver.kit.PodStore;
import io.kuasar.driver.kit.HostFiles;
import io.kuasar.spi.HostPaths;
import io.kuasar.spi.OrphanExits;
import io.kuasar.spi.SandboxDriver;
import io.kuasar.spi.TaskEvents;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Sandboxer {@code runsc}: every pod is one gVisor sandbox, its containers run by gVisor's application kernel,
 * their Task API served by this host. State under {@code stateDir("quark")/runsc}, sandboxes under
 * {@code runDir("quark")/runsc}.
 */
@Component(service = SandboxDriver.class, property = SandboxDriver.SANDBOXER + "=runsc")
@Designate(ocd = RunscDriver.Config.class)
public class RunscDriver extends AppKernelDriver {
    @ObjectClassDefinition(name = "Kuasar gVisor (runsc) sandboxer", pid = "io.kuasar.driver.runsc")
    public @interface Config {
        @AttributeDefinition(description = "runsc executable")
        String runsc_binary() default "runsc";

        @AttributeDefinition(description = "nsenter executable, used to run runsc in the pod's network namespace")
        String nsenter_binary() default "nsenter";

        @AttributeDefinition(description = "gVisor platform (systrap, ptrace, kvm); empty: probe systrap, then ptrace")
        String platform() default "";

        @AttributeDefinition(description = "runsc --network: host (pod netns entered with nsenter) or none."
                + " gVisor's own netstack (sandbox) does not start on kernels that show rmem_default per netns")
        String network() default "host";

        @AttributeDefinition(description = "Static host binary run as each sandbox's root process")
        String pause_binary() default "/bin/busybox";

        @AttributeDefinition(description = "Its arguments; the first is also the name it gets in the sandbox")
        String pause_args() default "sleep 2147483647";

        @AttributeDefinition(description = "Seconds between SIGTERM and SIGKILL when Stop gives no timeout")
        long stop_timeout_seconds() default 10;
    }

    private final Reaper reaper;

    @Activate
    public RunscDriver(@Reference TaskEvents events, @Reference HostPaths paths, @Reference OrphanExits orphans,
                       Config config) throws IOException {
        this(events, paths, orphans,
                RunscSettings.of(config, HostFiles.privateDir(paths.runDir("quark").resolve("runsc/log"))), new Reaper());
    }

    /** For tests and embedding without DS. */
    RunscDriver(TaskEvents events, HostPaths paths, OrphanExits orphans, RunscSettings settings, Reaper reaper)
            throws IOException {
        this(Pod.store(paths.stateDir("quark").resolve("runsc")), events, paths, orphans, settings, reaper);
    }

    private RunscDriver(PodStore<Pod, PersistedPod> store, TaskEvents events, HostPaths paths, OrphanExits orphans,
                        RunscSettings settings, Reaper reaper) throws IOException {
        super(new RunscKernel(settings, HostFiles.privateDir(paths.runDir("quark").resolve("runsc")), store, events,
                orphans, reaper, choosePlatform(settings, paths.runDir("quark").resolve("runsc"))), store,
                settings.stopTimeout());
        this.reaper = reaper;
    }

    /** The configured platform, or the probe's choice, made in the background so activation stays quick. */
    private static CompletableFuture<String> choosePlatform(RunscSettings s, Path scratch) {
        if (!s.platform().isEmpty()) {
            return CompletableFuture.completedFuture(s.platform());
        }
        return CompletableFuture.supplyAsync(() -> PlatformProbe.remembered(s.binary(), scratch));
    }

    @Deactivate
    public void deactivate() {
        close();
        reaper.close();
    }
}
