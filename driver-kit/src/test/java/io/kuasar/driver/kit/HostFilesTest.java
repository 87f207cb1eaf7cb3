package io.kuasar.driver.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostFilesTest {
    @Test
    void privateDirMakesEveryMissingParentPrivateToo(@TempDir Path tmp) throws Exception {
        Path dir = HostFiles.privateDir(tmp.resolve("a/b/c"));
        for (Path p : new Path[] {tmp.resolve("a"), tmp.resolve("a/b"), dir}) {
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(p)), p.toString());
        }
        assertEquals(dir, HostFiles.privateDir(dir), "an existing directory is fine");
    }

    @Test
    void deleteTreeRemovesATreeWithoutFollowingLinks(@TempDir Path tmp) throws Exception {
        Path keep = Files.writeString(tmp.resolve("keep"), "x");
        Path root = Files.createDirectories(tmp.resolve("root/sub"));
        Files.writeString(root.resolve("f"), "y");
        Files.createSymbolicLink(root.resolve("link"), keep);
        HostFiles.deleteTree(tmp.resolve("root"));
        assertFalse(Files.exists(tmp.resolve("root")));
        assertTrue(Files.exists(keep), "what a link points to stays");
        HostFiles.deleteTree(tmp.resolve("root")); // missing is fine
    }

    @Test
    void mountinfoEscapesAreDecodedAndOtherBackslashesKept() {
        assertEquals("/a b", HostFiles.unescape("/a\\040b"));
        assertEquals("/a\\x", HostFiles.unescape("/a\\x"));
        assertEquals("/plain", HostFiles.unescape("/plain"));
    }

    @Test
    void theRootIsAMountPoint() throws Exception {
        assertTrue(HostFiles.isMountPoint(Path.of("/")));
        assertTrue(HostFiles.mountPointsUnder(Path.of("/")).contains("/"));
    }
}
