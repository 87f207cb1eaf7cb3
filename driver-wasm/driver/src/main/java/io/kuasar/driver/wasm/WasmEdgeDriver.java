package io.kuasar.driver.wasm;

import io.kuasar.driver.kit.HostFiles;
import io.kuasar.spi.HostPaths;
import io.kuasar.spi.OrphanExits;
import io.kuasar.spi.SandboxDriver;
import io.kuasar.spi.TaskEvents;
import java.io.IOException;
import java.time.Duration;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

/**
 * Sandboxer {@code wasmedge} (CRI handler {@code kuasar-wasmedge}): one WasmEdge process per container. Framework
 * property: {@code kuasar.wasmedge.root} (where scripts/deps.d/wasm.sh unpacked it). The exit of a WasmEdge process that
 * outlived the node JVM that started it comes from the host's {@link OrphanExits}.
 */
@Component(service = SandboxDriver.class, property = SandboxDriver.SANDBOXER + "=" + WasmEdgeBackend.SANDBOXER)
public class WasmEdgeDriver extends WasmSandboxDriver {
    @Activate
    public WasmEdgeDriver(@Reference TaskEvents events, @Reference HostPaths paths, @Reference OrphanExits orphans,
                          BundleContext context) throws IOException {
        super(new WasmEdgeBackend(WasmEdgeInstall.locate(context.getProperty("kuasar.wasmedge.root")),
                HostFiles.privateDir(paths.runDir(WasmEdgeBackend.SANDBOXER).resolve("containers")),
                orphans), events, paths, Duration.ofSeconds(10));
    }

    @Deactivate
    public void deactivate() {
        close();
    }
}
