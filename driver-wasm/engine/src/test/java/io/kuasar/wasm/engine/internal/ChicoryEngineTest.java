package io.kuasar.wasm.engine.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.wasm.engine.InvalidModuleException;
import io.kuasar.wasm.engine.LaunchSpec;
import io.kuasar.wasm.engine.RunOutcome;
import io.kuasar.wasm.engine.WasmRun;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The engine against the real test module (src/test/resources/wasm-test.wasm, built from
 * driver-wasm/testdata/wasm-test.c by scripts/images.d/wasm.sh), compiled and interpreted. Waits are generous
 * bounds, not speed assertions.
 */
class ChicoryEngineTest {
    @TempDir
    Path dir;
    Path module;

    @BeforeEach
    void copyModule() throws IOException {
        module = dir.resolve("wasm-test.wasm");
        try (InputStream in = getClass().getResourceAsStream("/wasm-test.wasm")) {
            Files.copy(in, module);
        }
    }

    private LaunchSpec spec(String key, long limit, Map<String, Path> preopens, String... args) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("GREETING", "hi there");
        return new LaunchSpec(key, module, List.of(args), env, preopens, "", dir.resolve(key + ".out").toString(),
                dir.resolve(key + ".err").toString(), limit);
    }

    private static RunOutcome await(WasmRun run) throws Exception {
        return run.outcome().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    private String out(String key) throws IOException {
        return Files.readString(dir.resolve(key + ".out"));
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void printsArgsAndEnvAndExitsWithItsCode(boolean compiled) throws Exception {
        ChicoryEngine engine = new ChicoryEngine(compiled, 4, 4, 1 << 20);
        RunOutcome o = await(engine.launch(spec("a", 0, Map.of(), "/wasm-test.wasm", "hello", "exit", "7")));
        assertEquals(new RunOutcome(7, RunOutcome.Reason.EXITED, "", o.exitedAt()), o);
        String out = out("a");
        assertTrue(out.contains("arg[0]=/wasm-test.wasm") && out.contains("arg[2]=exit"), out);
        assertTrue(out.contains("env GREETING=hi there") && out.contains("hello\n"), out);
    }

    @ParameterizedTest
    @ValueSource(ints = {9, 15})
    void killEndsAnEndlessLoop(int signal) throws Exception {
        ChicoryEngine engine = new ChicoryEngine(true, 4, 4, 1 << 20);
        WasmRun run = engine.launch(spec("loop", 0, Map.of(), "m", "quiet", "loop"));
        waitForOutput("loop", "looping");
        run.kill(signal);
        RunOutcome o = await(run);
        assertEquals(128 + signal, o.exitCode());
        assertEquals(RunOutcome.Reason.KILLED, o.reason());
        assertTrue(run.cpuNanos() > 0, "cpu time of the spinning thread");
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void killEndsALoopAndASleep(boolean compiled) throws Exception {
        ChicoryEngine engine = new ChicoryEngine(compiled, 4, 4, 1 << 20);
        WasmRun loop = engine.launch(spec("l", 0, Map.of(), "m", "quiet", "loop"));
        WasmRun sleep = engine.launch(spec("s", 0, Map.of(), "m", "quiet", "sleep", "3600"));
        waitForOutput("l", "looping");
        waitForOutput("s", "sleeping");
        loop.kill(9);
        sleep.kill(15);
        assertEquals(137, await(loop).exitCode());
        assertEquals(143, await(sleep).exitCode());
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void growingPastTheLimitIsAnOomKill(boolean compiled) throws Exception {
        ChicoryEngine engine = new ChicoryEngine(compiled, 4, 4, 1 << 20);
        WasmRun run = engine.launch(spec("oom", 16L << 20, Map.of(), "m", "quiet", "alloc", "64"));
        RunOutcome o = await(run);
        assertEquals(137, o.exitCode(), o::toString);
        assertEquals(RunOutcome.Reason.OOM_KILLED, o.reason());
        assertTrue(o.message().contains("memory limit"), o.message());
        assertTrue(run.memoryBytes() <= 16L << 20, "peak linear memory within the limit: " + run.memoryBytes());
        assertTrue(Files.readString(dir.resolve("oom.err")).contains("kuasar-wasm: memory.grow"), "reason in stderr");
        RunOutcome fits = await(engine.launch(spec("fits", 64L << 20, Map.of(), "m", "quiet", "alloc", "8")));
        assertEquals(0, fits.exitCode(), fits::toString);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void trapsAndStackExhaustionEndOnlyTheirModule(boolean compiled) throws Exception {
        ChicoryEngine engine = new ChicoryEngine(compiled, 4, 4, 1 << 20);
        RunOutcome trap = await(engine.launch(spec("trap", 0, Map.of(), "m", "quiet", "trap")));
        assertEquals(134, trap.exitCode(), trap::toString);
        assertEquals(RunOutcome.Reason.TRAPPED, trap.reason());
        assertTrue(Files.readString(dir.resolve("trap.err")).startsWith("kuasar-wasm: trap"), "reason in stderr");
        RunOutcome deep = await(engine.launch(spec("deep", 0, Map.of(), "m", "quiet", "recurse")));
        assertEquals(134, deep.exitCode(), deep::toString);
        assertEquals(RunOutcome.Reason.TRAPPED, deep.reason());
        assertEquals(0, await(engine.launch(spec("after", 0, Map.of(), "m", "quiet", "hello"))).exitCode());
    }

    @org.junit.jupiter.api.Test
    void theNodesHeapBudgetEndsAModuleWithoutLimitAndIsGivenBack() throws Exception {
        HeapBudget budget = new HeapBudget(8L << 20);
        ChicoryEngine engine = new ChicoryEngine(true, 4, 4, 1 << 20, budget);
        RunOutcome o = await(engine.launch(spec("big", 0, Map.of(), "m", "quiet", "alloc", "32")));
        assertEquals(RunOutcome.Reason.OOM_KILLED, o.reason(), o::toString);
        assertTrue(o.message().contains("heap budget"), o.message());
        assertEquals(0, budget.usedBytes(), "all given back once the module ended");
        assertEquals(0, await(engine.launch(spec("small", 0, Map.of(), "m", "quiet", "alloc", "2"))).exitCode());
        assertEquals(0, budget.usedBytes());
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void preopenedDirectoriesAreReadAndWritten(boolean compiled) throws Exception {
        Path in = Files.createDirectories(dir.resolve("in"));
        Path outDir = Files.createDirectories(dir.resolve("out"));
        Files.writeString(in.resolve("input.txt"), "from the host");
        ChicoryEngine engine = new ChicoryEngine(compiled, 4, 4, 1 << 20);
        Map<String, Path> pre = new LinkedHashMap<>();
        pre.put("/mnt/in", in);
        pre.put("/mnt/out", outDir);
        RunOutcome o = await(engine.launch(spec("io", 0, pre, "m", "quiet", "read", "/mnt/in/input.txt",
                "write", "/mnt/out/result.txt", "written-by-wasm")));
        assertEquals(0, o.exitCode(), o::toString);
        assertTrue(out("io").contains("read /mnt/in/input.txt: from the host"), out("io"));
        assertEquals("written-by-wasm", Files.readString(outDir.resolve("result.txt")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"garbage", "empty"})
    void aCorruptModuleIsRefusedNamingTheFile(String kind) throws Exception {
        Path bad = dir.resolve("corrupt.wasm");
        Files.writeString(bad, kind.equals("empty") ? "" : "this is not a WebAssembly module\n");
        ChicoryEngine engine = new ChicoryEngine(true, 4, 4, 1 << 20);
        InvalidModuleException e = assertThrows(InvalidModuleException.class, () -> engine.prepare(bad));
        assertTrue(e.getMessage().contains(bad.toString()) && e.getMessage().contains("not a valid WebAssembly"),
                e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(ints = {1})
    void theRunningLimitIsEnforcedAndFreedAtTheEnd(int max) throws Exception {
        ChicoryEngine engine = new ChicoryEngine(true, max, 4, 1 << 20);
        WasmRun first = engine.launch(spec("one", 0, Map.of(), "m", "quiet", "sleep", "3600"));
        waitForOutput("one", "sleeping");
        assertThrows(java.util.concurrent.RejectedExecutionException.class,
                () -> engine.launch(spec("two", 0, Map.of(), "m", "quiet", "hello")));
        first.kill(9);
        await(first);
        assertEquals(0, await(engine.launch(spec("three", 0, Map.of(), "m", "quiet", "hello"))).exitCode());
        assertEquals(first, engine.find("one").orElseThrow());
        engine.release("one");
        assertTrue(engine.find("one").isEmpty());
    }

    private void waitForOutput(String key, String needle) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < end) {
            Path f = dir.resolve(key + ".out");
            if (Files.exists(f) && Files.readString(f).contains(needle)) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no \"" + needle + "\" from " + key);
    }
}
