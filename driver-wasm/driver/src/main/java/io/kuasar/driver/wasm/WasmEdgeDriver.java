package io.kuasar.driver.wasm;

import io.kuasar.driver.kit.HostFiles;
import io.kuasar.spi.HostPaths;
import io.kuasar.spi.SandboxDriver;
import io.kuasar.spi.TaskEvents;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

/**
 * Sandboxer {@code wasmedge} (CRI handler {@code kuasar-wasmedge}): one WasmEdge process per container. Framework
 * properties: {@code kuasar.wasmedge.root} (where scripts/deps.d/wasm.sh unpacked it) and {@code kuasar.keeper.dir}
 * (else $KUASAR_KEEPER_DIR, set by the keeper): where exit statuses of processes outliving a node JVM are kept.
 */
@Component(service = SandboxDriver.class, property = SandboxDriver.SANDBOXER + "=" + WasmEdgeBackend.SANDBOXER)
public class WasmEdgeDriver extends WasmSandboxDriver {
    @Activate
    public WasmEdgeDriver(@Reference TaskEvents events, @Reference HostPaths paths, BundleContext context)
            throws IOException {
        super(new WasmEdgeBackend(WasmEdgeInstall.locate(context.getProperty("kuasar.wasmedge.root")),
                HostFiles.privateDir(paths.runDir(WasmEdgeBackend.SANDBOXER).resolve("containers")),
                keeperDir(context.getProperty("kuasar.keeper.dir"))), events, paths, Duration.ofSeconds(10));
    }

    static Path keeperDir(String property) {
        String v = property == null || property.isBlank() ? System.getenv("KUASAR_KEEPER_DIR") : property;
        return v == null || v.isBlank() ? null : Path.of(v.trim());
    }

    @Deactivate
    public void deactivate() {
        close();
    }
}
