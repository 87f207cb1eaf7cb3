package io.kuasar.driver.wasm;

import io.kuasar.spi.HostPaths;
import io.kuasar.spi.SandboxDriver;
import io.kuasar.spi.TaskEvents;
import io.kuasar.wasm.engine.WasmEngine;
import java.io.IOException;
import java.time.Duration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

/**
 * Sandboxer {@code wasm} (CRI handler {@code kuasar-wasm}): WASI modules run inside the node on Chicory. The
 * engine is a service of the engine bundle, which an upgrade of this bundle leaves running.
 */
@Component(service = SandboxDriver.class, property = SandboxDriver.SANDBOXER + "=" + ChicoryDriver.SANDBOXER)
public class ChicoryDriver extends WasmSandboxDriver {
    static final String SANDBOXER = "wasm";
    /**
     * The Chicory engine: the engine service that is not Wasmtime's. (The Chicory engine bundle registers its
     * service without an engine name, and an installed engine bundle is never replaced, so it is not asked to.)
     */
    static final String ENGINE = "(!(kuasar.wasm.engine=wasmtime))";

    @Activate
    public ChicoryDriver(@Reference TaskEvents events, @Reference HostPaths paths,
                         @Reference(target = ENGINE) WasmEngine engine) throws IOException {
        super(new InNodeBackend(SANDBOXER, engine), events, paths, Duration.ofSeconds(10));
    }

    @Deactivate
    public void deactivate() {
        close();
    }
}
