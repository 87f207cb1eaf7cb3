package io.kuasar.wasm.engine.internal.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Property test: random trees with random links (in the root, out of it by ".." and by host paths, "/", loops,
 * dangling) and random operations. Every lookup must end where {@link InRootModel} says (same content, same inode,
 * same listing, same kind of error), every change must land on the entry the model names, and after every single
 * operation the outside tree must be untouched. Seeds are fixed so a failure can be replayed.
 */
class RandomTreeTest {
    private static final int TREES = 12;
    private static final int OPS = 250;
    private static final List<String> NAMES = List.of("a", "b", "c", "outside", "s1", "d", "l1", "l2");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = Resolution.class, names = {"OPENAT2", "WALK"})
    void noOperationEverLeavesTheRoot(Resolution mode) throws IOException {
        Map<String, Integer> done = new TreeMap<>();
        long fds = 0;
        for (int seed = 0; seed < TREES; seed++) {
            Path top = Files.createDirectory(tmp.resolve(mode + "-" + seed));
            new Run(top, new Random(seed * 7919L + mode.ordinal()), mode, seed, done).go();
            if (seed == 0) {
                fds = openDescriptors(); // after the first tree: jnr, libc and the JDK have opened what they keep
            }
        }
        assertEquals(fds, openDescriptors(), "every descriptor taken is given back, the roots' too");
        // the test must not pass by everything failing
        for (String kind : List.of("read", "stat", "list", "write", "create", "link", "delete", "rename", "times")) {
            assertTrue(done.getOrDefault(kind, 0) >= 5, "too few successful " + kind + ": " + done);
        }
    }

    private static long openDescriptors() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    private static final class Run {
        final Path root;
        final Path outsideDir;
        final Random rnd;
        final Resolution mode;
        final int seed;
        final Map<String, Integer> done;
        final InRootModel model;
        final Outside outside;
        int step;

        Run(Path top, Random rnd, Resolution mode, int seed, Map<String, Integer> done) throws IOException {
            this.root = Files.createDirectory(top.resolve("root"));
            this.outsideDir = Files.createDirectory(top.resolve("outside"));
            this.rnd = rnd;
            this.mode = mode;
            this.seed = seed;
            this.done = done;
            Files.writeString(outsideDir.resolve("s1"), Outside.MARK + " s1");
            Files.createDirectory(outsideDir.resolve("d"));
            Files.writeString(outsideDir.resolve("d/a"), Outside.MARK + " d/a");
            Files.createSymbolicLink(outsideDir.resolve("l1"), Path.of("/"));
            populate(root, 0);
            this.model = new InRootModel(root);
            this.outside = Outside.of(top, root);
        }

        private void populate(Path dir, int depth) throws IOException {
            for (String n : NAMES) {
                int k = rnd.nextInt(10);
                Path p = dir.resolve(n);
                if (k < 3 && depth < 3) {
                    Files.createDirectory(p);
                    populate(p, depth + 1);
                } else if (k < 5) {
                    Files.writeString(p, "in:" + root.relativize(p));
                } else if (k < 8) {
                    Files.createSymbolicLink(p, Path.of(target()));
                }
            }
        }

        private String target() {
            switch (rnd.nextInt(8)) {
                case 0: return "/";
                case 1: return "../".repeat(1 + rnd.nextInt(5)) + "outside/" + pick();
                case 2: return outsideDir.toString() + (rnd.nextBoolean() ? "" : "/" + pick());
                case 3: return pick(); // maybe itself: a loop
                default: return path();
            }
        }

        private String pick() {
            return NAMES.get(rnd.nextInt(NAMES.size()));
        }

        private String path() {
            StringBuilder b = new StringBuilder(rnd.nextBoolean() ? "/" : "");
            int n = 1 + rnd.nextInt(4);
            for (int i = 0; i < n; i++) {
                int k = rnd.nextInt(10);
                b.append(i == 0 ? "" : "/").append(k == 0 ? ".." : k == 1 ? "." : pick());
            }
            return b.toString();
        }

        void go() throws IOException {
            try (ConfinedFileSystem fs = ConfinedFileSystem.open(root, mode)) {
                for (step = 0; step < OPS; step++) {
                    one(fs);
                    outside.assertUntouched();
                }
            }
        }

        private String where(String what) {
            return "seed " + seed + " step " + step + " " + mode + ": " + what;
        }

        private void ok(String kind) {
            done.merge(kind, 1, Integer::sum);
        }

        private void one(ConfinedFileSystem fs) throws IOException {
            // half the time a new name at the end, so that creations have a chance
            String a = rnd.nextBoolean() ? path() : path() + "/n" + step;
            Path p = fs.getPath(a);
            switch (rnd.nextInt(10)) {
                case 0, 1 -> read(p, a);
                case 2 -> stat(p, a, rnd.nextBoolean());
                case 3 -> list(p, a);
                case 4 -> write(p, a);
                case 5 -> create(p, a, rnd.nextBoolean());
                case 6 -> link(p, a, path(), fs);
                case 7 -> delete(p, a);
                case 8 -> rename(p, a, path(), fs);
                default -> times(p, a, rnd.nextBoolean());
            }
        }

        /** A lookup that fails must fail as the model says: ENOENT, ELOOP, ENOTDIR keep their meaning. */
        private void expectFailure(InRootModel.Result m, IOException e, String what) {
            if (!m.ok() && m.errno() == Native.ELOOP) {
                assertTrue(e instanceof FileSystemLoopException, where(what + " " + e));
            } else if (!m.ok() && m.errno() == Native.ENOENT || m.ok() && !m.exists()) {
                assertTrue(e instanceof NoSuchFileException, where(what + " " + e));
            } else if (!m.ok() && m.errno() == Native.ENOTDIR) {
                assertTrue(e instanceof NotDirectoryException, where(what + " " + e));
            }
        }

        private void read(Path p, String a) throws IOException {
            InRootModel.Result m = model.resolve(a, true);
            boolean file = m.ok() && m.exists() && Files.isRegularFile(m.host(), LinkOption.NOFOLLOW_LINKS);
            try {
                byte[] got = Files.readAllBytes(p);
                Outside.assertNotSecret(got, where("read " + a));
                assertTrue(file, where("read " + a + " succeeded, the model says " + m));
                assertArrayEquals(Files.readAllBytes(m.host()), got, where("read " + a));
                ok("read");
            } catch (IOException e) {
                if (file) {
                    fail(where("read " + a + " failed (" + e + "), the model reads " + m.host()));
                }
                expectFailure(m, e, "read " + a);
            }
        }

        private void stat(Path p, String a, boolean follow) throws IOException {
            InRootModel.Result m = model.resolve(a, follow);
            LinkOption[] o = follow ? new LinkOption[0] : new LinkOption[] {LinkOption.NOFOLLOW_LINKS};
            try {
                Map<String, Object> got = Files.readAttributes(p, "unix:*", o);
                outside.assertNotOutside(Outside.key(got), where("stat " + a));
                assertTrue(m.ok() && m.exists(), where("stat " + a + " succeeded, the model says " + m));
                assertEquals(Files.getAttribute(m.host(), "unix:ino", LinkOption.NOFOLLOW_LINKS), got.get("ino"),
                        where("stat " + a));
                ok("stat");
            } catch (IOException e) {
                assertTrue(!m.ok() || !m.exists(), where("stat " + a + " failed: " + e));
                expectFailure(m, e, "stat " + a);
            }
        }

        private void list(Path p, String a) throws IOException {
            InRootModel.Result m = model.resolve(a, true);
            boolean dir = m.ok() && m.exists() && Files.isDirectory(m.host(), LinkOption.NOFOLLOW_LINKS);
            try (Stream<Path> s = Files.list(p)) {
                Set<String> got = s.map(x -> x.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
                assertTrue(dir, where("list " + a + " succeeded, the model says " + m));
                try (Stream<Path> h = Files.list(m.host())) {
                    assertEquals(h.map(x -> x.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new)),
                            got, where("list " + a));
                }
                ok("list");
            } catch (IOException e) {
                assertTrue(!dir, where("list " + a + " failed: " + e));
            }
        }

        private void write(Path p, String a) throws IOException {
            InRootModel.Result m = model.resolve(a, true);
            byte[] data = ("w" + step).getBytes(StandardCharsets.UTF_8);
            boolean can = m.ok() && (!m.exists() || Files.isRegularFile(m.host(), LinkOption.NOFOLLOW_LINKS));
            try {
                Files.write(p, data);
                assertTrue(can, where("write " + a + " succeeded, the model says " + m));
                assertArrayEquals(data, Files.readAllBytes(m.host()), where("write " + a));
                ok("write");
            } catch (IOException e) {
                assertTrue(!can, where("write " + a + " failed (" + e + "), the model writes " + m.host()));
            }
        }

        private void create(Path p, String a, boolean dir) throws IOException {
            InRootModel.Result m = model.entry(a);
            String target = target();
            try {
                if (dir) {
                    Files.createDirectory(p);
                } else {
                    Files.createSymbolicLink(p, p.getFileSystem().getPath(target));
                }
                assertTrue(m.ok() && !m.exists(), where("create " + a + " succeeded, the model says " + m));
                if (dir) {
                    assertTrue(Files.isDirectory(m.host(), LinkOption.NOFOLLOW_LINKS), where("mkdir " + a));
                } else {
                    assertEquals(target, Files.readSymbolicLink(m.host()).toString(), where("symlink " + a));
                }
                ok("create");
            } catch (IOException e) {
                assertTrue(!m.ok() || m.exists(), where("create " + a + " failed (" + e + "), model: " + m));
                if (m.ok()) {
                    assertTrue(e instanceof FileAlreadyExistsException, where("create " + a + ": " + e));
                }
            }
        }

        private void link(Path p, String a, String b, ConfinedFileSystem fs) throws IOException {
            InRootModel.Result to = model.entry(a);
            InRootModel.Result from = model.entry(b);
            boolean can = to.ok() && !to.exists() && from.ok() && from.exists()
                    && !Files.isDirectory(from.host(), LinkOption.NOFOLLOW_LINKS);
            try {
                Files.createLink(p, fs.getPath(b));
                assertTrue(can, where("link " + a + " to " + b + " succeeded, model: " + to + " " + from));
                assertEquals(Files.getAttribute(from.host(), "unix:ino", LinkOption.NOFOLLOW_LINKS),
                        Files.getAttribute(to.host(), "unix:ino", LinkOption.NOFOLLOW_LINKS), where("link " + a));
                ok("link");
            } catch (IOException e) {
                assertTrue(!can, where("link " + a + " to " + b + " failed: " + e));
            }
        }

        private void delete(Path p, String a) throws IOException {
            InRootModel.Result m = model.entry(a);
            boolean nonEmptyDir = m.ok() && Files.isDirectory(m.host(), LinkOption.NOFOLLOW_LINKS);
            if (nonEmptyDir) {
                try (Stream<Path> s = Files.list(m.host())) {
                    nonEmptyDir = s.findAny().isPresent();
                }
            }
            boolean can = m.ok() && m.exists() && !nonEmptyDir;
            try {
                Files.delete(p);
                assertTrue(can, where("delete " + a + " succeeded, model: " + m));
                assertTrue(!Files.exists(m.host(), LinkOption.NOFOLLOW_LINKS), where("delete " + a));
                ok("delete");
            } catch (DirectoryNotEmptyException e) {
                assertTrue(nonEmptyDir || a.endsWith(".."), where("delete " + a + ": " + e)); // rmdir("..")
            } catch (IOException e) {
                assertTrue(!can, where("delete " + a + " failed: " + e));
            }
        }

        private void rename(Path p, String a, String b, ConfinedFileSystem fs) throws IOException {
            InRootModel.Result from = model.entry(a);
            InRootModel.Result to = model.entry(b);
            Object ino = from.ok() && from.exists()
                    ? Files.getAttribute(from.host(), "unix:ino", LinkOption.NOFOLLOW_LINKS) : null;
            try {
                Files.move(p, fs.getPath(b), rnd.nextBoolean() ? new StandardCopyOption[0]
                        : new StandardCopyOption[] {StandardCopyOption.REPLACE_EXISTING});
                assertTrue(ino != null && to.ok(), where("rename " + a + " " + b + " succeeded: " + from + to));
                assertEquals(ino, Files.getAttribute(to.host(), "unix:ino", LinkOption.NOFOLLOW_LINKS),
                        where("rename " + a + " " + b));
                ok("rename");
            } catch (IOException e) {
                // refusals the model does not predict (into itself, over a non-empty directory, a directory over
                // a file...) are the kernel's; that a rename the model says must fail did fail is checked above
            }
        }

        private void times(Path p, String a, boolean follow) throws IOException {
            InRootModel.Result m = model.resolve(a, follow);
            FileTime t = FileTime.fromMillis(1_000_000L * (1 + rnd.nextInt(1000)));
            LinkOption[] o = follow ? new LinkOption[0] : new LinkOption[] {LinkOption.NOFOLLOW_LINKS};
            try {
                Files.getFileAttributeView(p, BasicFileAttributeView.class, o).setTimes(t, null, null);
                assertTrue(m.ok() && m.exists(), where("times " + a + " succeeded, model: " + m));
                assertEquals(t, Files.getLastModifiedTime(m.host(), LinkOption.NOFOLLOW_LINKS), where("times " + a));
                ok("times");
            } catch (IOException e) {
                assertTrue(!m.ok() || !m.exists(), where("times " + a + " failed: " + e));
                expectFailure(m, e, "times " + a);
            }
        }
    }
}
