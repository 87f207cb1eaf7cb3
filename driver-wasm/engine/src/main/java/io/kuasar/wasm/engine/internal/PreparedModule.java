package io.kuasar.wasm.engine.internal;

import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Machine;
import com.dylibso.chicory.wasm.WasmModule;
import java.util.function.Function;

/**
 * A parsed module and how its code runs: {@code machines} is Chicory's compiler output (JVM bytecode made once per
 * module and shared by every instance) or null for the interpreter.
 */
record PreparedModule(String digest, WasmModule module, Function<Instance, Machine> machines, long prepareNanos) {
}
