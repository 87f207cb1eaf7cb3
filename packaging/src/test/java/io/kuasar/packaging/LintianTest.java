package io.kuasar.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * lintian on the built package: no error and no warning, pedantic and experimental tags shown. Tags that do not
 * apply are overridden in packaging/deb/debian/lintian-overrides, each under a comment saying why.
 */
class LintianTest {
    private static final Path OVERRIDES = Path.of(System.getProperty("kuasar.repo", ".."),
            "packaging/deb/debian/lintian-overrides");

    @Test
    void lintianFindsNothing() throws IOException {
        Assumptions.assumeTrue(Run.has("lintian"), "lintian is not installed (scripts/deps.d/package.sh installs it)");
        Run run = Run.of("lintian", "--fail-on", "error,warning", "--display-info", "--pedantic", "--display-experimental",
                "--no-tag-display-limit", DebPackage.built().file().toString());
        List<String> findings = run.output().lines().filter(l -> l.matches("^[EWIPX]: .*")).toList();
        assertEquals(List.of(), findings, "lintian:\n" + run.output());
        assertEquals(0, run.exit(), "lintian:\n" + run.output());
    }

    @Test
    void everyOverrideSaysWhy() throws IOException {
        // An override, or a run of them, stands right under the comment that says why.
        boolean explained = false;
        int overrides = 0;
        for (String raw : Files.readAllLines(OVERRIDES)) {
            String line = raw.strip();
            if (line.startsWith("#")) {
                explained = true;
            } else if (line.isEmpty()) {
                explained = false;
            } else {
                assertTrue(explained, "a comment says why: " + line);
                overrides++;
            }
        }
        assertTrue(overrides > 0, "overrides read from " + OVERRIDES);
    }
}
