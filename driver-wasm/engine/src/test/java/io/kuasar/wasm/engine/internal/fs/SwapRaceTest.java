package io.kuasar.wasm.engine.internal.fs;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A directory swapped for a symlink to the outside (by host path, by "..", and "/"), and a file name turned from
 * absent to a file to a link to an outside file, by another thread, as fast as it can, while every kind of
 * operation runs through them: the swap can fall between any two system calls of an
 * operation, and still nothing outside is read, stat'ed, listed, written, linked, renamed, retimed or removed.
 */
class SwapRaceTest {
    private static final long MILLIS = 1500;

    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = Resolution.class, names = {"OPENAT2", "WALK"})
    void aDirectorySwappedForALinkNeverLeadsOut(Resolution mode) throws Exception {
        Path top = tmp.toRealPath();
        Path root = Files.createDirectory(top.resolve("root"));
        Path out = Files.createDirectory(top.resolve("outside"));
        Files.writeString(out.resolve("f"), Outside.MARK + " f");
        Files.createDirectory(out.resolve("sub"));
        Files.writeString(out.resolve("only-outside"), Outside.MARK);
        Path swap = root.resolve("swap");
        Path parked = root.resolve("parked");
        Path fileSwap = root.resolve("filesw");
        Path fileTmp = root.resolve("file-tmp");
        Files.createDirectory(parked);
        Files.writeString(parked.resolve("f"), "inside f");
        Files.createDirectory(parked.resolve("sub"));
        Files.createDirectories(root.resolve("etc"));
        Files.writeString(root.resolve("etc/passwd"), "passwd");
        Outside outside = Outside.of(top, root);
        List<String> targets = List.of(out.toString(), "../outside", "../../outside", "/");

        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> swapFailed = new AtomicReference<>();
        Thread swapper = new Thread(() -> {
            int i = 0;
            try {
                while (!stop.get()) {
                    Files.move(parked, swap, StandardCopyOption.ATOMIC_MOVE); // the real directory
                    Thread.onSpinWait();
                    Files.move(swap, parked, StandardCopyOption.ATOMIC_MOVE);
                    Path link = root.resolve("link-tmp");
                    Files.createSymbolicLink(link, Path.of(targets.get(i++ % targets.size())));
                    Files.move(link, swap, StandardCopyOption.ATOMIC_MOVE); // a link out of the root
                    Thread.onSpinWait();
                    Files.delete(swap);
                    // and a file name that is absent, a file, then a link to an outside file
                    Files.deleteIfExists(fileSwap);
                    Files.writeString(fileTmp, "inside");
                    Files.move(fileTmp, fileSwap, StandardCopyOption.ATOMIC_MOVE);
                    Files.createSymbolicLink(link, Path.of(i % 2 == 0 ? out + "/f" : "../outside/f"));
                    Files.move(link, fileSwap, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                }
            } catch (Throwable t) {
                swapFailed.set(t);
            }
        });
        int ok = 0;
        try (ConfinedFileSystem fs = ConfinedFileSystem.open(root, mode)) {
            swapper.start();
            long end = System.nanoTime() + MILLIS * 1_000_000;
            for (int n = 0; System.nanoTime() < end; n++) {
                ok += attempt(fs, outside, n);
            }
        } finally {
            stop.set(true);
            swapper.join();
        }
        assertNull(swapFailed.get(), "the swapper stopped");
        assertTrue(ok > 0, "some operations went through the swapped directory");
        outside.assertUntouched();
    }

    /** One operation of each kind through the swapped name; 1 for each that succeeded. */
    private static int attempt(ConfinedFileSystem fs, Outside outside, int n) {
        int ok = 0;
        String[] paths = {"/swap/f", "/swap/../swap/f", "swap/sub/../f", "/swap/sub/../../swap/f"};
        String p = paths[n % paths.length];
        ok += run(() -> Outside.assertNotSecret(Files.readAllBytes(fs.getPath(p)), p));
        ok += run(() -> outside.assertNotOutside(Outside.key(Files.readAttributes(fs.getPath(p), "unix:*")), p));
        ok += run(() -> outside.assertNotOutside(Outside.key(Files.readAttributes(fs.getPath("/swap/sub"),
                "unix:*", LinkOption.NOFOLLOW_LINKS)), "sub"));
        ok += run(() -> {
            try (Stream<Path> s = Files.list(fs.getPath("/swap"))) {
                s.forEach(x -> assertTrue(!x.getFileName().toString().equals("only-outside"), "listed outside"));
            }
        });
        ok += run(() -> Files.writeString(fs.getPath("/swap/w"), "w", StandardOpenOption.CREATE,
                StandardOpenOption.WRITE));
        ok += run(() -> Files.writeString(fs.getPath("/swap/f"), "inside f", StandardOpenOption.WRITE));
        ok += run(() -> Files.createDirectory(fs.getPath("/swap/m")));
        ok += run(() -> Files.delete(fs.getPath("/swap/m")));
        ok += run(() -> Files.createLink(fs.getPath("/swap/h"), fs.getPath("/etc/passwd")));
        ok += run(() -> Files.createLink(fs.getPath("/h2-" + n), fs.getPath("/swap/f")));
        ok += run(() -> Files.delete(fs.getPath("/swap/h")));
        ok += run(() -> Files.createSymbolicLink(fs.getPath("/swap/s"), fs.getPath("/")));
        ok += run(() -> Files.delete(fs.getPath("/swap/s")));
        ok += run(() -> Files.move(fs.getPath("/swap/w"), fs.getPath("/swap/w2")));
        ok += run(() -> Files.move(fs.getPath("/swap/w2"), fs.getPath("/moved-" + n)));
        ok += run(() -> Files.getFileAttributeView(fs.getPath("/swap/f"), BasicFileAttributeView.class)
                .setTimes(FileTime.fromMillis(0), null, null));
        ok += run(() -> Files.getFileAttributeView(fs.getPath("/swap/sub"), BasicFileAttributeView.class,
                LinkOption.NOFOLLOW_LINKS).setTimes(FileTime.fromMillis(0), null, null));
        ok += run(() -> fs.provider().checkAccess(fs.getPath("/swap/f")));
        ok += run(() -> Outside.assertNotSecret(Files.readAllBytes(fs.getPath("/filesw")), "filesw"));
        ok += run(() -> Files.writeString(fs.getPath("/filesw"), "x", StandardOpenOption.CREATE,
                StandardOpenOption.WRITE));
        ok += run(() -> Files.writeString(fs.getPath("/filesw"), "x", StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE));
        ok += run(() -> Files.getFileAttributeView(fs.getPath("/filesw"), BasicFileAttributeView.class)
                .setTimes(FileTime.fromMillis(0), null, null));
        return ok;
    }

    private interface Op {
        void run() throws IOException;
    }

    /** Failures (ENOENT, ENOTDIR... as the swap falls) are expected; escapes are not, and assertions throw. */
    private static int run(Op op) {
        try {
            op.run();
            return 1;
        } catch (IOException | UncheckedIOException e) {
            return 0;
        }
    }
}
