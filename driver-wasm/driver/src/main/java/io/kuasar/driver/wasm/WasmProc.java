package io.kuasar.driver.wasm;

import io.kuasar.driver.kit.ProcessRecord;
import io.kuasar.spi.Stdio;

/** A wasm container's only process, its init (wasm containers have no exec processes). */
final class WasmProc extends ProcessRecord {
    WasmProc(Stdio stdio) {
        super("", stdio);
    }
}
