package io.kuasar.wasm.engine.wasmtime.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Wasmtime engine against the real test module (src/test/resources/wasm-test.wasm: driver-wasm/testdata's
 * wasm-test.c and wasm-test-fs.c as scripts/images.d/wasm.sh builds them). Waits are generous bounds.
 */
class WasmtimeEngineTest {
    @TempDir
    Path dir;
    Path module;
    WasmtimeEngine engine;
    Path cache;

    @BeforeEach
    void setUp() throws IOException {
        module = dir.resolve("wasm-test.wasm");
        try (InputStream in = getClass().getResourceAsStream("/wasm-test.wasm")) {
            Files.copy(in, module);
        }
        cache = freshCacheDir();
        engine = new WasmtimeEngine(cache, 4, 4, 8 << 20);
    }

    /**
     * Wasmtime's compilation cache, outside the JUnit temp dir: its background worker writes usage statistics after
     * a run, which would race the temp dir's deletion. Under target/, so `mvn clean` removes it.
     */
    static Path freshCacheDir() throws IOException {
        return Files.createTempDirectory(Files.createDirectories(Path.of("target", "wasmtime-cache")), "test-");
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

    @Test
    void printsArgsAndEnvAndExitsWithItsCode() throws Exception {
        RunOutcome o = await(engine.launch(spec("a", 0, Map.of(), "/wasm-test.wasm", "hello", "exit", "7")));
        assertEquals(new RunOutcome(7, RunOutcome.Reason.EXITED, "", o.exitedAt()), o);
        String out = out("a");
        assertTrue(out.contains("arg[0]=/wasm-test.wasm") && out.contains("arg[2]=exit"), out);
        assertTrue(out.contains("env GREETING=hi there") && out.contains("hello\n"), out);
        assertEquals(0, await(engine.launch(spec("b", 0, Map.of(), "m", "quiet", "hello"))).exitCode());
    }

    @Test
    void aModuleIsCheckedOnceAndItsCodeCompiledOncePerDigest() throws Exception {
        String digest = engine.prepare(module);
        Path copy = Files.copy(module, dir.resolve("copy.wasm"));
        assertEquals(digest, engine.prepare(copy), "same content, same digest");
        assertTrue(engine.describe().contains("1 prepared"), engine.describe());
        try (var files = Files.walk(cache.resolve("compiled/modules"))) {
            assertEquals(1, files.filter(f -> Files.isRegularFile(f) && !f.getFileName().toString().contains("."))
                    .count(),
                    "one compiled module in Wasmtime's cache");
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {9, 15})
    void killEndsAnEndlessLoopPromptly(int signal) throws Exception {
        WasmRun run = engine.launch(spec("loop", 0, Map.of(), "m", "quiet", "loop"));
        waitForOutput("loop", "looping");
        long t0 = System.nanoTime();
        run.kill(signal);
        RunOutcome o = await(run);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(128 + signal, o.exitCode());
        assertEquals(RunOutcome.Reason.KILLED, o.reason());
        assertTrue(ms < WasmtimeRun.KILL_GRACE.toMillis(), "ended by the epoch, not the grace: " + ms + " ms");
        assertTrue(run.cpuNanos() > 0, "cpu time of the spinning thread");
    }

    @Test
    void aKillOfAModuleInAWasiSleepIsReportedAfterTheGraceAndItsMemoryIsReadWhileItRuns() throws Exception {
        WasmRun sleep = engine.launch(spec("s", 0, Map.of(), "m", "quiet", "alloc", "4", "sleep", "3600"));
        waitForOutput("s", "sleeping");
        long t0 = System.nanoTime();
        long bytes = sleep.memoryBytes();
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(1), "read without waiting for the module");
        assertTrue(bytes >= 4L << 20 && bytes < 64L << 20, "linear memory of a module that allocated 4 MiB: " + bytes);
        sleep.kill(15);
        assertEquals(143, await(sleep).exitCode());
        assertTrue(engine.describe().contains("still in a WASI call"), engine.describe());
    }

    /** containerd reads a container's FIFO until its last writer closes it; a killed sleeper must not hold it. */
    @Test
    void aKilledModuleInAWasiSleepClosesItsOutputFifo() throws Exception {
        Path fifo = dir.resolve("fifo.out");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        StringBuilder got = new StringBuilder();
        Thread reader = new Thread(() -> {
            try (InputStream in = Files.newInputStream(fifo)) {
                for (int c; (c = in.read()) >= 0; ) {
                    synchronized (got) {
                        got.append((char) c);
                    }
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        reader.start();
        WasmRun run = engine.launch(new LaunchSpec("f", module, List.of("m", "quiet", "sleep", "3600"), Map.of(),
                Map.of(), "", fifo.toString(), "", 0));
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!got.toString().contains("sleeping") && System.nanoTime() < end) {
            Thread.sleep(20);
        }
        run.kill(9);
        assertEquals(137, await(run).exitCode());
        reader.join(3000);
        assertFalse(reader.isAlive(), "the reader saw the end of the FIFO; it got: " + got);
    }

    @Test
    void theMemoryLimitCapsLinearMemoryAndGrowthPastItIsRefused() throws Exception {
        WasmRun run = engine.launch(spec("cap", 16L << 20, Map.of(), "m", "quiet", "alloc", "64"));
        RunOutcome o = await(run);
        assertEquals(12, o.exitCode(), () -> "the module's own exit when malloc fails: " + o);
        String out = out("cap");
        assertTrue(out.contains("alloc failed at") && !out.contains("allocated all"), out);
        assertTrue(run.memoryBytes() <= 16L << 20 && run.memoryBytes() >= 8L << 20,
                "peak linear memory up to the limit: " + run.memoryBytes());
        RunOutcome fits = await(engine.launch(spec("fits", 64L << 20, Map.of(), "m", "quiet", "alloc", "8")));
        assertEquals(0, fits.exitCode(), fits::toString);
        RunOutcome free = await(engine.launch(spec("free", 0, Map.of(), "m", "quiet", "alloc", "64")));
        assertEquals(0, free.exitCode(), "no limit, no cap: " + free);
    }

    @Test
    void trapsAndStackExhaustionEndOnlyTheirModule() throws Exception {
        RunOutcome trap = await(engine.launch(spec("trap", 0, Map.of(), "m", "quiet", "trap")));
        assertEquals(134, trap.exitCode(), trap::toString);
        assertEquals(RunOutcome.Reason.TRAPPED, trap.reason());
        assertTrue(Files.readString(dir.resolve("trap.err")).startsWith("kuasar-wasmtime: trap"), "reason in stderr");
        RunOutcome deep = await(engine.launch(spec("deep", 0, Map.of(), "m", "quiet", "recurse")));
        assertEquals(134, deep.exitCode(), deep::toString);
        assertTrue(deep.message().contains("call stack exhausted"), deep::toString);
        assertEquals(0, await(engine.launch(spec("after", 0, Map.of(), "m", "quiet", "hello"))).exitCode());
    }

    @Test
    void preopenedDirectoriesAreReadAndWritten() throws Exception {
        Path in = Files.createDirectories(dir.resolve("in"));
        Path outDir = Files.createDirectories(dir.resolve("out"));
        Files.writeString(in.resolve("input.txt"), "from the host");
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
        InvalidModuleException e = assertThrows(InvalidModuleException.class, () -> engine.prepare(bad));
        assertTrue(e.getMessage().contains(bad.toString()) && e.getMessage().contains("not a WebAssembly"),
                e.getMessage());
    }

    @Test
    void aModuleWithoutStartOrWithForeignImportsIsRefused() throws Exception {
        // (module (func (export "main"))) and (module (import "env" "f" (func)) (func (export "_start")))
        Path noStart = Files.write(dir.resolve("lib.wasm"), new byte[] {0, 'a', 's', 'm', 1, 0, 0, 0,
                1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 7, 8, 1, 4, 'm', 'a', 'i', 'n', 0, 0, 10, 4, 1, 2, 0, 11});
        InvalidModuleException e = assertThrows(InvalidModuleException.class, () -> engine.prepare(noStart));
        assertTrue(e.getMessage().contains("exports no _start"), e.getMessage());
        Path foreign = Files.write(dir.resolve("env.wasm"), new byte[] {0, 'a', 's', 'm', 1, 0, 0, 0,
                1, 4, 1, 0x60, 0, 0, 2, 9, 1, 3, 'e', 'n', 'v', 1, 'f', 0, 0, 3, 2, 1, 0,
                7, 10, 1, 6, '_', 's', 't', 'a', 'r', 't', 0, 1, 10, 4, 1, 2, 0, 11});
        e = assertThrows(InvalidModuleException.class, () -> engine.prepare(foreign));
        assertTrue(e.getMessage().contains("imports env.f"), e.getMessage());
    }

    @Test
    void theRunningLimitIsEnforcedAndFreedAtTheEnd() throws Exception {
        WasmtimeEngine one = new WasmtimeEngine(cache, 1, 4, 8 << 20);
        WasmRun first = one.launch(spec("one", 0, Map.of(), "m", "quiet", "loop"));
        waitForOutput("one", "looping");
        assertThrows(RejectedExecutionException.class, () -> one.launch(spec("two", 0, Map.of(), "m", "quiet")));
        first.kill(9);
        await(first);
        assertEquals(0, await(one.launch(spec("three", 0, Map.of(), "m", "quiet", "hello"))).exitCode());
        assertEquals(first, one.find("one").orElseThrow());
        one.release("one");
        assertTrue(one.find("one").isEmpty());
    }

    @Test
    void aReadOnlyMountIsReadButNotWritten() throws Exception {
        Path ro = Files.createDirectories(dir.resolve("ro"));
        Files.writeString(ro.resolve("input.txt"), "read-only content");
        org.junit.jupiter.api.Assumptions.assumeTrue(sh("mount --bind " + ro + " " + ro) == 0,
                "making a read-only bind mount needs root (CAP_SYS_ADMIN)");
        try {
            assertEquals(0, sh("mount -o remount,ro,bind " + ro), "remount read-only");
            RunOutcome o = await(engine.launch(spec("ro", 0, Map.of("/mnt/ro", ro), "m", "quiet",
                    "read", "/mnt/ro/input.txt", "write", "/mnt/ro/nope.txt", "x", "mkdir", "/mnt/ro/d")));
            String out = out("ro");
            assertEquals(0, o.exitCode(), () -> o + " " + out);
            assertTrue(out.contains("read /mnt/ro/input.txt: read-only content"), out);
            assertTrue(out.contains("write /mnt/ro/nope.txt: failed") && out.contains("mkdir /mnt/ro/d: failed"), out);
        } finally {
            sh("umount " + ro);
        }
    }

    private static int sh(String command) throws Exception {
        return new ProcessBuilder("/bin/sh", "-c", command + " 2>/dev/null").start().waitFor();
    }

    @Test
    void aPreopenReachedThroughASymbolicLinkIsRefused() throws Exception {
        Path real = Files.createDirectories(dir.resolve("real"));
        Path link = Files.createSymbolicLink(dir.resolve("link"), real);
        RunOutcome o = await(engine.launch(spec("via", 0, Map.of("/", link), "m", "quiet", "hello")));
        assertEquals(RunOutcome.Reason.FAILED, o.reason(), o::toString);
        assertTrue(o.message().contains("symbolic link"), o.message());
        assertFalse(Files.exists(dir.resolve("via.out")), "the module did not run");
    }

    /**
     * What a driver upgrade would do if the driver held Wasmtime classes, and what an update of this bundle does:
     * load them in another class loader. wasmtime-java extracts its JNI library to a new temp file per class loader,
     * so the JVM's "already loaded in another classloader" refusal (same file, two loaders) never applies.
     */
    @Test
    void anotherClassLoaderLoadsItsOwnCopyOfTheJniLibrary() throws Exception {
        new io.github.kawamuray.wasmtime.Engine().dispose(); // this loader's copy first
        // wasmtime-java's own jar (its classes are also in target/classes, bnd's output, without the library)
        java.net.URL wasmtimeJar = java.util.Arrays.stream(System.getProperty("java.class.path")
                .split(java.io.File.pathSeparator)).filter(p -> p.contains("wasmtime-java")).findFirst()
                .map(p -> {
                    try {
                        return Path.of(p).toUri().toURL();
                    } catch (java.net.MalformedURLException e) {
                        throw new IllegalStateException(e);
                    }
                }).orElseThrow();
        java.net.URL[] jars = {wasmtimeJar, location(org.slf4j.LoggerFactory.class),
                location(org.slf4j.impl.StaticLoggerBinder.class)};
        for (int i = 0; i < 2; i++) {
            try (java.net.URLClassLoader loader = new java.net.URLClassLoader(jars,
                    ClassLoader.getPlatformClassLoader())) {
                Class<?> engineClass = loader.loadClass("io.github.kawamuray.wasmtime.Engine");
                assertFalse(engineClass == io.github.kawamuray.wasmtime.Engine.class, "a class of the other loader");
                Object other = engineClass.getConstructor().newInstance();
                engineClass.getMethod("dispose").invoke(other);
            }
        }
        assertEquals(0, await(engine.launch(spec("still", 0, Map.of(), "m", "quiet", "hello"))).exitCode());
    }

    private static java.net.URL location(Class<?> c) {
        return c.getProtectionDomain().getCodeSource().getLocation();
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
