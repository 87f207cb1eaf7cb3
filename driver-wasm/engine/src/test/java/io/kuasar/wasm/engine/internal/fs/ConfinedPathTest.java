package io.kuasar.wasm.engine.internal.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The confined paths' syntax is the JDK's Unix syntax (Chicory builds its paths with getPath, normalize, resolve
 * and compares toString): every lexical operation is compared with the default file system's on the same text.
 */
class ConfinedPathTest {
    private static final List<String> SAMPLES = List.of("", "/", "a", "/a", "a/b", "/a/b/", "//a//b//", ".", "..",
            "/..", "/../..", "a/..", "a/../..", "../a", "a/./b/../c", "/a/b/../../..", "./a", "a/b/c/d", "a/b/..",
            "/a/./b/./", "...", "a/.../b");

    @TempDir
    Path tmp;
    ConfinedFileSystem fs;

    @BeforeEach
    void open() throws IOException {
        fs = ConfinedFileSystem.open(tmp, Resolution.AUTO);
    }

    @AfterEach
    void close() {
        fs.close();
    }

    private static String s(Object o) {
        return Objects.toString(o);
    }

    @Test
    void lexicalOperationsAreTheJdks() {
        for (String a : SAMPLES) {
            Path j = Path.of(a);
            Path c = fs.getPath(a);
            assertEquals(s(j), s(c), a);
            assertEquals(j.isAbsolute(), c.isAbsolute(), a);
            assertEquals(s(j.normalize()), s(c.normalize()), "normalize " + a);
            assertEquals(s(j.getFileName()), s(c.getFileName()), "getFileName " + a);
            assertEquals(s(j.getParent()), s(c.getParent()), "getParent " + a);
            assertEquals(s(j.getRoot()), s(c.getRoot()), "getRoot " + a);
            assertEquals(j.getNameCount(), c.getNameCount(), "getNameCount " + a);
            for (int i = 0; i < j.getNameCount(); i++) {
                assertEquals(s(j.getName(i)), s(c.getName(i)), "getName " + a);
            }
            for (String b : SAMPLES) {
                Path jb = Path.of(b);
                Path cb = fs.getPath(b);
                assertEquals(s(j.resolve(jb)), s(c.resolve(cb)), a + " resolve " + b);
                assertEquals(j.startsWith(jb), c.startsWith(cb), a + " startsWith " + b);
                assertEquals(j.endsWith(jb), c.endsWith(cb), a + " endsWith " + b);
                if (j.isAbsolute() == jb.isAbsolute() && !a.contains(".") && !b.contains(".")) {
                    assertEquals(s(j.relativize(jb)), s(c.relativize(cb)), a + " relativize " + b);
                }
            }
        }
        assertEquals("a/b/c", fs.getPath("a", "b", "", "c").toString());
    }

    @Test
    void whatChicoryDoesWithAPathStaysLexical() {
        Path dir = fs.root();
        // WasiPreview1.resolvePath: getPath(raw), refuse absolute, normalize, refuse "..", dir.resolve(normalized)
        assertEquals("../x", fs.getPath("a/../../x").normalize().toString());
        assertEquals("/a/b", dir.resolve(fs.getPath("a/./b").normalize().toString()).toString());
        assertEquals("/", dir.resolve("").toString());
        assertThrows(InvalidPathException.class, () -> fs.getPath("a\0b"));
        assertThrows(UnsupportedOperationException.class, () -> dir.toFile());
        assertThrows(UnsupportedOperationException.class, () -> dir.toRealPath());
    }
}
