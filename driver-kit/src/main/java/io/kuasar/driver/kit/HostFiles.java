package io.kuasar.driver.kit;

import io.kuasar.spi.Mount;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * Private directories, tree removal and mounts on the host for drivers. Mounts go through mount(8)/umount(8): a pod
 * mounts one rootfs per container, a few milliseconds next to what a sandbox's start costs anyway, so no native
 * binding is worth it here.
 */
public final class HostFiles {
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));

    private HostFiles() {
    }

    /**
     * Creates {@code dir} and its missing parents, each with mode 0700 from the start (never briefly open to others);
     * parents that exist keep their mode. A directory another thread creates meanwhile is fine.
     *
     * @since 1.8 missing parents are 0700 too
     */
    public static Path privateDir(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            Path parent = dir.getParent();
            if (parent != null) {
                privateDir(parent);
            }
            try {
                Files.createDirectory(dir, OWNER_ONLY);
            } catch (FileAlreadyExistsException raced) {
                // another creator was first: fine
            }
        }
        return dir;
    }

    /**
     * Removes a tree without following symlinks; missing is fine, and so is a file that goes away meanwhile. Refuses
     * when something is still mounted at or inside it: deleting through a mount would delete what it shows.
     */
    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        List<String> mounted = mountPointsUnder(root);
        if (!mounted.isEmpty()) {
            throw new IOException("refusing to delete " + root + ": still mounted at " + mounted);
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE;
                }
                throw e;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null && !(e instanceof NoSuchFileException)) {
                    throw e;
                }
                Files.deleteIfExists(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** Mounts one containerd mount at {@code target} with mount(8). */
    public static void mount(Mount m, Path target) throws IOException {
        List<String> argv = new ArrayList<>(List.of("mount", "-t", m.type()));
        if (!m.options().isEmpty()) {
            argv.add("-o");
            argv.add(String.join(",", m.options()));
        }
        argv.add(m.source());
        argv.add(target.toString());
        Commands.run(argv, 30);
    }

    /** A read-only view of {@code source} at {@code target} (bind, then remount read-only). */
    public static void bindReadOnly(Path source, Path target) throws IOException {
        Files.createDirectories(target);
        Commands.run(List.of("mount", "--bind", source.toString(), target.toString()), 30);
        try {
            Commands.run(List.of("mount", "-o", "remount,bind,ro", target.toString()), 30);
        } catch (IOException e) {
            Commands.run(List.of("umount", "-l", target.toString()), 30);
            throw e;
        }
    }

    /** A recursive bind mount of {@code source} at {@code target}, remounted read-only when asked. */
    public static void bind(Path source, Path target, boolean readOnly) throws IOException {
        Commands.run(List.of("mount", "--rbind", source.toString(), target.toString()), 30);
        if (readOnly) {
            try {
                Commands.run(List.of("mount", "-o", "remount,bind,ro", target.toString()), 30);
            } catch (IOException e) {
                Commands.run(List.of("umount", "-l", target.toString()), 30);
                throw e;
            }
        }
    }

    /** Unmounts what is at or under {@code dir}, then removes the tree ({@link #deleteTree} still checks). */
    public static void unmountAndDelete(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        unmountAll(dir);
        deleteTree(dir);
    }

    /** Unmounts everything under and at {@code dir}, deepest first; lazily when a mount stays busy. */
    public static void unmountAll(Path dir) throws IOException {
        List<String> points = mountPointsUnder(dir);
        points.sort(Comparator.comparingInt(String::length).reversed());
        for (String p : points) {
            try {
                Commands.run(List.of("umount", p), 30);
            } catch (IOException busy) {
                Commands.run(List.of("umount", "-l", p), 30);
            }
        }
    }

    /** Mount points at or under {@code dir}, from /proc/self/mountinfo. */
    public static List<String> mountPointsUnder(Path dir) throws IOException {
        String d = dir.toAbsolutePath().normalize().toString();
        List<String> out = new ArrayList<>();
        for (String target : mountPoints()) {
            if (target.equals(d) || target.startsWith(d + "/")) {
                out.add(target);
            }
        }
        return out;
    }

    /**
     * True when some mount of this mount namespace has {@code path} as its mount point.
     *
     * @since 1.8
     */
    public static boolean isMountPoint(Path path) throws IOException {
        return mountPoints().contains(path.toAbsolutePath().normalize().toString());
    }

    /**
     * Every mount point of this mount namespace, in /proc/self/mountinfo's order.
     *
     * @since 1.8
     */
    public static List<String> mountPoints() throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            if (f.length > 4) {
                out.add(unescape(f[4]));
            }
        }
        return out;
    }

    /** mountinfo writes space, tab, newline and backslash as \ooo; anything else after a backslash is kept. */
    public static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
