package io.kuasar.driver.wasm;

import io.kuasar.driver.kit.Commands;
import io.kuasar.spi.Mount;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Directories and mounts on the host: the container's rootfs from containerd's mounts, and read-only bind mounts
 * that make the kernel enforce a mount's readonly flag for both engines (Chicory's WASI layer has no read-only
 * preopen of its own). mount(8)/umount(8): a few per container, next to nothing beside a module's start.
 */
final class HostFs {
    private HostFs() {
    }

    static Path privateDir(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        }
        return dir;
    }

    static void mount(Mount m, Path target) throws IOException {
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
    static void bindReadOnly(Path source, Path target) throws IOException {
        Files.createDirectories(target);
        Commands.run(List.of("mount", "--bind", source.toString(), target.toString()), 30);
        try {
            Commands.run(List.of("mount", "-o", "remount,bind,ro", target.toString()), 30);
        } catch (IOException e) {
            Commands.run(List.of("umount", "-l", target.toString()), 30);
            throw e;
        }
    }

    /** Unmounts everything at and under {@code dir}, deepest first; lazily when a mount stays busy. */
    static void unmountAll(Path dir) throws IOException {
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

    /** Removes a tree without following symlinks; refuses while something is mounted inside it. */
    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        List<String> mounted = mountPointsUnder(root);
        if (!mounted.isEmpty()) {
            throw new IOException("refusing to delete " + root + ": still mounted at " + mounted);
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    static List<String> mountPointsUnder(Path dir) throws IOException {
        String d = dir.toAbsolutePath().normalize().toString();
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            if (f.length > 4) {
                String target = unescape(f[4]);
                if (target.equals(d) || target.startsWith(d + "/")) {
                    out.add(target);
                }
            }
        }
        return out;
    }

    /** mountinfo writes space, tab, newline and backslash as \ooo. */
    static String unescape(String s) {
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
