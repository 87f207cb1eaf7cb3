/**
 * The in-JVM WebAssembly engine that driver-wasm's Chicory sandboxer runs modules on. It lives in a bundle of its
 * own that is not replaced when the driver is upgraded: running modules (their threads and instances) belong to
 * the engine, and a new driver instance finds them again by key with {@link io.kuasar.wasm.engine.WasmEngine#find}.
 * Only java.* types cross this API, so the driver's class loader can come and go.
 */
@Version("1.0.0")
@Export
package io.kuasar.wasm.engine;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
