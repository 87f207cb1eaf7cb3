package io.kuasar.driver.wasm;

import io.kuasar.driver.kit.ProcessRecord;
import io.kuasar.driver.kit.tty.Console;
import io.kuasar.spi.Stdio;

/** A wasm container's only process, its init (wasm containers have no exec processes). */
final class WasmProc extends ProcessRecord {
    /** The terminal of a tty container while this driver instance copies it; null without one (or once lost). */
    volatile Console console;

    WasmProc(Stdio stdio) {
        super("", stdio);
    }
}
