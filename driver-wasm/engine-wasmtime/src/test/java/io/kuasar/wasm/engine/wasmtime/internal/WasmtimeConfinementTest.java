package io.kuasar.wasm.engine.wasmtime.internal;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.wasm.engine.LaunchSpec;
import io.kuasar.wasm.engine.RunOutcome;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The attacks the Chicory engine's confinement tests make, through the C test module on Wasmtime: links in the image
 * (absolute, relative, to a file, to the host's root, in a volume), links made at run time, {@code ..}, reads,
 * writes, mkdir, rename, hard links and listings through them, against a host secret and the host directories around
 * the root. Wasmtime's WASI (cap-std) refuses every link that leaves its preopen, so each attack must fail, the
 * module must never print the secret, and nothing outside the root may change; reads inside show the module ran.
 */
class WasmtimeConfinementTest {
    private static final String SECRET = "HOST-SECRET";

    @TempDir
    Path top;
    Path root;
    Path logs;
    WasmtimeEngine engine;

    @BeforeEach
    void tree() throws IOException {
        logs = Files.createDirectories(top.resolve("logs"));
        Files.writeString(top.resolve("secret"), SECRET);
        Files.createDirectories(top.resolve("hostdir"));
        root = Files.createDirectories(top.resolve("root"));
        Files.createDirectories(root.resolve("etc"));
        Files.writeString(root.resolve("etc/passwd"), "container passwd");
        Files.createSymbolicLink(root.resolve("hostroot"), Path.of("/"));
        Files.createSymbolicLink(root.resolve("abs-out"), top);
        Files.createSymbolicLink(root.resolve("rel-out"), Path.of("../.."));
        Files.createSymbolicLink(root.resolve("file-out"), top.resolve("secret"));
        Files.createSymbolicLink(root.resolve("inside"), Path.of("etc/passwd"));
        Files.createDirectories(root.resolve("mnt/vol"));
        Files.createSymbolicLink(root.resolve("mnt/vol/vol-up"), Path.of("/"));
        Files.createSymbolicLink(root.resolve("mnt/vol/vol-rel"), Path.of("../../../secret"));
        engine = new WasmtimeEngine(WasmtimeEngineTest.freshCacheDir(), 2, 2, 8 << 20);
    }

    @Test
    void noLinkDotDotOrRunTimeLinkLeadsOutOfThePreopens() throws Exception {
        String t = top.toString();
        Map<String, String> outside = snapshotOutsideRoot();
        RunOutcome o = run("attack", "m", "quiet",
                "read", "/etc/passwd", "read", "/inside",
                "read", "/hostroot" + t + "/secret", "read", "/abs-out/secret", "read", "/rel-out/secret",
                "read", "/file-out", "read", "/../secret", "read", "/etc/../../secret",
                "read", "/mnt/vol/vol-up" + t + "/secret", "read", "/mnt/vol/vol-rel", "read", "/mnt/vol/../../secret",
                "write", "/abs-out/planted.txt", "x", "write", "/rel-out/planted.txt", "x",
                "write", "/hostroot" + t + "/hostdir/planted.txt", "x", "write", "/file-out", "overwritten",
                "symlink", t, "/made", "read", "/made/secret", "write", "/made/planted.txt", "x",
                "symlink", "../../secret", "/made-rel", "read", "/made-rel",
                "mkdir", "/abs-out/newdir", "rename", "/etc/passwd", "/abs-out/moved",
                "link", "/file-out", "/hard", "read", "/hard", "ls", "/abs-out", "ls", "/hostroot" + t,
                "unlink", "/abs-out/secret", "touch", "/rel-out/touched", "exit", "0");
        String out = Files.readString(logs.resolve("attack.out"));
        assertAll(() -> assertEquals(0, o.exitCode(), o::toString),
                () -> assertTrue(out.contains("read /etc/passwd: container passwd"), out),
                () -> assertTrue(out.contains("read /inside: container passwd"), "a link inside is followed: " + out),
                () -> assertFalse(out.contains(SECRET), out),
                () -> assertEquals(outside, snapshotOutsideRoot(), "nothing outside the root changed"),
                () -> assertEquals(SECRET, Files.readString(top.resolve("secret"))),
                () -> assertEquals("container passwd", Files.readString(root.resolve("etc/passwd"))));
        for (String attack : List.of("read /hostroot", "read /abs-out", "read /rel-out", "read /file-out",
                "read /../secret", "read /etc/../../secret", "read /mnt/vol/vol-up", "read /mnt/vol/vol-rel",
                "read /mnt/vol/../../secret", "write /abs-out", "write /rel-out", "write /hostroot", "write /file-out",
                "read /made/secret", "write /made/", "read /made-rel", "read /hard")) {
            assertTrue(out.lines().anyMatch(l -> l.startsWith(attack) && l.contains("failed")),
                    () -> "\"" + attack + "\" did not fail: " + out);
        }
        for (String attack : List.of("mkdir /abs-out", "rename /abs-out", "ls /abs-out", "ls /hostroot",
                "unlink /abs-out", "touch /rel-out")) {
            assertTrue(out.lines().anyMatch(l -> l.startsWith(attack) && l.contains("failed")),
                    () -> "\"" + attack + "\" did not fail: " + out);
        }
    }

    private RunOutcome run(String key, String... args) throws Exception {
        Path module = logs.resolve("wasm-test.wasm");
        try (InputStream in = getClass().getResourceAsStream("/wasm-test.wasm")) {
            Files.copy(in, module);
        }
        Map<String, Path> pre = new LinkedHashMap<>();
        pre.put("/", root);
        pre.put("/mnt/vol", root.resolve("mnt/vol"));
        LaunchSpec spec = new LaunchSpec(key, module, List.of(args), Map.of(), pre, "",
                logs.resolve(key + ".out").toString(), logs.resolve(key + ".err").toString(), 0);
        return engine.launch(spec).outcome().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    /** Every entry under the test's top directory but the root and the logs: kind, size, mtime. */
    private Map<String, String> snapshotOutsideRoot() throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(top)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (p.startsWith(root) || p.startsWith(logs)) {
                    continue;
                }
                m.put(top.relativize(p).toString(), (Files.isSymbolicLink(p) ? "link" : Files.isDirectory(p,
                        LinkOption.NOFOLLOW_LINKS) ? "dir" : "file") + " " + Files.size(p) + " "
                        + Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS));
            }
        }
        return m;
    }
}
