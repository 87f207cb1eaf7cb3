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
 * Sandboxer {@code wasmtime} (CRI handler {@code kuasar-wasmtime}): WASI modules run inside the node on Wasmtime,
 * through the JNI of the engine-wasmtime bundle. As for Chicory, the engine bundle holds the running modules (and
 * the native library), and this bundle only sees the engine API: an upgrade of it leaves them running.
 */
@Component(service = SandboxDriver.class, property = SandboxDriver.SANDBOXER + "=" + WasmtimeDriver.SANDBOXER)
public class WasmtimeDriver extends WasmSandboxDriver {
    static final String SANDBOXER = "wasmtime";

    @Activate
    public WasmtimeDriver(@Reference TaskEvents events, @Reference HostPaths paths,
                          @Reference(target = "(kuasar.wasm.engine=wasmtime)") WasmEngine engine) throws IOException {
        super(new InNodeBackend(SANDBOXER, engine), events, paths, Duration.ofSeconds(10));
    }

    @Deactivate
    public void deactivate() {
        close();
    }
}
