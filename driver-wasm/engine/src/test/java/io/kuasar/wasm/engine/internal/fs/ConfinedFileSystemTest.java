package io.kuasar.wasm.engine.internal.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AccessMode;
import java.nio.file.ClosedFileSystemException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every java.nio operation Chicory's WASI layer performs, through the links of {@link Fixture}, with openat2 and
 * with the component walk: each lands in the root (on the decoys where the links point out), and the outside tree
 * is untouched after every test.
 */
class ConfinedFileSystemTest {
    @TempDir
    Path tmp;
    Fixture f;
    Outside outside;
    ConfinedFileSystem fs;

    @BeforeEach
    void tree() throws IOException {
        f = new Fixture(tmp);
        outside = Outside.of(f.tmp, f.root);
    }

    @AfterEach
    void nothingOutsideChanged() throws IOException {
        if (fs != null) {
            fs.close();
        }
        outside.assertUntouched();
    }

    private Path p(Resolution mode, String path) throws IOException {
        if (fs == null) {
            fs = f.open(mode);
        }
        return fs.getPath(path);
    }

    private String read(Path p) throws IOException {
        byte[] b = Files.readAllBytes(p);
        Outside.assertNotSecret(b, p.toString());
        return new String(b);
    }

    private Map<String, Object> unix(Path p, LinkOption... o) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:*", o);
        outside.assertNotOutside(Outside.key(a), p.toString());
        return a;
    }

    private long ino(Path host) throws IOException {
        return (Long) Files.getAttribute(host, "unix:ino", LinkOption.NOFOLLOW_LINKS);
    }

    @ParameterizedTest
    @EnumSource(value = Resolution.class, names = {"OPENAT2", "WALK"})
    void linksOutOfTheRootResolveInsideIt(Resolution m) throws IOException {
        assertEquals("decoy secret", read(p(m, "/hostroot" + f.out + "/secret")));
        assertEquals("decoy secret", read(p(m, "/up" + f.out + "/secret")));
        assertEquals("decoy secret", read(p(m, "/abs-out/secret")));
        assertEquals("decoy secret", read(p(m, "/file-out")));
        assertEquals("decoy inner", read(p(m, "/hostroot/hostroot/up/abs-out/dir/../dir/inner")));
        assertEquals("decoy2 secret", read(p(m, "/escape/secret")));
        assertEquals("decoy2 secret", read(p(m, "/dir/deep/link-up")));
        assertEquals("decoy2 secret", read(p(m, "/../../outside/secret")));
        assertEquals("decoy2 secret", read(p(m, "../outside/secret")));
        assertEquals("container passwd", read(p(m, "/chain1")));
        assertEquals("container passwd", read(p(m, "/up/../hostroot/etc/../etc/passwd")));
        assertThrows(NoSuchFileException.class, () -> read(p(m, "/dangling")));
        assertThrows(NoSuchFileException.class, () -> read(p(m, "/abs-out/only-outside")));
        assertThrows(FileSystemLoopException.class, () -> read(p(m, "/loop1")));
        assertThrows(NotDirectoryException.class, () -> read(p(m, "/etc/passwd/x")));
    }

    @ParameterizedTest
    @EnumSource(value = Resolution.class, names = {"OPENAT2", "WALK"})
    void existenceAndTypesAreAnsweredInTheRoot(Resolution m) throws IOException {
        assertFalse(Files.exists(p(m, "/abs-out/only-outside")));
        assertTrue(Files.exists(p(m, "/hostroot" + f.out + "/victim")));
        assertTrue(Files.isDirectory(p(m, "/abs-out/dir")));
        assertTrue(Files.isRegularFile(p(m, "/file-out")));
        assertTrue(Files.isSymbolicLink(p(m, "/file-out")));
        assertTrue(Files.isSymbolicLink(p(m, "/hostroot")));
        assertFalse(Files.exists(p(m, "/dangling")));
        assertTrue(Files.exists(p(m, "/dangling"), LinkOption.NOFOLLOW_LINKS));
        assertEquals(ino(f.decoy.resolve("secret")), unix(p(m, "/file-out")).get("ino"));
        assertEquals(ino(f.root.resolve("file-out")), unix(p(m, "/file-out"), LinkOption.NOFOLLOW_LINKS).get("ino"));
        Map<String, Object> a = unix(p(m, "/abs-out/secret"));
        assertEquals((long) "decoy secret".length(), a.get("size"));
        assertTrue(a.get("lastModifiedTime") instanceof FileTime && a.get("ctime") instanceof FileTime);
        assertTrue(a.get("dev") instanceof Long && a.get("nlink") instanceof Integer);
        assertEquals(Boolean.TRUE, a.get("isRegularFile"));
        assertEquals(Files.getAttribute(f.decoy.resolve("secret"), "unix:dev"), a.get("dev"));
        assertEquals(ino(f.root), unix(p(m, "/..")).get("ino"));
        assertEquals(ino(f.root), unix(p(m, "/up")).get("ino"));
        fs.provider().checkAccess(p(m, "/etc/passwd"), AccessMode.READ, AccessMode.WRITE);
        assertThrows(NoSuchFileException.class, () -> fs.provider().checkAccess(p(m, "/abs-out/only-outside")));
    }

    @ParameterizedTest
    @EnumSource(value = Resolution.class, names = {"OPENAT2", "WALK"})
    void listingsAreOfTheRoot(Resolution m) throws IOException {
        Set<String> names;
        try (Stream<Path> s = Files.list(p(m, "/hostroot" + f.out))) {
            names = s.map(x -> x.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
        assertEquals(Set.of("secret", "victim", "movable", "dir", "outlink"), names);
        try (Stream<Path> s = Files.list(p(m, "/up"))) {
            assertTrue(s.anyMatch(x -> x.toString().equals("/up/hostroot")));
        }
        assertThrows(NotDirectoryException.class, () -> Files.list(p(m, "/etc/passwd")).close());
    }

    @ParameterizedTest
    @EnumSource(value = Resolution.class, names = {"OPENAT2", "WALK"})
    void writesAndCreationsLandInTheRoot(Resolution m) throws IOException {
        Files.writeString(p(m, "/hostroot" + f.out + "/new.txt"), "n");
        assertEquals("n", Files.readString(f.decoy.resolve("new.txt")));
        Files.writeString(p(m, "/file-out"), "overwritten", StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE);
        assertEquals("overwritten", Files.readString(f.decoy.resolve("secret")));
        Files.writeString(p(m, "/dangling"), "made"); // O_CREAT through a dangling link creates its target
        assertEquals("made", Files.readString(f.root.resolve("nowhere")));
        Files.createDirectory(p(m, "/abs-out/newdir"));
        assertTrue(Files.isDirectory(f.decoy.resolve("newdir")));
        Files.createDirectory(p(m, "/escape/sub"));
        assertTrue(Files.isDirectory(f.root.resolve("outside/sub")));
        Files.createSymbolicLink(p(m, "/escape/newlink"), p(m, "/"));
        assertEquals("/", Files.readSymbolicLink(f.root.resolve("outside/newlink")).toString());
        assertThrows(FileAlreadyExistsException.class, () -> Files.createDirectory(p(m, "/")));
        assertThrows(FileAlreadyExistsException.class, () -> Files.createDirectory(p(m, "/hostroot")));
        assertThrows(FileAlreadyExistsException.class, () -> Files.newByteChannel(p(m, "/loop1"),
                StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close());
        assertThrows(FileAlreadyExistsException.class, () -> FileChannel.open(p(m, "/chain1"),
                StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close());
        assertThrows(FileSystemLoopException.class, () -> FileChannel.open(p(m, "/chain1"),
                StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS).close());
        try (FileChannel c = FileChannel.open(p(m, "/up/etc/passwd"), StandardOpenOption.APPEND)) {
            c.write(ByteBuffer.wrap("+".getBytes()));
        }
        assertEquals("container passwd+", Files.readString(f.root.resolve("etc/passwd")));
    }

    @ParameterizedTest
    @EnumSource(value = Resolution.class, names = {"OPENAT2", "WALK"})
    void linksMadeAtRunTimeStayInTheRoot(Resolution m) throws IOException {
        Files.createSymbolicLink(p(m, "/mine"), fs.getPath("../../.."));
        Files.createSymbolicLink(p(m, "/mine-abs"), fs.getPath(f.out));
        assertEquals("decoy2 secret", read(p(m, "/mine/outside/secret")));
        assertEquals("decoy secret", read(p(m, "/mine-abs/secret")));
        Files.createLink(p(m, "/hard"), p(m, "/hostroot" + f.out + "/secret"));
        assertEquals(ino(f.decoy.resolve("secret")), ino(f.root.resolve("hard")));
        Files.createLink(p(m, "/hard-link-to-link"), p(m, "/file-out")); // linkat(0): the symlink itself
        assertTrue(Files.isSymbolicLink(f.root.resolve("hard-link-to-link")));
        assertEquals("decoy secret", read(p(m, "/hard-link-to-link")));
        Files.createLink(p(m, "/abs-out/hard2"), p(m, "/etc/passwd"));
        assertEquals(ino(f.root.resolve("etc/passwd")), ino(f.decoy.resolve("hard2")));
        assertThrows(FileAlreadyExistsException.class, () -> Files.createLink(p(m, "/hard"), p(m, "/etc/passwd")));
        assertThrows(AccessDeniedException.class, () -> Files.createLink(p(m, "/dirlink"), p(m, "/")));
    }

    @ParameterizedTest
    @EnumSource(value = Resolution.class, names = {"OPENAT2", "WALK"})
    void deletesAndRenamesActOnTheRoot(Resolution m) throws IOException {
        Files.delete(p(m, "/hostroot" + f.out + "/victim"));
        assertFalse(Files.exists(f.decoy.resolve("victim")));
        Files.delete(p(m, "/escape")); // the link itself, not what it points at
        assertFalse(Files.exists(f.root.resolve("escape"), LinkOption.NOFOLLOW_LINKS));
        assertTrue(Files.exists(f.root.resolve("outside/secret")));
        assertThrows(DirectoryNotEmptyException.class, () -> Files.delete(p(m, "/abs-out/dir")));
        Files.delete(p(m, "/abs-out/dir/inner"));
        Files.delete(p(m, "/abs-out/dir"));
        assertFalse(Files.exists(f.decoy.resolve("dir")));
        assertThrows(FileSystemException.class, () -> Files.delete(p(m, "/")));
        Files.move(p(m, "/abs-out/movable"), p(m, "/moved"), StandardCopyOption.ATOMIC_MOVE);
        assertEquals("decoy movable", Files.readString(f.root.resolve("moved")));
        Files.move(p(m, "/etc/passwd"), p(m, "/up/outside/passwd-moved"));
        assertEquals("container passwd", Files.readString(f.root.resolve("outside/passwd-moved")));
        Files.move(p(m, "/file-out"), p(m, "/renamed-link")); // renames the link, not its target
        assertEquals(f.out + "/secret", Files.readSymbolicLink(f.root.resolve("renamed-link")).toString());
        assertThrows(FileAlreadyExistsException.class, () -> Files.move(p(m, "/moved"), p(m, "/chain1")));
        Files.move(p(m, "/moved"), p(m, "/chain1"), StandardCopyOption.REPLACE_EXISTING);
        assertFalse(Files.isSymbolicLink(f.root.resolve("chain1")));
        Files.copy(p(m, "/abs-out/secret"), p(m, "/copied"));
        assertEquals("decoy secret", Files.readString(f.root.resolve("copied")));
    }

    @ParameterizedTest
    @EnumSource(value = Resolution.class, names = {"OPENAT2", "WALK"})
    void readlinkAndTimesAreOfTheRoot(Resolution m) throws IOException {
        Path link = p(m, "/hostroot" + f.out + "/outlink");
        assertEquals("inside-target", fs.provider().linkText((ConfinedPath) link));
        assertEquals("/hostroot" + f.out + "/inside-target", Files.readSymbolicLink(link).toString());
        assertEquals("/outside/secret", Files.readSymbolicLink(p(m, "/dir/deep/link-up")).normalize().toString());
        assertEquals(f.out + "/secret", Files.readSymbolicLink(p(m, "/file-out")).toString());
        assertThrows(NotLinkException.class, () -> Files.readSymbolicLink(p(m, "/etc/passwd")));
        FileTime t = FileTime.fromMillis(86_400_000L);
        Files.getFileAttributeView(p(m, "/file-out"), BasicFileAttributeView.class).setTimes(t, t, null);
        assertEquals(t, Files.getLastModifiedTime(f.decoy.resolve("secret")));
        Files.getFileAttributeView(p(m, "/abs-out"), BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                .setTimes(t, null, null);
        assertEquals(t, Files.getLastModifiedTime(f.root.resolve("abs-out"), LinkOption.NOFOLLOW_LINKS));
        Files.setLastModifiedTime(p(m, "/up"), t);
        assertEquals(t, Files.getLastModifiedTime(f.root));
    }

    @ParameterizedTest
    @EnumSource(value = Resolution.class, names = {"OPENAT2", "WALK"})
    void theRootIsHeldNotLookedUpAgain(Resolution m) throws IOException {
        Path before = p(m, "/etc/passwd");
        outside.allowTopChange(); // this test renames the root itself
        Path moved = f.tmp.resolve("root-moved");
        Files.move(f.root, moved);
        Files.createSymbolicLink(f.root, f.outside);
        try {
            assertEquals("container passwd", read(before));
            assertThrows(NoSuchFileException.class, () -> read(p(m, "/secret")));
        } finally {
            Files.delete(f.root);
            Files.move(moved, f.root);
        }
        fs.close();
        assertThrows(ClosedFileSystemException.class, () -> read(before));
    }

    @ParameterizedTest
    @EnumSource(value = Resolution.class, names = {"OPENAT2", "WALK"})
    void devicesOfTheImageAreRefused(Resolution m) throws Exception {
        Assumptions.assumeTrue(mknod("mem", 1, 1) && mknod("null", 1, 3), "mknod needs root");
        assertThrows(AccessDeniedException.class, () -> FileChannel.open(p(m, "/mem")).close());
        assertEquals(0, Files.readAllBytes(p(m, "/null")).length);
    }

    private boolean mknod(String name, int major, int minor) throws Exception {
        Process pr = new ProcessBuilder("mknod", f.root.resolve(name).toString(), "c", "" + major, "" + minor)
                .redirectErrorStream(true).start();
        return pr.waitFor() == 0;
    }

    @ParameterizedTest
    @EnumSource(value = Resolution.class, names = {"OPENAT2", "WALK"})
    void deepChainsEndInEloopAndTrailingSlashesNeedDirectories(Resolution m) throws Exception {
        for (int i = 0; i < 45; i++) {
            f.link("c" + i, "c" + (i + 1));
        }
        Files.writeString(f.root.resolve("c45"), "end");
        assertThrows(FileSystemLoopException.class, () -> read(p(m, "/c0")));
        assertEquals("end", read(p(m, "/c10")));
        try (ConfinedFileSystem.Lease l = fs.lease()) {
            InRoot r = l.resolver();
            assertEquals(Native.ENOTDIR, assertThrows(Native.Errno.class,
                    () -> r.open("etc/passwd/", Native.O_PATH, 0)).code);
            int fd = r.open("hostroot/", Native.O_PATH | Native.O_DIRECTORY, 0);
            assertEquals(ino(f.root), Native.stat(fd).ino());
            Native.close(fd);
        }
    }
}
