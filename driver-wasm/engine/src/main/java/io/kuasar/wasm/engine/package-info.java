/**
 * The in-JVM WebAssembly engines that driver-wasm's in-node sandboxers run modules on: Chicory (this bundle) and
 * Wasmtime (the engine-wasmtime bundle, whose service carries {@code kuasar.wasm.engine=wasmtime}). Each lives in a
 * bundle of its own that is not replaced when the driver is upgraded: running modules (their threads and instances)
 * belong to the engine, and a new driver instance finds them again by key with
 * {@link io.kuasar.wasm.engine.WasmEngine#find}. Only java.* types cross this API, so the driver's class loader can
 * come and go.
 */
@Version("1.1.0")
@Export
package io.kuasar.wasm.engine;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
