import io.kuasar.wasm.engine.LaunchSpec;
import io.kuasar.wasm.engine.RunOutcome;
import io.kuasar.wasm.engine.WasmEngine;
import io.kuasar.wasm.engine.WasmRun;
import io.kuasar.wasm.engine.internal.ChicoryEngine;
import io.kuasar.wasm.engine.wasmtime.internal.WasmtimeEngine;
import java.io.FileInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * bench/wasm.sh's engine figures, outside containerd: start-to-first-output of the test module's "hello" and the
 * run time of its "compute N" on Chicory (compiled and interpreted) and Wasmtime (JNI), inside this JVM as the node
 * runs them, and on WasmEdge (a process per run, as the wasmedge sandboxer runs it). First output is the first byte
 * read from a FIFO the module's stdout goes to, timed from the launch call (in-JVM engines) or the spawn (WasmEdge).
 * WasmEdge runs the module as is (its interpreter) and, when AOT_MODULE is given, its ahead-of-time compiled copy
 * (made with `wasmedge compile`).
 * Usage: java -cp ENGINE_CLASSPATH WasmEngineBench.java MODULE WASMEDGE_WRAPPER RUNS COMPUTE_ROUNDS [AOT_MODULE]
 */
public class WasmEngineBench {
    public static void main(String[] a) throws Exception {
        Path module = Path.of(a[0]);
        String wasmedge = a[1];
        int runs = Integer.parseInt(a[2]);
        long rounds = Long.parseLong(a[3]);
        Path tmp = Files.createTempDirectory("wasm-bench");
        for (String mode : List.of("chicory-compiled", "chicory-interpreted", "wasmtime")) {
            boolean compiled = !mode.equals("chicory-interpreted");
            WasmEngine engine = mode.equals("wasmtime")
                    ? new WasmtimeEngine(Files.createTempDirectory("wasmtime-cache"), 8, 4, 8 << 20)
                    : new ChicoryEngine(compiled, 8, 4, 4 << 20);
            long t0 = System.nanoTime();
            engine.prepare(module);
            double prepareMs = (System.nanoTime() - t0) / 1e6;
            List<Double> first = new ArrayList<>();
            for (int i = 0; i < runs; i++) {
                first.add(chicoryFirstOutput(engine, module, tmp, "h" + mode + i));
            }
            System.out.printf("%s prepare_ms %.1f%n", mode, prepareMs);
            System.out.printf("%s first_run_ms %.2f%n", mode, first.get(0));
            report(mode + " hello_first_output_ms", first.subList(Math.min(5, runs - 1), runs));
            long c0 = System.nanoTime();
            RunOutcome o = engine.launch(spec("c" + mode, module, tmp.resolve("c.out").toString(),
                    "m", "quiet", "compute", Long.toString(compiled ? rounds : rounds / 10))).outcome()
                    .toCompletableFuture().get(10, TimeUnit.MINUTES);
            double ms = (System.nanoTime() - c0) / 1e6;
            System.out.printf("%s compute_ms %.0f (rounds %d, exit %d)%n", mode, ms, compiled ? rounds : rounds / 10,
                    o.exitCode());
        }
        List<String> variants = new ArrayList<>(List.of("wasmedge", module.toString()));
        if (a.length > 4) {
            variants.addAll(List.of("wasmedge-aot", a[4]));
        }
        for (int v = 0; v < variants.size(); v += 2) {
            String name = variants.get(v);
            String file = variants.get(v + 1);
            List<Double> edge = new ArrayList<>();
            for (int i = 0; i < Math.min(runs, 20); i++) {
                edge.add(processFirstOutput(List.of(wasmedge, file, "quiet", "hello")));
            }
            report(name + " hello_first_output_ms", edge);
            long c0 = System.nanoTime();
            Process p = new ProcessBuilder(wasmedge, file, "quiet", "compute", Long.toString(rounds))
                    .redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            p.waitFor();
            System.out.printf("%s compute_ms %.0f (rounds %d, exit %d)%n", name, (System.nanoTime() - c0) / 1e6,
                    rounds, p.exitValue());
        }
    }

    static LaunchSpec spec(String key, Path module, String out, String... args) {
        return new LaunchSpec(key, module, List.of(args), Map.of(), Map.of(), "", out, "", 0);
    }

    static double chicoryFirstOutput(WasmEngine engine, Path module, Path tmp, String key) throws Exception {
        Path fifo = tmp.resolve(key + ".fifo");
        new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor();
        long[] firstByteAt = new long[1];
        Thread reader = new Thread(() -> {
            try (InputStream in = new FileInputStream(fifo.toFile())) {
                if (in.read() >= 0) {
                    firstByteAt[0] = System.nanoTime();
                }
                byte[] drain = new byte[4096];
                while (in.read(drain) >= 0) {
                    // to the end (FileInputStream.readAllBytes seeks, which a FIFO refuses)
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        reader.start();
        long t0 = System.nanoTime();
        WasmRun run = engine.launch(spec(key, module, fifo.toString(), "m", "quiet", "hello"));
        reader.join();
        run.outcome().toCompletableFuture().get(1, TimeUnit.MINUTES);
        engine.release(key);
        Files.delete(fifo);
        return (firstByteAt[0] - t0) / 1e6;
    }

    static double processFirstOutput(List<String> argv) throws Exception {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(argv).start();
        InputStream in = p.getInputStream();
        in.read();
        double ms = (System.nanoTime() - t0) / 1e6;
        in.readAllBytes();
        p.waitFor();
        return ms;
    }

    static void report(String what, List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        Collections.sort(s);
        System.out.printf("%s median %.2f p90 %.2f (n=%d)%n", what, s.get(s.size() / 2),
                s.get(Math.min(s.size() - 1, (int) Math.ceil(s.size() * 0.9) - 1)), s.size());
    }
}
