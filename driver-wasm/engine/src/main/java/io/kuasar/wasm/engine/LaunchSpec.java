package io.kuasar.wasm.engine;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What to run.
 *
 * @param key              unique name of the run (the driver uses {@code sandbox/container})
 * @param module           the .wasm file
 * @param args             argv, args[0] included
 * @param env              the WASI environment, in order
 * @param preopens         WASI preopened directories: guest path to host directory
 * @param stdin            file or FIFO to read stdin from; empty: none
 * @param stdout           file or FIFO stdout is appended to; empty: discarded
 * @param stderr           same for stderr
 * @param memoryLimitBytes cap on the module's linear memory, 0: none. Growing past it: on Chicory a trap that ends
 *                         the run as OOM; on Wasmtime memory.grow returns -1 (the cap is the memory's maximum)
 */
public record LaunchSpec(String key, Path module, List<String> args, Map<String, String> env,
                         Map<String, Path> preopens, String stdin, String stdout, String stderr,
                         long memoryLimitBytes) {
    public LaunchSpec {
        args = List.copyOf(args);
        env = new LinkedHashMap<>(env);
        preopens = new LinkedHashMap<>(preopens);
        stdin = stdin == null ? "" : stdin;
        stdout = stdout == null ? "" : stdout;
        stderr = stderr == null ? "" : stderr;
    }
}
